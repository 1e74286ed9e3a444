import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { DomainError } from '../errors.js';
import type { ImportReport } from './report.js';
import type { IngestTally } from './pipeline.js';
import { importsRepository, type ImportCounts, type ImportRecord } from './repository.js';
import { stagingName, stagingUnheld } from './staging.js';

/** A client's own import id (`Import-Id`): 1–40 of a–z, 0–9, `_` and `-`; `-` is stored as `_`. */
const CLIENT_ID = /^[a-z0-9_-]{1,40}$/;

/** The import id: the client's, checked and with `-` as `_` (it names the staging table), or a random one. */
export function importIdOf(given?: string): string {
  if (given === undefined) return randomBytes(8).toString('hex');
  if (!CLIENT_ID.test(given)) throw new DomainError('invalid', 'an import id is 1 to 40 characters of a-z, 0-9, "_" and "-"', { importId: given });
  return given.replace(/-/g, '_');
}

/**
 * Imports this process runs, per database. On PGlite one process owns the data directory, so a running import that
 * is not here is dead; PostgreSQL asks the staging table's session lock instead.
 */
const localRuns = new WeakMap<Database, Set<string>>();

function localRunsOf(database: Database): Set<string> {
  let runs = localRuns.get(database);
  if (!runs) localRuns.set(database, (runs = new Set()));
  return runs;
}

/**
 * Marks the import abandoned when its process is gone (no session holds its staging table's lock on PostgreSQL; not
 * run by this process on PGlite); true then. Decided and written in one transaction, under the lock when it was free.
 */
async function abandonIfDead(database: Database, run: ImportRecord, at: Date): Promise<boolean> {
  if (database.kind === 'pglite') return !localRunsOf(database).has(run.id) && importsRepository(database.db).abandon(run.id, at);
  return database.db.transaction().execute(async (trx) => (await stagingUnheld(trx, stagingName(run.id))) && importsRepository(trx).abandon(run.id, at));
}

/** Marks every running import whose process is gone abandoned (at start); returns their ids. */
export async function abandonDeadImports(database: Database, clock: () => Date = () => new Date()): Promise<string[]> {
  const abandoned: string[] = [];
  for (const run of await importsRepository(database.db).running()) if (await abandonIfDead(database, run, clock())) abandoned.push(run.id);
  return abandoned;
}

/** How often an import of the platform's own looks again whether the running one it waits for has ended. */
const WAIT_POLL_MS = 250;

const NO_COUNTS: ImportCounts = { rows: 0, accepted: 0, rejected: 0, bytes: 0, errors: [] };

export interface TrackingOptions {
  clock: () => Date;
  /** Progress is written at most this often (default 1,000 ms). */
  progressEveryMs: number;
}

/** One import's row in core_imports, from its start to its outcome. */
export interface ImportTracker {
  /**
   * Records the import as running. Call it with the staging table (and, on PostgreSQL, its lock) in place, so another
   * instance never takes it for dead. Another import of the kind for the organisation that still runs refuses it (409).
   */
  start(): Promise<void>;
  /** Notes the progress; written at most once per `progressEveryMs`. */
  progress(tally: IngestTally): void;
  /** Writes the outcome: the report's, or `failed` with the progress so far. */
  finish(report: ImportReport | null): Promise<void>;
}

export function trackImport(
  database: Database,
  options: TrackingOptions,
  job: { id: string; kind: string; orgId: string | null; ctx: RequestContext },
): ImportTracker {
  const repo = importsRepository(database.db);
  const runs = localRunsOf(database);
  let started = false;
  let counts = NO_COUNTS;
  let lastWrite = -Infinity;
  let writing: Promise<void> = Promise.resolve();

  /** The other import that holds the kind for the organisation, still alive; null when it has ended or was dead. */
  async function blocker(): Promise<ImportRecord | null> {
    if (await repo.exists(job.id)) throw new DomainError('conflict', `an import with id ${job.id} already exists`, { importId: job.id });
    const running = await repo.runningOf(job.kind, job.orgId);
    return running && !(await abandonIfDead(database, running, options.clock())) ? running : null;
  }

  return {
    async start() {
      const p = job.ctx.principal;
      runs.add(job.id);
      try {
        // The platform's own imports (the CLI, the demo) wait for the running one; an organisation's is refused. A retry
        // follows an import that finished or was found dead meanwhile; a third such race refuses.
        const waits = p.kind === 'system';
        for (let races = 0; ;) {
          const at = options.clock();
          if (await repo.insertRunning({ id: job.id, kind: job.kind, orgId: job.orgId, actorOrgId: p.orgId, actor: `${p.kind}:${p.label}`, at })) break;
          const running = await blocker();
          if (running && !waits)
            throw new DomainError(
              'conflict',
              `an import of ${job.kind} for this organisation is already running (id ${running.id}, started ${running.startedAt.toISOString()}); retry when it has finished`,
              { runningImportId: running.id, runningSince: running.startedAt.toISOString() },
            );
          if (running) await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
          else if (++races > 2) throw new DomainError('conflict', `an import of ${job.kind} for this organisation is starting; retry`);
        }
      } catch (err) {
        runs.delete(job.id);
        throw err;
      }
      started = true;
      lastWrite = options.clock().getTime();
    },

    progress(tally) {
      counts = { rows: tally.rows, accepted: tally.accepted, rejected: tally.rejected, bytes: tally.bytes, errors: [...tally.errors] };
      const now = options.clock().getTime();
      if (!started || now - lastWrite < options.progressEveryMs) return;
      lastWrite = now;
      const snapshot = counts;
      // Progress is for people watching; a write that fails is caught up by the next one or by the outcome.
      writing = writing.then(() => repo.progress(job.id, snapshot, new Date(now)).catch(() => undefined));
    },

    async finish(report) {
      if (!started) return;
      await writing;
      try {
        const outcome = report
          ? {
              status: report.committed ? ('committed' as const) : ('refused' as const),
              refusal: report.refusal ?? null,
              counts: { ...counts, rows: report.rows, accepted: report.accepted, rejected: report.rejected, errors: report.errors },
            }
          : { status: 'failed' as const, refusal: null, counts };
        await repo.finish(job.id, outcome, options.clock());
      } finally {
        runs.delete(job.id);
      }
    },
  };
}
