import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lineIO } from '../cli/io.js';
import { runCommand } from '../cli/run.js';
import { createServices } from '../server.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { waitFor } from '../testing/wait.js';
import { createMemoryBus } from './events/memory-bus.js';
import { createHousekeeping, type HousekeepingDeps } from './housekeeping.js';
import { cleanupStaleStaging } from './ingest/staging.js';
import { takeLease } from './db/lease.js';
import { createMetrics, type Metrics } from './metrics.js';

const silent = pino({ level: 'silent' });
const DAY = 86_400_000;
const NOW = new Date();
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);

let database: TestDatabase;
let userId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const { rows } = await sql<{ id: string }>`
    insert into auth_users (id, email, role, password_hash) values (gen_random_uuid(), 'housekeeping@example.kz', 'viewer', 'x') returning id`.execute(
    database.db,
  );
  userId = rows[0]!.id;
});
afterAll(() => database?.close());

beforeEach(async () => {
  for (const table of ['core_outbox', 'core_handled_events', 'auth_sessions', 'core_leases'] as const) await database.db.deleteFrom(table).execute();
});

function housekeeping(over: Partial<HousekeepingDeps> = {}) {
  return createHousekeeping({ db: database.db, logger: silent, metrics: createMetrics(), clock: () => NOW, retentionDays: 7, ...over });
}

/** `n` outbox rows created at `created`: published at `published` (numbered in insertion order), or pending. */
async function outbox(n: number, published: Date | null, created = published ?? NOW): Promise<void> {
  await sql`
    insert into core_outbox (id, topic, payload, created_at, published_at, published_seq)
    select gen_random_uuid(), 'test.thing.done', '{}'::jsonb, ${created}::timestamptz, ${published}::timestamptz,
           case when ${published}::timestamptz is null then null else nextval('core_outbox_published_seq') end
    from generate_series(1, ${n}::int) as g(i) order by g.i`.execute(database.db);
}

async function handled(n: number, at: Date): Promise<void> {
  await sql`
    insert into core_handled_events (consumer, event_id, handled_at)
    select 'test-consumer', gen_random_uuid(), ${at}::timestamptz from generate_series(1, ${n}::int)`.execute(database.db);
}

async function sessions(n: number, expires: Date): Promise<void> {
  await sql`
    insert into auth_sessions (id_hash, user_id, created_at, expires_at)
    select gen_random_uuid()::text, ${userId}::uuid, ${ago(30)}::timestamptz, ${expires}::timestamptz from generate_series(1, ${n}::int)`.execute(database.db);
}

const outboxLeft = async () =>
  (await database.db.selectFrom('core_outbox').select(['published_at', 'published_seq']).orderBy('seq').execute()).map((r) =>
    r.published_at === null ? 'pending' : r.published_at.getTime() === ago(1).getTime() ? 'recent' : 'old',
  );
