import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { pgliteBulkSession, postgresBulkSession, type BulkSession } from './bulk.js';
import { withCommitListeners } from './commit-hook.js';
import { listenPostgres, type Listening } from './listen.js';
import type { DB } from './types.js';

const INT8_OID = 20;
const DATE_OID = 1082;

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database {
  db: Kysely<DB>;
  kind: DatabaseKind;
  /** Throws when the database cannot answer a trivial query. */
  ping(): Promise<void>;
  /** Calls `listener` after every committed transaction; returns what stops it. */
  onCommit(listener: () => void): () => void;
  /** PostgreSQL only: LISTEN on a channel (a NOTIFY arrives when its transaction commits), reconnecting. */
  listen?(channel: string, onNotify: () => void, onError: (err: unknown) => void): Promise<Listening>;
  /** PostgreSQL only: connections of a caller's own (up to `size`), for work that must not queue behind requests. */
  ownPool?(size: number): OwnPool;
  /** A session for bulk loads (COPY into staging tables), apart from the request traffic; the caller closes it. */
  bulk(): Promise<BulkSession>;
  /**
   * After large writes (an import, a housekeeping pass), what the database's own background processes do elsewhere.
   * PGlite runs none — no autovacuum, no checkpointer — so its planner statistics would never follow its tables and its
   * WAL would only grow: `ANALYZE` and `CHECKPOINT`. PostgreSQL: nothing.
   */
  maintain(): Promise<void>;
  close(): Promise<void>;
}

export interface OwnPool {
  db: Kysely<DB>;
  close(): Promise<void>;
}

export type DatabaseOptions =
  { kind: 'postgres'; url: string; poolSize?: number; onPoolError?: (err: Error) => void } | { kind: 'pglite'; dataDir?: string; loadDataDir?: Blob | File };

/** Bigint columns (ids, sequences) are typed as strings: `pg` returns int8 as text to keep precision. */
function wrap(db: Kysely<DB>, kind: DatabaseKind, commitListeners: Set<() => void>, close: () => Promise<void>): Omit<Database, 'bulk' | 'maintain'> {
  return {
    db,
    kind,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    onCommit(listener) {
      commitListeners.add(listener);
      return () => commitListeners.delete(listener);
    },
    close,
  };
}

/** The embedded database's directory cannot be used: the message names it and says why. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'a file of that name is in the way',
};

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return (e.code && REASONS[e.code]) ?? e.message;
}

/** PGlite fails obscurely ("failed to initialize properly") in a directory it cannot write: check first. */
function assertWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw new DataDirError(`cannot write to the database directory ${dir}: ${reason(err)} (QALQAN_DATA_DIR must be a directory this user can write)`);
  }
}

async function openPglite(dataDir: string | undefined, loadDataDir: Blob | File | undefined): Promise<PGlite> {
  if (dataDir) assertWritable(dataDir);
  try {
    return await PGlite.create({
      dataDir,
      loadDataDir,
      parsers: { [INT8_OID]: (value: string) => value, [DATE_OID]: (value: string) => value },
    });
  } catch (err) {
    if (!dataDir) throw err;
    throw new DataDirError(`cannot open the database in ${dataDir}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function postgresPool(url: string, max: number, onPoolError: ((err: Error) => void) | undefined): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // Calendar dates stay 'YYYY-MM-DD' strings: a Date would shift them by the process time zone.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === DATE_OID ? (v: string) => v : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // A dropped idle connection (database restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => onPoolError?.(err));
  // Neither may one lost while checked out (mid-request): its query already fails with the error, but the client's
  // own 'error' event has no listener then (the pool only listens on idle clients) and would be thrown uncaught.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const commitListeners = new Set<() => void>();
  if (options.kind === 'postgres') {
    const { url, onPoolError } = options;
    const db = new Kysely<DB>({
      dialect: withCommitListeners(new PostgresDialect({ pool: postgresPool(url, options.poolSize ?? 10, onPoolError) }), commitListeners),
    });
    return {
      ...wrap(db, 'postgres', commitListeners, () => db.destroy()),
      listen: (channel, onNotify, onError) => listenPostgres(url, channel, onNotify, onError),
      bulk: () => postgresBulkSession(url),
      maintain: async () => undefined,
      ownPool(size) {
        const own = new Kysely<DB>({ dialect: new PostgresDialect({ pool: postgresPool(url, size, onPoolError) }) });
        return { db: own, close: () => own.destroy() };
      },
    };
  }
  const pglite = await openPglite(options.dataDir, options.loadDataDir);
  const db = new Kysely<DB>({ dialect: withCommitListeners(new PGliteDialect(pglite), commitListeners) });
  return {
    ...wrap(db, 'pglite', commitListeners, () => db.destroy()),
    bulk: async () => pgliteBulkSession(pglite, db),
    async maintain() {
      await sql`ANALYZE`.execute(db);
      await sql`CHECKPOINT`.execute(db);
    },
  };
}

/** A database handle or an open transaction: repositories accept either, so a service can group writes. */
export type Executor = Kysely<DB>;
