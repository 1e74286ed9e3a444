import type { Selectable } from 'kysely';
import type { Executor } from '../db/database.js';
import type { CoreImportsTable, ImportStatus } from '../db/types.js';
import type { RowError } from './report.js';

/** One import as core records it (core_imports). */
export interface ImportRecord {
  id: string;
  kind: string;
  orgId: string | null;
  actorOrgId: string | null;
  actor: string;
  status: ImportStatus;
  rows: number;
  accepted: number;
  rejected: number;
  bytes: number;
  refusal: string | null;
  errors: RowError[];
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface ImportCounts {
  rows: number;
  accepted: number;
  rejected: number;
  bytes: number;
  errors: readonly RowError[];
}

export interface ImportFilter {
  /** Imports whose data or whose importer is this organisation's; absent: every import. */
  visibleTo?: string;
  kind?: string;
  status?: ImportStatus;
  before?: { startedAt: Date; id: string };
  limit: number;
}

const toRecord = (r: Selectable<CoreImportsTable>): ImportRecord => ({
  id: r.id,
  kind: r.kind,
  orgId: r.org_id,
  actorOrgId: r.actor_org_id,
  actor: r.actor,
  status: r.status,
  rows: Number(r.rows),
  accepted: Number(r.accepted),
  rejected: Number(r.rejected),
  bytes: Number(r.bytes),
  refusal: r.refusal,
  errors: r.errors,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

const countsOf = (c: ImportCounts) => ({
  rows: c.rows,
  accepted: c.accepted,
  rejected: c.rejected,
  bytes: c.bytes,
  errors: JSON.stringify(c.errors),
});

export function importsRepository(db: Executor) {
  return {
    /** Inserts a running import unless its id exists or one of its kind runs for its organisation; false then. */
    async insertRunning(row: { id: string; kind: string; orgId: string | null; actorOrgId: string | null; actor: string; at: Date }): Promise<boolean> {
      const inserted = await db
        .insertInto('core_imports')
        .values({
          id: row.id,
          kind: row.kind,
          org_id: row.orgId,
          actor_org_id: row.actorOrgId,
          actor: row.actor,
          status: 'running',
          started_at: row.at,
          updated_at: row.at,
        })
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .executeTakeFirst();
      return inserted !== undefined;
    },

    async exists(id: string): Promise<boolean> {
      return (await db.selectFrom('core_imports').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
    },

    /** The running import of this kind for this organisation (null: the platform's own), if any. */
    async runningOf(kind: string, orgId: string | null): Promise<ImportRecord | null> {
      const row = await db
        .selectFrom('core_imports')
        .selectAll()
        .where('kind', '=', kind)
        .where('org_id', 'is not distinct from', orgId)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async running(): Promise<ImportRecord[]> {
      return (await db.selectFrom('core_imports').selectAll().where('status', '=', 'running').execute()).map(toRecord);
    },

    async progress(id: string, counts: ImportCounts, at: Date): Promise<void> {
      await db
        .updateTable('core_imports')
        .set({ ...countsOf(counts), updated_at: at })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .execute();
    },

    /** Writes an import's outcome (whatever another instance concluded about it meanwhile: this one ran it). */
    async finish(id: string, outcome: { status: ImportStatus; refusal: string | null; counts: ImportCounts }, at: Date): Promise<void> {
      await db
        .updateTable('core_imports')
        .set({ ...countsOf(outcome.counts), status: outcome.status, refusal: outcome.refusal, updated_at: at, finished_at: at })
        .where('id', '=', id)
        .execute();
    },

    /** Marks a running import abandoned (its process is gone); false when it was no longer running. */
    async abandon(id: string, at: Date): Promise<boolean> {
      const r = await db
        .updateTable('core_imports')
        .set({ status: 'abandoned', updated_at: at, finished_at: at })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },

    async get(id: string): Promise<ImportRecord | null> {
      const row = await db.selectFrom('core_imports').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    /** Imports newest first, after the (startedAt, id) cursor when given. */
    async list(filter: ImportFilter): Promise<ImportRecord[]> {
      let query = db.selectFrom('core_imports').selectAll();
      const org = filter.visibleTo;
      if (org !== undefined) query = query.where((eb) => eb.or([eb('org_id', '=', org), eb('actor_org_id', '=', org)]));
      if (filter.kind) query = query.where('kind', '=', filter.kind);
      if (filter.status) query = query.where('status', '=', filter.status);
      const before = filter.before;
      if (before) query = query.where((eb) => eb(eb.refTuple('started_at', 'id'), '<', eb.tuple(before.startedAt, before.id)));
      const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
      return rows.map(toRecord);
    },
  };
}
