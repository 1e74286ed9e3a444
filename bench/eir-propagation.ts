import { randomBytes, randomInt } from 'node:crypto';
import { Agent, request } from 'node:http';
import { pino } from 'pino';
import { systemContext } from '../src/core/auth/principal.js';
import { openDatabase, type Database } from '../src/core/db/database.js';
import { migrateToLatest } from '../src/core/db/migrate.js';
import type { EventBus } from '../src/core/events/bus.js';
import { createMemoryBus } from '../src/core/events/memory-bus.js';
import { createNatsBus } from '../src/core/events/nats-bus.js';
import { toImei15 } from '../src/identifiers/imei.js';
import { createHttpServer, createServices, type Services } from '../src/server.js';
import { loopbackBase } from './harness.js';

export const description = 'stolen-phone blocks at BENCH_BLOCK_RATE/s (500) on two instances: how long until every instance answers BLACKLISTED';

const RATE = Number(process.env.BENCH_BLOCK_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_BLOCK_SECONDS ?? 20);
/** Blocks are sent every this many ms, RATE × TICK / 1000 at a time. */
const TICK_MS = 10;
/** Connections the client keeps to each instance (a police system's pool; more would trip the per-client cap). */
const CONNECTIONS = 32;
/** After the load, how long a block may take to show everywhere before it counts as never shown. */
const SETTLE_MS = 10_000;
const TARGET_MS = 1_000;

interface Instance {
  name: string;
  services: Services;
  base: string;
  close: () => Promise<void>;
}

interface Block {
  imei: string;
  sentAt: number;
  ackedAt: number | null;
  by: number;
  /** ms from the acknowledgement until each instance answered BLACKLISTED (null: not yet). */
  seen: (number | null)[];
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);

/**
 * Two instances as production runs them, in one process: with DATABASE_URL each has its own connection pool to that
 * PostgreSQL, with NATS_URL its own NATS connection (a JetStream stream of the benchmark's own); without them they
 * share one in-memory PGlite and one in-process bus. Blocks are POSTed over HTTP, alternately to each instance, at
 * RATE per second for SECONDS; each instance's EIR is asked (in process, the function its route answers from) about
 * every acknowledged block every millisecond until it answers BLACKLISTED. Prints the delay from the 201 to that
 * answer per instance: p50, p99, max, and the share within 1 s.
 */
