import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PGlite } from '@electric-sql/pglite';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DB } from './types.js';

/**
 * A session for bulk loading, apart from the request traffic: COPY of CSV text into a table. Statements run
 * outside any transaction (each commits on its own). Table and column names are interpolated: callers pass
 * identifiers they built themselves, never input.
 */
export interface BulkSession {
  /** Runs one statement on this session; returns its rows. */
  query<R>(statement: string): Promise<R[]>;
  /**
   * Loads CSV text into `table (columns)` (each chunk whole rows; an unquoted empty field is NULL); returns the rows
   * loaded. A chunk source that throws stops the COPY and loads none of its rows.
   */
  copyIn(table: string, columns: readonly string[], chunks: AsyncIterable<string>): Promise<number>;
  close(): Promise<void>;
}

const copyStatement = (table: string, columns: readonly string[], source: string) => `COPY ${table} (${columns.join(', ')}) FROM ${source} WITH (FORMAT csv)`;

/**
 * PostgreSQL: a connection of its own (a long COPY never holds one of the request pool's), one `COPY … FROM STDIN`
 * per call through pg-copy-streams, fed chunk by chunk with back-pressure, so memory stays at a chunk or two.
 */
export async function postgresBulkSession(url: string): Promise<BulkSession> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  // A connection lost mid-load fails the running statement; the client's own 'error' event must not crash the process.
  client.on('error', () => undefined);
  await client.connect();
  return {
    query: async <R>(statement: string) => (await client.query(statement)).rows as R[],
    async copyIn(table, columns, chunks) {
      const stream = client.query(copyFrom(copyStatement(table, columns, 'STDIN')));
      await pipeline(Readable.from(chunks, { highWaterMark: 1 }), stream);
      return stream.rowCount;
    },
    close: () => client.end(),
  };
}

/**
 * PGlite: its COPY from a blob (`COPY … FROM '/dev/blob'`), one COPY per chunk. Each statement takes the single
 * connection through Kysely's driver (so it never lands inside another caller's transaction), and between chunks
 * the connection is free for requests on the same process (the ingest pipeline lets the event loop turn there).
 */
export function pgliteBulkSession(pglite: PGlite, db: Kysely<DB>): BulkSession {
  const exclusive = <T>(work: () => Promise<T>) => db.connection().execute(work);
  return {
    query: async <R>(statement: string) => (await exclusive(() => pglite.query<R>(statement))).rows,
    async copyIn(table, columns, chunks) {
      const statement = copyStatement(table, columns, `'/dev/blob'`);
      let rows = 0;
      for await (const chunk of chunks) {
        const result = await exclusive(() => pglite.query(statement, [], { blob: new Blob([chunk]) }));
        rows += result.affectedRows ?? 0;
      }
      return rows;
    },
    close: async () => undefined,
  };
}
