import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { sql } from 'kysely';
import { systemContext } from '../src/core/auth/principal.js';
import { migrateToLatest } from '../src/core/db/migrate.js';
import { createMemoryBus } from '../src/core/events/memory-bus.js';
import { createHttpServer, createServices, type Services } from '../src/server.js';
import type { Database } from '../src/core/db/database.js';
import { compareWithBaseline, loopbackBase, openBenchDatabase, type Comparison } from './harness.js';

export const description = 'GET /n5g-eir-eic/v1/equipment-status over 1 M registered IMEIs vs an empty Fastify route';

const REGISTERED = Number(process.env.BENCH_EIR_IMEIS ?? 1_000_000);
const TAC = '35332811';
/** A known TAC with no registrations: its IMEIs are never seen, so grey. */
const GREY_TAC = '35332999';

/** IMEI number i under the benchmark TAC (14 digits; the network sends a spare 0 as the 15th). */
const imei14 = (i: number) => TAC + String(i).padStart(6, '0');

/** Seeds REGISTERED registrations (in SQL, in one statement per 100 k), some stolen (…07), and a TAC never seen (grey). */
export async function seedRegistrations(db: Database['db']): Promise<void> {
  await db
    .insertInto('devices_tac')
    .values([
      { tac: TAC, manufacturer: 'Apple', model_name: 'iPhone 14' },
      { tac: GREY_TAC, manufacturer: 'Apple', model_name: 'iPhone 15' },
    ])
    .execute();
  const tacs = Math.ceil(REGISTERED / 1_000_000);
  for (let t = 1; t < tacs; t++)
    await db
      .insertInto('devices_tac')
      .values({ tac: String(35332811 + t * 100), manufacturer: 'Bench', model_name: `Model ${t}` })
      .execute();
  const started = performance.now();
  for (let from = 0; from < REGISTERED; from += 100_000) {
    const to = Math.min(REGISTERED, from + 100_000) - 1;
    await sql`insert into devices_registrations (imei14, imei, source)
      select tac || lpad((i % 1000000)::text, 6, '0'), tac || lpad((i % 1000000)::text, 6, '0') || '0', 'importer'
      from generate_series(${from}::int, ${to}::int) as i, lateral (select (35332811 + (i / 1000000) * 100)::text as tac) t`.execute(db);
  }
  await sql`insert into devices_stolen (imei14, case_number, source) select imei14, 'bench', 'police' from devices_registrations where right(imei14, 2) = '07'`.execute(
    db,
  );
  console.log(`seeded ${REGISTERED.toLocaleString('en')} registrations in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** A fixed mix of equipment-status paths: 70 % registered (white), 10 % stolen (black), 15 % never seen (grey), 5 % unknown TAC (404). */
export function equipmentStatusPaths(): string[] {
  const paths: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const n = (i * 7919) % Math.min(REGISTERED, 1_000_000);
    const r = i % 20;
    const pei =
      r < 14 ? imei14(n) : r < 16 ? imei14(n - (n % 100) + 7) : r < 19 ? `${GREY_TAC}${String(n).padStart(6, '0')}` : `99999999${String(n).padStart(6, '0')}`;
    paths.push(`/n5g-eir-eic/v1/equipment-status?pei=imei-${pei}0`);
  }
  return paths;
}

/**
 * The services of an EIR benchmark: a migrated database with the registrations seeded, an operator's API key with
 * devices:check (its bearer header), and the EIR index loaded as `qalqan serve` does.
 */
export async function prepareEir(): Promise<{ database: Database; services: Services; headers: { authorization: string } }> {
  const logger = pino({ level: 'silent' });
  const database = await openBenchDatabase();
  await migrateToLatest(database.db);
  const services = createServices({ database, bus: createMemoryBus(logger), logger, secret: randomBytes(32).toString('base64url') });
  await seedRegistrations(database.db);
  const ctx = systemContext('bench eir');
  await services.auth.ensureOrg(ctx, { name: 'Bench Operator', kind: 'operator' });
  const key = await services.auth.createApiKey(ctx, { org: 'Bench Operator', scopes: ['devices:check'] });
  const started = performance.now();
  await services.eir.reload();
  const heap = process.memoryUsage();
  const stats = services.eir.stats()!;
  console.log(
    `EIR index: ${stats.imeis.toLocaleString('en')} IMEIs loaded in ${((performance.now() - started) / 1000).toFixed(1)} s, ${stats.bytesPerImei.toFixed(2)} bytes per IMEI (arrayBuffers ${(heap.arrayBuffers / 2 ** 20).toFixed(0)} MiB)`,
  );
  return { database, services, headers: { authorization: `Bearer ${key.key}` } };
}

/** Loads the main API's equipment-status (HTTP/1.1) with a mix of white, grey, black and unknown-TAC PEIs. */
export async function run(): Promise<Comparison> {
  const { database, services, headers } = await prepareEir();
  const { app } = await createHttpServer(services);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `${loopbackBase(app.server)}/n5g-eir-eic/v1/equipment-status`;
  const paths = equipmentStatusPaths();
  for (const [path, expect] of [
    [paths[0]!, 200],
    [paths[19]!, 404],
  ] as const) {
    const res = await fetch(`${loopbackBase(app.server)}${path}`, { headers });
    if (res.status !== expect) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  }
  try {
    return await compareWithBaseline(async () => {
      services.relay.start();
      return { label: 'target: equipment-status (mixed)', url: base, headers, paths, non2xxExpected: true };
    });
  } finally {
    await app.close();
    await services.relay.stop();
    await database.close();
  }
}
