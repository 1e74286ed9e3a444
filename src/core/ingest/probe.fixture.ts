import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import type { ImportReport } from './report.js';
import type { Database } from '../db/database.js';
import { runIngest, type IngestWork } from './pipeline.js';

/** A test-only target: `ingest_probe (n int primary key, label text)`, filled from rows `n,label`. */
export async function createProbe(database: Database): Promise<void> {
  await sql`create table ingest_probe (n int primary key, label text)`.execute(database.db);
}

export type ProbeOptions = Partial<Omit<IngestWork<never>, 'database' | 'input'>>;

export function ingestProbe(database: Database, input: Readable | string | Buffer, extra: ProbeOptions = {}): Promise<ImportReport> {
  return runIngest({
    database,
    input: typeof input === 'string' || Buffer.isBuffer(input) ? Readable.from([Buffer.from(input)]) : input,
    format: 'csv',
    columns: ['n'],
    staging: [
      { name: 'n', type: 'integer' },
      { name: 'label', type: 'text' },
    ],
    parseRow: (row) => {
      const n = typeof row.n === 'number' ? row.n : /^\d+$/.test(String(row.n)) ? Number(row.n) : NaN;
      if (!Number.isInteger(n)) return { ok: false, error: 'n is not a number' };
      return { ok: true, value: [n, row.label === undefined ? null : String(row.label)] };
    },
    merge: async (trx, source) => {
      await sql`insert into ingest_probe (n, label) select n, label from ${source} as s
        on conflict (n) do update set label = excluded.label`.execute(trx);
    },
    ...(extra as object),
  });
}

export const probeCount = async (database: Database) =>
  Number((await sql<{ c: string }>`select count(*) as c from ingest_probe`.execute(database.db)).rows[0]!.c);

export const stagingTables = async (database: Database) =>
  (await sql<{ name: string }>`select tablename as name from pg_tables where tablename like 'ingest\\_stage\\_%'`.execute(database.db)).rows.map((r) => r.name);

export const gzip = (text: string) => gzipSync(Buffer.from(text));

/** A stream like an upload: written as it goes, ended only when the caller says. */
export function upload(): PassThrough {
  return new PassThrough();
}

/** `n,label` CSV with `count` rows from 1. */
export function numbersCsv(count: number): string {
  let out = 'n,label\n';
  for (let i = 1; i <= count; i++) out += `${i},row ${i}\n`;
  return out;
}