export async function run(): Promise<{ p50: number; p99: number; max: number; withinTarget: number }> {
  const logger = pino({ level: 'silent' });
  const url = process.env.DATABASE_URL;
  const natsUrl = process.env.NATS_URL;
  const databases: Database[] = url ? [await openDatabase({ kind: 'postgres', url }), await openDatabase({ kind: 'postgres', url })] : [await openDatabase({ kind: 'pglite' })];
  await migrateToLatest(databases[0]!.db);
  const sharedBus = natsUrl ? null : createMemoryBus(logger);
  const buses: EventBus[] = natsUrl
    ? [await createNatsBus({ url: natsUrl, logger, stream: 'QALQAN_BENCH_EIR', subjectPrefix: 'qalqan-bench-eir' }), await createNatsBus({ url: natsUrl, logger, stream: 'QALQAN_BENCH_EIR', subjectPrefix: 'qalqan-bench-eir' })]
    : [sharedBus!];
  console.log(`database: ${url ? 'PostgreSQL (DATABASE_URL), one pool per instance' : 'PGlite in memory, shared by both instances'}; bus: ${natsUrl ? 'NATS JetStream (NATS_URL), one connection per instance' : 'in-process, shared'}; node ${process.version}`);

  const secret = randomBytes(32).toString('base64url');
  const instances: Instance[] = [];
  for (const i of [0, 1]) {
    const services = createServices({ database: databases[i] ?? databases[0]!, bus: buses[i] ?? buses[0]!, logger, secret });
    const { app } = await createHttpServer(services);
    await app.listen({ host: '127.0.0.1', port: 0 });
    services.relay.start();
    instances.push({
      name: `instance ${i + 1}`,
      services,
      base: loopbackBase(app.server),
      close: async () => {
        await app.close();
        services.eir.stop();
        await services.voice.stop();
        await services.relay.stop();
      },
    });
  }

  // A TAC of this run's own, so blocks of earlier runs on the same database do not meet this one's.
  const tac = `35${String(randomInt(1_000_000)).padStart(6, '0')}`;
  const db = databases[0]!.db;
  await db.insertInto('devices_tac').values({ tac, manufacturer: 'Bench', model_name: 'Propagation' }).onConflict((oc) => oc.column('tac').doNothing()).execute();
  await db.deleteFrom('devices_stolen').where('imei14', 'like', `${tac}%`).execute();
  for (const instance of instances) await instance.services.eir.reload();
  const ctx = systemContext('bench eir propagation');
  await instances[0]!.services.auth.ensureOrg(ctx, { name: 'Bench Police', kind: 'police' });
  const key = await instances[0]!.services.auth.createApiKey(ctx, { org: 'Bench Police', scopes: ['devices:block'] });
  const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };

  const total = Math.round(RATE * SECONDS);
  const blocks: Block[] = [];
  const open = new Set<Block>();
  const failures: string[] = [];
  const isBlack = (instance: Instance, imei: string) => {
    const answer = instance.services.devices.equipmentStatus(`imei-${imei}`, undefined);
    return !(answer instanceof Promise) && 'status' in answer && answer.status === 'BLACKLISTED';
  };
  const look = () => {
    const now = performance.now();
    for (const b of open) {
      instances.forEach((instance, i) => {
        if (b.seen[i] === null && isBlack(instance, b.imei)) b.seen[i] = now - b.ackedAt!;
      });
      if (b.seen.every((s) => s !== null)) open.delete(b);
    }
  };
  const watcher = setInterval(look, 1);

  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const post = (base: string, body: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${base}/api/v1/devices/stolen`, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  async function send(b: Block): Promise<void> {
    const instance = instances[b.by]!;
    try {
      const res = await post(instance.base, JSON.stringify({ imei: b.imei, caseNumber: `BENCH-${b.imei.slice(8)}` }));
      if (res.status !== 201) throw new Error(`${res.status} ${res.body.slice(0, 200)}`);
      b.ackedAt = performance.now();
      // The writer must already answer BLACKLISTED: it applied its own block on commit.
      if (isBlack(instance, b.imei)) b.seen[b.by] = 0;
      open.add(b);
    } catch (err) {
      failures.push(String(err));
    }
  }

  console.error(`sending ${total.toLocaleString('en')} blocks at ${RATE}/s for ${SECONDS} s, alternately to both instances`);
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  const perTick = (RATE * TICK_MS) / 1000;
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / TICK_MS + 1) * perTick));
    for (; sent < due; sent++) {
      const b: Block = { imei: toImei15(tac + String(sent).padStart(6, '0')), sentAt: performance.now(), ackedAt: null, by: sent % 2, seen: [null, null] };
      blocks.push(b);
      inFlight.push(send(b));
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  await Promise.all(inFlight);
  const sendSeconds = (performance.now() - started) / 1000;
  const settleUntil = performance.now() + SETTLE_MS;
  while (open.size && performance.now() < settleUntil) await new Promise((resolve) => setTimeout(resolve, 10));
  clearInterval(watcher);

  const acked = blocks.filter((b) => b.ackedAt !== null);
  const ackMs = acked.map((b) => b.ackedAt! - b.sentAt).sort((a, b) => a - b);
  console.log(`sent ${total.toLocaleString('en')} blocks in ${sendSeconds.toFixed(1)} s (${Math.round(total / sendSeconds)}/s offered), ${acked.length.toLocaleString('en')} answered 201, ${failures.length} failed${failures.length ? ` (first: ${failures[0]})` : ''}`);
  console.log(`  201 answered in p50 ${percentile(ackMs, 50).toFixed(1)} ms, p99 ${percentile(ackMs, 99).toFixed(1)} ms, max ${percentile(ackMs, 100).toFixed(1)} ms`);
  const all: number[] = [];
  instances.forEach((instance, i) => {
    const writer = acked.filter((b) => b.by === i);
    const other = acked.filter((b) => b.by !== i);
    const lateness = (list: Block[]) => list.map((b) => b.seen[i] ?? Infinity).sort((a, b) => a - b);
    const own = lateness(writer);
    const theirs = lateness(other);
    all.push(...own, ...theirs);
    const line = (label: string, l: number[]) =>
      `  ${instance.name}, ${label}: p50 ${percentile(l, 50).toFixed(1)} ms, p99 ${percentile(l, 99).toFixed(1)} ms, max ${percentile(l, 100).toFixed(1)} ms, never ${l.filter((x) => x === Infinity).length}`;
    console.log(line(`its own ${writer.length.toLocaleString('en')} blocks (answered BLACKLISTED when the 201 arrived)`, own));
    console.log(line(`the other instance's ${other.length.toLocaleString('en')} blocks`, theirs));
  });
  all.sort((a, b) => a - b);
  const within = all.filter((x) => x <= TARGET_MS).length / Math.max(1, all.length);
  const owed = await db.selectFrom('devices_classification_pending').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst();
  console.log(`every block on every instance (${all.length.toLocaleString('en')} answers): p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms, max ${percentile(all, 100).toFixed(1)} ms`);
  console.log(`within ${TARGET_MS} ms: ${(within * 100).toFixed(2)} % (ratio ${within.toFixed(4)}); classifications still owed after the run: ${Number(owed?.n ?? 0).toLocaleString('en')}`);

  agent.destroy();
  for (const instance of instances) await instance.close();
  for (const bus of new Set(buses)) await bus.close();
  for (const database of databases) await database.close();
  return { p50: percentile(all, 50), p99: percentile(all, 99), max: percentile(all, 100), withinTarget: within };
}