const countOf = async (table: 'core_outbox' | 'core_handled_events' | 'auth_sessions') =>
  Number(
    (
      await database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

async function pruned(metrics: Metrics): Promise<Record<string, number>> {
  return Object.fromEntries((await metrics.housekeepingPruned.get()).values.map((v) => [String(v.labels.kind), v.value]));
}

describe('housekeeping', () => {
  it('prunes outbox rows published before the retention; keeps pending ones (however old) and recent ones; logs one line', async () => {
    await outbox(3, ago(10));
    await outbox(2, null, ago(30));
    await outbox(2, ago(1));
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    expect(await housekeeping({ logger }).runOnce()).toEqual({ outbox: 3, handledEvents: 0, sessions: 0, stagingTables: 0 });
    expect(await outboxLeft()).toEqual(['pending', 'pending', 'recent', 'recent']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'housekeeping done', outbox: 3, handledEvents: 0, sessions: 0, stagingTables: 0, retentionDays: 7 });
  });

  it('keeps the row with the highest publication number, however old: the outbox shows how far publication has come', async () => {
    await outbox(3, ago(10));
    const newest = await database.db
      .selectFrom('core_outbox')
      .select((eb) => eb.fn.max('published_seq').as('seq'))
      .executeTakeFirstOrThrow();
    expect((await housekeeping().runOnce())?.outbox).toBe(2);
    expect(await database.db.selectFrom('core_outbox').select('published_seq').execute()).toEqual([{ published_seq: newest.seq }]);
  });

  it('honours the retention setting', async () => {
    await outbox(2, ago(10));
    await outbox(1, ago(1));
    expect((await housekeeping({ retentionDays: 30 }).runOnce())?.outbox).toBe(0);
    expect((await housekeeping({ retentionDays: 7 }).runOnce())?.outbox).toBe(2);
  });

  it('prunes handled-event records older than the retention and keeps recent ones', async () => {
    await handled(4, ago(8));
    await handled(2, ago(6));
    expect(await housekeeping().runOnce()).toEqual({ outbox: 0, handledEvents: 4, sessions: 0, stagingTables: 0 });
    const left = await database.db.selectFrom('core_handled_events').select('handled_at').execute();
    expect(left.map((r) => r.handled_at.getTime())).toEqual([ago(6).getTime(), ago(6).getTime()]);
  });

  it('prunes expired sessions and keeps live ones', async () => {
    await sessions(3, new Date(NOW.getTime() - 1000));
    await sessions(2, new Date(NOW.getTime() + 3_600_000));
    expect(await housekeeping().runOnce()).toEqual({ outbox: 0, handledEvents: 0, sessions: 3, stagingTables: 0 });
    const left = await database.db.selectFrom('auth_sessions').select('expires_at').execute();
    expect(left.every((r) => r.expires_at > NOW)).toBe(true);
    expect(left).toHaveLength(2);
  });

  it('deletes in batches, looping until none is left, and counts what it pruned by kind', async () => {
    await outbox(10, ago(10));
    await outbox(1, ago(1));
    await handled(10, ago(8));
    await sessions(7, ago(1));
    const metrics = createMetrics();
    expect(await housekeeping({ batch: 3, metrics }).runOnce()).toEqual({ outbox: 10, handledEvents: 10, sessions: 7, stagingTables: 0 });
    expect(await pruned(metrics)).toEqual({ outbox: 10, handled_events: 10, sessions: 7, staging_tables: 0 });
    expect([await countOf('core_outbox'), await countOf('core_handled_events'), await countOf('auth_sessions')]).toEqual([1, 0, 0]);
  });

  it('drops import staging tables that no running import holds', async () => {
    await sql`create table ingest_stage_killed (ingest_line integer not null)`.execute(database.db);
    const metrics = createMetrics();
    const job = housekeeping({ metrics, dropStaleStaging: () => cleanupStaleStaging(database) });
    expect(await job.runOnce()).toEqual({ outbox: 0, handledEvents: 0, sessions: 0, stagingTables: 1 });
    expect(await pruned(metrics)).toMatchObject({ staging_tables: 1 });
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_tables where tablename = 'ingest_stage_killed'`.execute(database.db);
    expect(rows[0]?.n).toBe(0);
  });

  it('ends a pass with the database’s upkeep when given it (the embedded database runs no checkpointer)', async () => {
    const lsn = async () => (await sql<{ l: string }>`select checkpoint_lsn::text as l from pg_control_checkpoint()`.execute(database.db)).rows[0]!.l;
    await outbox(50, null);
    const before = await lsn();
    let checkpoints = 0;
    const job = housekeeping({
      maintain: async () => {
        checkpoints++;
        await sql`checkpoint`.execute(database.db);
      },
    });
    await job.runOnce();
    expect(checkpoints).toBe(1);
    expect(await lsn()).not.toBe(before);
  });

  it('does nothing while another instance holds the lease; runs once it is free', async () => {
    await handled(2, ago(8));
    expect(await takeLease(database.db, 'housekeeping', 'another-instance', 300)).toBe(true);
    expect(await housekeeping().runOnce()).toBeNull();
    expect(await countOf('core_handled_events')).toBe(2);
    await sql`update core_leases set until = now() - interval '1 second' where name = 'housekeeping'`.execute(database.db);
    expect((await housekeeping().runOnce())?.handledEvents).toBe(2);
  });

  it('two instances at once: the second is refused while the first prunes, and finds nothing left after it', async () => {
    await outbox(5, ago(10));
    await outbox(1, ago(1));
    await handled(5, ago(8));
    const second = housekeeping({ batch: 2 });
    let during: Promise<unknown> | null = null;
    // The first instance reads its clock once it holds the lease: the second starts its pass right then.
    const first = housekeeping({ batch: 2, clock: () => ((during ??= second.runOnce()), NOW) });
    expect(await first.runOnce()).toEqual({ outbox: 5, handledEvents: 5, sessions: 0, stagingTables: 0 });
    expect(await during).toBeNull();
    expect(await second.runOnce()).toEqual({ outbox: 0, handledEvents: 0, sessions: 0, stagingTables: 0 });
  });

  it('two instances started together delete every old row exactly once between them', async () => {
    await handled(20, ago(8));
    const results = await Promise.all([housekeeping({ batch: 1 }).runOnce(), housekeeping({ batch: 1 }).runOnce()]);
    expect(results.reduce((sum, r) => sum + (r?.handledEvents ?? 0), 0)).toBe(20);
    expect(await countOf('core_handled_events')).toBe(0);
  });

  it('runs one scheduled pass per period across instances; the next once the period has passed', async () => {
    await handled(1, ago(8));
    const a = housekeeping();
    const b = housekeeping();
    expect(await a.scheduledPass(3_600_000)).toEqual({ outbox: 0, handledEvents: 1, sessions: 0, stagingTables: 0 });
    expect(await b.scheduledPass(3_600_000)).toBeNull();
    expect(await a.scheduledPass(3_600_000)).toBeNull();
    await sql`update core_leases set until = now() - interval '1 second' where name = 'housekeeping-schedule'`.execute(database.db);
    expect(await b.scheduledPass(3_600_000)).toEqual({ outbox: 0, handledEvents: 0, sessions: 0, stagingTables: 0 });
  });

  it('start() prunes on its schedule until stop()', async () => {
    await sessions(2, ago(1));
    const job = housekeeping();
    job.start(20);
    try {
      await waitFor('the scheduled pass', async () => (await countOf('auth_sessions')) === 0);
    } finally {
      await job.stop();
    }
  });

  it('`qalqan housekeeping` runs one pass and prints the counts', async () => {
    await outbox(2, ago(10));
    await outbox(1, ago(1));
    await sessions(1, ago(1));
    const services = createServices({ database, bus: createMemoryBus(silent), logger: silent, secret: 's'.repeat(32), clock: () => NOW });
    const out: string[] = [];
    const code = await runCommand(
      ['housekeeping'],
      lineIO((kind, line) => void (kind === 'out' && out.push(line))),
      (fn) => fn(services),
    );
    expect(code).toBe(0);
    expect(out).toEqual(['pruned 2 published outbox events, 0 handled-event records, 1 expired sessions, 0 stale staging tables']);
  });
});
