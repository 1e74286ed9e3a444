import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openDatabase, type Database } from '../src/core/db/database.js';
import type { RowResult } from '../src/core/imports/csv-import.js';
import { runIngest } from '../src/core/ingest/pipeline.js';
import type { StagingValue } from '../src/core/ingest/staging.js';
import { observationsByDay } from './observations.js';

const ROWS = Number(process.env.BENCH_INGEST_ROWS ?? 1_000_000);
const DAYS = 30;
const RATS = ['LTE', 'NR', 'LTE', 'UMTS', 'GSM'];
const RAW = 'bench_ingest_raw';
const TARGET = 'bench_ingest_pairs';
const MiB = 2 ** 20;

/** `date,imei,imsi,msisdn,rat` as operators send it: 15-digit IMEIs, Kcell IMSIs, 5 % of rows without an MSISDN. */
async function writeObservations(path: string, rows: number): Promise<void> {
  const pairs = Math.max(1, Math.floor(rows / 4));
  const lines = observationsByDay({ rows, pairs, days: DAYS, today: '2026-12-01', seed: 20261207 }, (p, date) => {
    const msisdn = p % 20 === 7 ? '' : `+7701${String(p % 10_000_000).padStart(7, '0')}`;
    return `${date},35${String(p).padStart(12, '0')}0,40102${String(p).padStart(10, '0')},${msisdn},${RATS[p % RATS.length]}\n`;
  });
  await pipeline(Readable.from(lines), createWriteStream(path));
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const IMEI = /^\d{14,16}$/;
const IMSI = /^\d{15}$/;
const MSISDN = /^\+?\d{7,15}$/;
const RAT = new Set(['GSM', 'UMTS', 'LTE', 'NR']);

/** The checks an observation feed makes on each row. */
function parseObservation(row: Record<string, unknown>): RowResult<readonly StagingValue[]> {
  const date = String(row.date ?? '');
  const imei = String(row.imei ?? '');
  const imsi = String(row.imsi ?? '');
  const msisdn = String(row.msisdn ?? '');
  const rat = String(row.rat ?? '').toUpperCase();
  if (!DATE.test(date)) return { ok: false, error: 'date is not YYYY-MM-DD' };
  if (!IMEI.test(imei)) return { ok: false, error: 'imei is not 14–16 digits' };
  if (!IMSI.test(imsi)) return { ok: false, error: 'imsi is not 15 digits' };
  if (msisdn && !MSISDN.test(msisdn)) return { ok: false, error: 'msisdn is not a number' };
  if (!RAT.has(rat)) return { ok: false, error: 'rat is not GSM, UMTS, LTE or NR' };
  return { ok: true, value: [date, imei.slice(0, 14), imsi, msisdn || null, rat] };
}

/** Peak RSS growth over `work`, sampled every 50 ms. */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number; rssGrowth: number }> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  const t0 = performance.now();
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, seconds: (performance.now() - t0) / 1000, rssGrowth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

/** A raw `COPY … FROM STDIN (FORMAT csv, HEADER)` of the file into an unindexed text table. */
async function rawCopy(database: Database, url: string | undefined, path: string): Promise<number> {
  const statement = (source: string) => `COPY ${RAW} (day, imei, imsi, msisdn, rat) FROM ${source} WITH (FORMAT csv, HEADER)`;
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const stream = client.query(copyFrom(statement('STDIN')));
      await pipeline(createReadStream(path), stream);
      return stream.rowCount;
    } finally {
      await client.end();
    }
  }
  // PGlite: COPY from a blob, as the bulk session runs it: the file without its header, in pieces of whole lines of
  // at most 256 MiB (a JavaScript string cannot pass 512 MiB), so a 1 M-row file is one COPY.
  const bytes = readFileSync(path);
  const session = await database.bulk();
  try {
    return await session.copyIn(
      RAW,
      ['day', 'imei', 'imsi', 'msisdn', 'rat'],
      (async function* () {
        for (let start = bytes.indexOf(10) + 1; start < bytes.length;) {
          const cut = bytes.lastIndexOf(10, Math.min(start + 256 * MiB, bytes.length) - 1) + 1;
          const end = cut > start ? cut : bytes.length;
          yield bytes.toString('utf8', start, end);
          start = end;
        }
      })(),
    );
  } finally {
    await session.close();
  }
}

