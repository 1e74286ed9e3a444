import { randomBytes, randomInt } from 'node:crypto';
import { Agent, request } from 'node:http';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { systemContext } from '../src/core/auth/principal.js';
import { openDatabase } from '../src/core/db/database.js';
import { migrateToLatest } from '../src/core/db/migrate.js';
import { createMemoryBus } from '../src/core/events/memory-bus.js';
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
  base: string;
  /** Told right after a 201: from now on the instance looks for BLACKLISTED (in this thread it looks at once). */
  watch(imei: string, ackedAt: number): void;
  /** Ms from each watched block's 201 until this instance answered BLACKLISTED (Infinity: not within `settleMs`). */
  finish(settleMs: number): Promise<Map<string, number>>;
  close(): Promise<void>;
}

interface Block {
  imei: string;
  sentAt: number;
  ackedAt: number | null;
  by: number;
}

const epochMs = () => performance.timeOrigin + performance.now();

/** An instance whose services run in this thread: its EIR is asked every millisecond about the blocks watched. */
function inThread(name: string, services: Services, base: string, close: () => Promise<void>): Instance {
  const open = new Map<string, number>();
  const seen = new Map<string, number>();
  const isBlack = (imei: string) => {
    const answer = services.devices.eir.equipmentStatus(`imei-${imei}`, undefined);
    return !(answer instanceof Promise) && 'status' in answer && answer.status === 'BLACKLISTED';
  };
  const look = () => {
    const now = epochMs();
    for (const [imei, ackedAt] of open) {
      if (!isBlack(imei)) continue;
      seen.set(imei, Math.max(0, now - ackedAt));
      open.delete(imei);
    }
  };
  const watcher = setInterval(look, 1);
  return {
    name,
    base,
    watch(imei, ackedAt) {
      open.set(imei, ackedAt);
      look();
    },
    async finish(settleMs) {
      const until = epochMs() + settleMs;
      while (open.size && epochMs() < until) await new Promise((resolve) => setTimeout(resolve, 10));
      clearInterval(watcher);
      for (const imei of open.keys()) seen.set(imei, Infinity);
      return seen;
    },
    close,
  };
}

/** An instance in a worker thread of its own (eir-propagation-instance.ts), on PostgreSQL and NATS. */
async function inWorker(name: string, start: Record<string, string>): Promise<Instance> {
  const worker = new Worker(new URL('./eir-propagation-instance.js', import.meta.url), { workerData: start });
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const { base } = await next<{ base: string }>();
  return {
    name,
    base,
    watch: (imei, ackedAt) => worker.postMessage({ watch: imei, ackedAt }),
    async finish(settleMs) {
      const answer = next<{ seen: [string, number][]; never: string[] }>();
      worker.postMessage({ finish: settleMs });
      const { seen, never } = await answer;
      return new Map([...seen, ...never.map((imei): [string, number] => [imei, Infinity])]);
    },
    async close() {
      const closed = next();
      worker.postMessage({ close: true });
      await closed;
      await worker.terminate();
    },
  };
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);

/**
 * Two instances. With DATABASE_URL and NATS_URL each runs in a worker thread of its own (its own event loop, pool and
 * NATS connection, on a JetStream stream of the benchmark's own), as two processes would; without them both run in
 * this thread on one in-memory PGlite and one in-process bus. Blocks are POSTed over HTTP, alternately to each
 * instance, at RATE per second for SECONDS; each instance's EIR is asked (in its thread, the function its route
 * answers from) about every acknowledged block every millisecond until it answers BLACKLISTED. Prints the delay from
 * the 201 to that answer per instance: p50, p99, max, and the share within 1 s.
 */
