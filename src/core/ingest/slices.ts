import { sql, type RawBuilder } from 'kysely';
import type { BulkSession } from '../db/bulk.js';
import type { Database } from '../db/database.js';
import { LINE_COLUMN } from './staging.js';

/**
 * How the merge takes the staged rows. PostgreSQL: all at once (the database works on processes of its own). PGlite,
 * which runs on this thread: in slices of about `size` rows with the event loop turning between them — by ranges of
 * `key` when the feed names one (every row of a key in one slice, so a key is merged once per import however often
 * the file repeats it), else by line.
 */
export interface SlicePlan {
  /** The staging column to index while loading (null: none). */
  readonly index: string | null;
  /** Notes a staged row's line (the line plan cuts its slices as rows arrive). */
  staged(line: number): void;
  /** The slices, each placed where a table goes; read on the bulk session once the staging table is loaded. */
  sources(session: BulkSession, table: string): Promise<RawBuilder<unknown>[]>;
  /** Whether the event loop should turn between slices. */
  readonly yields: boolean;
}

export function slicePlan(kind: Database['kind'], size: number, key?: string): SlicePlan {
  if (kind === 'postgres') return { index: null, yields: false, staged: () => undefined, sources: async (_session, table) => [sql.table(table)] };
  return key === undefined ? byLine(size) : byKey(size, key);
}

function byLine(size: number): SlicePlan {
  const firstLines: number[] = [];
  let count = 0;
  const line = sql.ref(LINE_COLUMN);
  return {
    index: LINE_COLUMN,
    yields: true,
    staged(at) {
      if (count++ % size === 0) firstLines.push(at);
    },
    async sources(_session, table) {
      return firstLines.map((from, i) => {
        const next = firstLines[i + 1];
        const upper = next === undefined ? sql`` : sql` and ${line} < ${sql.lit(next)}`;
        return sql`(select * from ${sql.table(table)} where ${line} >= ${sql.lit(from)}${upper})`;
      });
    },
  };
}

type KeyValue = string | number;

function byKey(size: number, key: string): SlicePlan {
  const column = sql.ref(key);
  return {
    index: key,
    yields: true,
    staged: () => undefined,
    async sources(session, table) {
      const slices: RawBuilder<unknown>[] = [];
      let after: KeyValue | null = null;
      for (;;) {
        // The key `size` rows on: an index-only walk of the staging table's key index, a slice at a time.
        const [row]: { k: unknown }[] = await session.query<{ k: unknown }>(
          `SELECT ${key} AS k FROM ${table} WHERE ${key} IS NOT NULL${after === null ? '' : ` AND ${key} > ${literal(after)}`} ORDER BY ${key} OFFSET ${size - 1} LIMIT 1`,
        );
        const upto: KeyValue | null = row === undefined ? null : keyValue(row.k);
        const lower = after === null ? sql`${column} is not null` : sql`${column} > ${after}`;
        slices.push(sql`(select * from ${sql.table(table)} where ${lower}${upto === null ? sql`` : sql` and ${column} <= ${upto}`})`);
        if (upto === null) break;
        after = upto;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const [nulls] = await session.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${table} WHERE ${key} IS NULL) AS any`);
      if (nulls?.any) slices.push(sql`(select * from ${sql.table(table)} where ${column} is null)`);
      return slices;
    },
  };
}

function keyValue(v: unknown): KeyValue {
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return String(v);
  throw new Error(`a slice key's values must be text or numbers, not ${typeof v}`);
}

const literal = (v: KeyValue) => (typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`);