export async function run(): Promise<unknown> {
  if (!Number.isInteger(ROWS) || ROWS < 1) throw new Error('BENCH_INGEST_ROWS must be a whole number ≥ 1');
  const url = process.env.DATABASE_URL;
  const database = await openDatabase(url ? { kind: 'postgres', url } : { kind: 'pglite' });
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  const path = join(dir, 'observations.csv');
  try {
    await writeObservations(path, ROWS);
    console.log(
      `database: ${url ? 'PostgreSQL' : 'PGlite in memory'}; ${ROWS.toLocaleString('en')} rows, ${(statSync(path).size / MiB).toFixed(0)} MiB of CSV; node ${process.version}`,
    );
    await sql`drop table if exists ${sql.table(RAW)}`.execute(database.db);
    await sql`drop table if exists ${sql.table(TARGET)}`.execute(database.db);
    await sql`create unlogged table ${sql.table(RAW)} (day text, imei text, imsi text, msisdn text, rat text)`.execute(database.db);
    await sql`create table ${sql.table(TARGET)} (imei text not null, imsi text not null, msisdn text, rat text not null,
      first_seen date not null, last_seen date not null, primary key (imei, imsi))`.execute(database.db);

    const raw = await measured(() => rawCopy(database, url, path));
    if (raw.value !== ROWS) throw new Error(`raw COPY loaded ${raw.value} rows, expected ${ROWS}`);
    let mergeSeconds = 0;
    const ingest = await measured(() =>
      runIngest({
        database,
        input: createReadStream(path),
        format: 'csv',
        columns: ['date', 'imei', 'imsi', 'msisdn', 'rat'],
        staging: [
          { name: 'day', type: 'date' },
          { name: 'imei', type: 'text' },
          { name: 'imsi', type: 'text' },
          { name: 'msisdn', type: 'text' },
          { name: 'rat', type: 'text' },
        ],
        parseRow: parseObservation,
        merge: async (trx, source) => {
          const t0 = performance.now();
          await sql`insert into ${sql.table(TARGET)} (imei, imsi, msisdn, rat, first_seen, last_seen)
            select imei, imsi, max(msisdn), max(rat), min(day), max(day) from ${source} as s group by imei, imsi
            on conflict (imei, imsi) do update set msisdn = coalesce(excluded.msisdn, ${sql.table(TARGET)}.msisdn), rat = excluded.rat,
              first_seen = least(${sql.table(TARGET)}.first_seen, excluded.first_seen), last_seen = greatest(${sql.table(TARGET)}.last_seen, excluded.last_seen)`.execute(
            trx,
          );
          mergeSeconds += (performance.now() - t0) / 1000;
        },
      }),
    );
    if (!ingest.value.committed || ingest.value.accepted !== ROWS)
      throw new Error(`the import did not take every row: ${JSON.stringify(ingest.value).slice(0, 500)}`);
    const rawRate = ROWS / raw.seconds;
    const ingestRate = ROWS / ingest.seconds;
    const loadRate = ROWS / (ingest.seconds - mergeSeconds);
    console.log(
      `raw COPY:        ${raw.seconds.toFixed(2)} s, ${Math.round(rawRate).toLocaleString('en')} rows/s, RSS +${(raw.rssGrowth / MiB).toFixed(0)} MiB`,
    );
    console.log(
      `ingest pipeline: ${ingest.seconds.toFixed(2)} s, ${Math.round(ingestRate).toLocaleString('en')} rows/s (read+check+stage ${(ingest.seconds - mergeSeconds).toFixed(2)} s = ${Math.round(loadRate).toLocaleString('en')} rows/s, merge ${mergeSeconds.toFixed(2)} s), RSS +${(ingest.rssGrowth / MiB).toFixed(0)} MiB`,
    );
    console.log(`ratio: ${(ingestRate / rawRate).toFixed(3)} of raw COPY's rows/s (target ≥ 0.5); staging alone ${(loadRate / rawRate).toFixed(3)}`);
    return { rawRate, ingestRate, loadRate, mergeSeconds };
  } finally {
    await sql`drop table if exists ${sql.table(RAW)}`.execute(database.db).catch(() => undefined);
    await sql`drop table if exists ${sql.table(TARGET)}`.execute(database.db).catch(() => undefined);
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