export async function run(): Promise<{ p50: number; p99: number; max: number; withinTarget: number }> {
  const logger = pino({ level: 'silent' });
  const url = process.env.DATABASE_URL;
  const natsUrl = process.env.NATS_URL;
  const threads = Boolean(url && natsUrl);
  const database = url ? await openDatabase({ kind: 'postgres', url }) : await openDatabase({ kind: 'pglite' });
  await migrateToLatest(database.db);
  const db = database.db;
  const secret = randomBytes(32).toString('base64url');
  const bus = createMemoryBus(logger);
  // In this thread: the services the benchmark seeds with (and, without PostgreSQL + NATS, both instances).
  const local = (threads ? [0] : [0, 1]).map(() => createServices({ database, bus, logger, secret }));
  console.log(
    threads
      ? `database: PostgreSQL (DATABASE_URL); bus: NATS JetStream (NATS_URL); each instance in a worker thread with its own pool and NATS connection; node ${process.version}`
      : `database: PGlite in memory; bus: in-process; both instances in this thread, sharing them; node ${process.version}`,
  );

  // A TAC of this run's own, so blocks of earlier runs on the same database do not meet this one's.
  const tac = `35${String(randomInt(1_000_000)).padStart(6, '0')}`;
  await db
    .insertInto('devices_tac')
    .values({ tac, manufacturer: 'Bench', model_name: 'Propagation' })
    .onConflict((oc) => oc.column('tac').doNothing())
    .execute();
  await db.deleteFrom('devices_stolen').where('imei14', 'like', `${tac}%`).execute();
  const ctx = systemContext('bench eir propagation');
  await local[0]!.auth.ensureOrg(ctx, { name: 'Bench Police', kind: 'police' });
  const key = await local[0]!.auth.createApiKey(ctx, { org: 'Bench Police', scopes: ['devices:block'] });
  const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };

  const instances: Instance[] = [];
  for (const i of [0, 1]) {
    const name = `instance ${i + 1}`;
    if (threads) {
      instances.push(await inWorker(name, { databaseUrl: url!, natsUrl: natsUrl!, stream: 'QALQAN_BENCH_EIR', subjectPrefix: 'qalqan-bench-eir', secret }));
      continue;
    }
    const services = local[i]!;
    const { app } = await createHttpServer(services);
    await app.listen({ host: '127.0.0.1', port: 0 });
    services.relay.start();
    instances.push(
      inThread(name, services, loopbackBase(app.server), async () => {
        await app.close();
        services.eir.stop();
        await services.voice.stop();
        await services.relay.stop();
      }),
    );
  }

  const total = Math.round(RATE * SECONDS);
  const blocks: Block[] = [];
  const failures: string[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const post = (base: string, body: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${base}/api/v1/devices/stolen`,
        { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  async function send(b: Block): Promise<void> {
    try {
      const res = await post(instances[b.by]!.base, JSON.stringify({ imei: b.imei, caseNumber: `BENCH-${b.imei.slice(8)}` }));
      if (res.status !== 201) throw new Error(`${res.status} ${res.body.slice(0, 200)}`);
      b.ackedAt = epochMs();
      for (const instance of instances) instance.watch(b.imei, b.ackedAt);
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
      const b: Block = { imei: toImei15(tac + String(sent).padStart(6, '0')), sentAt: epochMs(), ackedAt: null, by: sent % 2 };
      blocks.push(b);
      inFlight.push(send(b));
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  await Promise.all(inFlight);
  const sendSeconds = (performance.now() - started) / 1000;
  const seenBy = await Promise.all(instances.map((instance) => instance.finish(SETTLE_MS)));

  const acked = blocks.filter((b) => b.ackedAt !== null);
  const ackMs = acked.map((b) => b.ackedAt! - b.sentAt).sort((a, b) => a - b);
  console.log(
    `sent ${total.toLocaleString('en')} blocks in ${sendSeconds.toFixed(1)} s (${Math.round(total / sendSeconds)}/s offered), ${acked.length.toLocaleString('en')} answered 201, ${failures.length} failed${failures.length ? ` (first: ${failures[0]})` : ''}`,
  );
  console.log(
    `  201 answered in p50 ${percentile(ackMs, 50).toFixed(1)} ms, p99 ${percentile(ackMs, 99).toFixed(1)} ms, max ${percentile(ackMs, 100).toFixed(1)} ms`,
  );
  const all: number[] = [];
  instances.forEach((instance, i) => {
    const lateness = (list: Block[]) => list.map((b) => seenBy[i]!.get(b.imei) ?? Infinity).sort((x, y) => x - y);
    const own = lateness(acked.filter((b) => b.by === i));
    const theirs = lateness(acked.filter((b) => b.by !== i));
    all.push(...own, ...theirs);
    const line = (label: string, l: number[]) =>
      `  ${instance.name}, ${label}: p50 ${percentile(l, 50).toFixed(1)} ms, p99 ${percentile(l, 99).toFixed(1)} ms, max ${percentile(l, 100).toFixed(1)} ms, never ${l.filter((x) => x === Infinity).length}`;
    console.log(line(`its own ${own.length.toLocaleString('en')} blocks`, own));
    console.log(line(`the other instance's ${theirs.length.toLocaleString('en')} blocks`, theirs));
  });
  all.sort((a, b) => a - b);
  const within = all.filter((x) => x <= TARGET_MS).length / Math.max(1, all.length);
  const owed = await db
    .selectFrom('devices_classification_pending')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirst();
  console.log(
    `every block on every instance (${all.length.toLocaleString('en')} answers): p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms, max ${percentile(all, 100).toFixed(1)} ms`,
  );
  console.log(
    `within ${TARGET_MS} ms: ${(within * 100).toFixed(2)} % (ratio ${within.toFixed(4)}); classifications still owed after the run: ${Number(owed?.n ?? 0).toLocaleString('en')}`,
  );

  agent.destroy();
  for (const instance of instances) await instance.close();
  await bus.close();
  await database.close();
  return { p50: percentile(all, 50), p99: percentile(all, 99), max: percentile(all, 100), withinTarget: within };
}
