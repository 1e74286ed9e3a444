import { Readable } from 'node:stream';
import { sql } from 'kysely';
import type { RequestContext } from '../auth/principal.js';
import type { Database, Executor } from '../db/database.js';
import type { OrgKind } from '../db/types.js';
import type { Ingest, IngestJob, IngestReport } from './service.js';

/** The context of an API key of this organisation. */
export function orgContext(orgId: string, orgKind: OrgKind, label = 'importer (qk_test)'): RequestContext {
  return { principal: { kind: 'apikey', id: 'key', label, orgId, orgKind, scopes: ['*'] }, requestId: null, ip: null };
}

/** An import of `n,label` rows into `ingest_probe` (probe.fixture's table) through the ingest service. */
export function ingestTracked(
  ingest: Ingest,
  database: Database,
  job: { ctx: RequestContext; input: Readable | string; kind?: string } & Partial<Omit<IngestJob<Executor>, 'ctx' | 'input' | 'kind'>>,
): Promise<IngestReport> {
  const { input, kind, ...rest } = job;
  return ingest.run<Executor>({
    kind: kind ?? 'devices.observations',
    input: typeof input === 'string' ? Readable.from([Buffer.from(input)]) : input,
    format: 'csv',
    columns: ['n'],
    staging: [
      { name: 'n', type: 'integer' },
      { name: 'label', type: 'text' },
    ],
    parseRow: (row) =>
      /^\d+$/.test(String(row.n)) ? { ok: true, value: [Number(row.n), String(row.label ?? '')] } : { ok: false, error: 'n is not a number' },
    merge: async (trx, source) => {
      await sql`insert into ingest_probe (n, label) select n, label from ${source} as s on conflict (n) do update set label = excluded.label`.execute(trx);
    },
    transaction: (work) => database.db.transaction().execute(work),
    ...rest,
  });
}
