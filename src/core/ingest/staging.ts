import { sql } from 'kysely';
import type { Database, Executor } from '../db/database.js';
import type { BulkSession } from '../db/bulk.js';

/** Every staging table's name starts with this, then the import's id. */
export const STAGING_PREFIX = 'ingest_stage_';

/** The staging column that holds each row's line in the file (for errors the merge reports). */
export const LINE_COLUMN = 'ingest_line';

/** A column of the staging table: a plain lower-case name and an SQL type (`text`, `bigint`, `timestamptz` …). */
export interface StagingColumn {
  name: string;
  type: string;
}

/** A value bound for a staging column; null is SQL NULL. */
export type StagingValue = string | number | bigint | boolean | Date | null;

/** Arbitrary, fixed first key of the session advisory locks that mark a staging table as in use (PostgreSQL). */
const STAGING_LOCK = 0x1a6e57;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const TYPE = /^[a-z][a-z0-9_ ]*(\([0-9, ]+\))?(\[\])?$/i;

export function stagingName(importId: string): string {
  const name = `${STAGING_PREFIX}${importId}`;
  if (!/^[a-z0-9_]+$/.test(importId) || !IDENTIFIER.test(name)) throw new Error(`not a usable import id: ${importId}`);
  return name;
}

/**
 * Creates the staging table on the session (UNLOGGED: no WAL for rows that are merged then dropped)
 * and, on PostgreSQL, holds a session lock on its name while the session lives, so that another instance's
 * `cleanupStaleStaging` leaves it alone.
 */
export async function createStaging(
  session: BulkSession,
  kind: Database['kind'],
  table: string,
  columns: readonly StagingColumn[],
  options: { index?: string | null } = {},
): Promise<void> {
  for (const c of columns) {
    if (!IDENTIFIER.test(c.name) || c.name === LINE_COLUMN) throw new Error(`not a usable staging column name: ${c.name}`);
    if (!TYPE.test(c.type)) throw new Error(`not a usable staging column type: ${c.type}`);
  }
  if (kind === 'postgres') await session.query(`SELECT pg_advisory_lock(${STAGING_LOCK}, hashtext('${table}'))`);
  const defs = [`${LINE_COLUMN} integer NOT NULL`, ...columns.map((c) => `${c.name} ${c.type}`)].join(', ');
  await session.query(`CREATE UNLOGGED TABLE ${table} (${defs})`);
  // Kept while loading (on the line, rows arrive in order: the index grows at its right edge), it lets the merge
  // select a slice without scanning the whole table.
  if (options.index && options.index !== LINE_COLUMN && !columns.some((c) => c.name === options.index)) {
    throw new Error(`the staging index ${options.index} is not a staging column`);
  }
  if (options.index) await session.query(`CREATE INDEX ${table}_slice ON ${table} (${options.index})`);
}

export const dropStatement = (table: string) => `DROP TABLE IF EXISTS ${table}`;

/**
 * PostgreSQL: whether no session holds the staging table's lock, i.e. no live import loads it. Run it in a
 * transaction: a free lock stays taken until that transaction ends, so the answer holds while the caller acts on it.
 */
export async function stagingUnheld(trx: Executor, table: string): Promise<boolean> {
  const { rows } = await sql<{ free: boolean }>`SELECT pg_try_advisory_xact_lock(${sql.lit(STAGING_LOCK)}, hashtext(${table})) AS free`.execute(trx);
  return rows[0]?.free === true;
}

/**
 * Drops staging tables that no running import holds: those a killed process left. On PGlite the data directory's
 * lock makes this process the only one, so every staging table is stale at start; on PostgreSQL a table is stale
 * when no session holds its lock (a killed process's connection, and its locks, end with it). Returns the names.
 */
export async function cleanupStaleStaging(database: Database): Promise<string[]> {
  const session = await database.bulk();
  try {
    const tables = await session.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE '${STAGING_PREFIX.replace(/_/g, '\\_')}%'`,
    );
    const dropped: string[] = [];
    for (const { name } of tables) {
      if (!IDENTIFIER.test(name)) continue;
      if (database.kind === 'postgres') {
        const [held] = await session.query<{ free: boolean }>(`SELECT pg_try_advisory_lock(${STAGING_LOCK}, hashtext('${name}')) AS free`);
        if (!held?.free) continue;
      }
      await session.query(dropStatement(name));
      if (database.kind === 'postgres') await session.query(`SELECT pg_advisory_unlock(${STAGING_LOCK}, hashtext('${name}'))`);
      dropped.push(name);
    }
    return dropped;
  } finally {
    await session.close();
  }
}

/**
 * One CSV line for COPY: NULL as an unquoted empty field, every text quoted (so an empty string stays one); `line`,
 * when given, is the first field (the staging table's line column).
 */
export function csvLine(values: readonly StagingValue[], line?: number): string {
  let out = line === undefined ? '' : String(line);
  for (let i = 0; i < values.length; i++) {
    if (i || line !== undefined) out += ',';
    const v = values[i];
    if (v === null || v === undefined) continue;
    if (typeof v === 'string') out += v.includes('"') ? `"${v.replace(/"/g, '""')}"` : `"${v}"`;
    else if (v instanceof Date) out += v.toISOString();
    else out += String(v);
  }
  return out + '\n';
}
