import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { sql } from 'kysely';
import { systemContext, type RequestContext } from '../src/core/auth/principal.js';
import { openDatabase } from '../src/core/db/database.js';
import { migrateToLatest } from '../src/core/db/migrate.js';
import { createMemoryBus } from '../src/core/events/memory-bus.js';
import { toImei15 } from '../src/identifiers/imei.js';
import { kzDay } from '../src/modules/devices/network/days.js';
import { createHttpServer, createServices } from '../src/server.js';
import { loopbackBase } from './harness.js';
import { observationsByDay } from './observations.js';

export const description = 'EIR and /healthz latency on the embedded database while BENCH_OBSERVATIONS (500 k) observation rows are imported and classified';

const ROWS = Number(process.env.BENCH_OBSERVATIONS ?? 500_000);
/** Each (IMEI, IMSI) pair is seen on about this many of the 30 days. */
const REPEATS = 10;
const DAYS = 30;
const REGISTERED = 200_000;
const TAC = '35332811';
/** Known TAC with nothing registered: devices seen with it are classified grey (not registered). */
const GREY_TAC = '35332999';
/** Each probe client asks again this many ms after its answer. */
const PROBE_EVERY_MS = 5;
const IDLE_MS = 5_000;

/**
 * The probe: its own thread and event loop, so a stall of the server's thread shows as latency. Closed loop: a few
 * clients (2 asking the EIR, 1 /healthz), each asking again 5 ms after its answer, as a network function with a few
 * connections would; a stalled server makes each answer late instead of piling up requests behind it.
 */
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Agent, request } = require('node:http');
const agent = new Agent({ keepAlive: true, maxSockets: 3 });
const samples = [];
let i = 0;
let stopped = false;
function ask(kind, path, headers) {
  if (stopped) return;
  const at = Date.now();
  const started = performance.now();
  const again = (status) => {
    samples.push([kind, at, performance.now() - started, status]);
    setTimeout(() => ask(kind, kind === 0 ? eirPath() : path, headers), workerData.everyMs);
  };
  const req = request(workerData.base + path, { agent, headers }, (res) => {
    res.resume();
    res.on('end', () => again(res.statusCode));
  });
  req.on('error', () => again(0));
  req.end();
}
const eirPath = () => '/n5g-eir-eic/v1/equipment-status?pei=imei-' + workerData.peis[i++ % workerData.peis.length];
ask(0, eirPath(), { authorization: workerData.authorization });
ask(0, eirPath(), { authorization: workerData.authorization });
ask(1, '/healthz', {});
parentPort.on('message', () => {
  stopped = true;
  setTimeout(() => { parentPort.postMessage(samples); agent.destroy(); }, 1000);
});
`;

type Sample = [kind: 0 | 1, at: number, ms: number, status: number];

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);

/** Rows `date,imei,imsi,msisdn,rat`, oldest day first: 80 % of devices registered, the rest unregistered (grey). */
function observationsCsv(rows: number, today: string): Generator<string> {
  const pairs = Math.max(1, Math.round(rows / REPEATS));
  return observationsByDay({ rows, pairs, days: DAYS, today, seed: 20261207 }, (p, date) => {
    const imei14 = p % 5 === 4 ? GREY_TAC + String(p % 1_000_000).padStart(6, '0') : TAC + String(p % REGISTERED).padStart(6, '0');
    return `${date},${imei14}0,40102${String(p).padStart(10, '0')},+7701${String(p % 10_000_000).padStart(7, '0')},LTE\n`;
  });
}

/**
 * The embedded default (PGlite in this process, in-process bus) with REGISTERED registrations, answering the EIR over
 * HTTP while one operator's ROWS observation rows are imported and the devices seen are classified. A probe thread
 * asks the EIR (a mix of white, grey and black PEIs) and /healthz without pause: before the import (idle), while the
 * file streams in, and while the classification after it runs; each ask is counted in the phase it started in.
 * Prints p50/p99/max per phase and the EIR's p99 while the import's devices are classified against idle as a ratio.
 */
export async function run(): Promise<{ classifyingP99Ms: number; idleP99Ms: number }> {
  const logger = pino({ level: 'silent' });
  const database = await openDatabase({ kind: 'pglite' });
  const bus = createMemoryBus(logger);
  await migrateToLatest(database.db);
  const services = createServices({ database, bus, logger, secret: randomBytes(32).toString('base64url') });
  const db = database.db;
  await db
    .insertInto('devices_tac')
    .values([
      { tac: TAC, manufacturer: 'Bench', model_name: 'Registered' },
      { tac: GREY_TAC, manufacturer: 'Bench', model_name: 'Unregistered' },
    ])
    .execute();
  await sql`insert into devices_registrations (imei14, imei, source)
    select ${TAC} || lpad(i::text, 6, '0'), ${TAC} || lpad(i::text, 6, '0') || '0', 'importer' from generate_series(0, ${REGISTERED - 1}) as i`.execute(db);
  await sql`insert into devices_stolen (imei14, case_number, source) select imei14, 'bench', 'police' from devices_registrations where right(imei14, 2) = '07'`.execute(
    db,
  );
  const { app } = await createHttpServer(services);
  await app.listen({ host: '127.0.0.1', port: 0 });
  await services.eir.reload();
  services.relay.start();

  const system = systemContext('bench eir during import');
  const operator = await services.auth.ensureOrg(system, { name: 'Bench Operator', kind: 'operator' });
  const key = await services.auth.createApiKey(system, { org: 'Bench Operator', scopes: ['devices:check'] });
  const ctx: RequestContext = { ...system, principal: { ...system.principal, orgId: operator.id, orgKind: 'operator' } };
  const peis = Array.from({ length: 1_000 }, (_, i) =>
    toImei15(i % 3 === 2 ? GREY_TAC + String(i).padStart(6, '0') : TAC + String((i * 7919) % REGISTERED).padStart(6, '0')),
  );
  console.log(`database: PGlite in memory (the embedded default); ${REGISTERED.toLocaleString('en')} registrations; node ${process.version}`);

  const probe = new Worker(PROBE, {
    eval: true,
    workerData: { base: loopbackBase(app.server), peis, authorization: `Bearer ${key.key}`, everyMs: PROBE_EVERY_MS },
  });
  const samples = new Promise<Sample[]>((resolve) => probe.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const importStarted = Date.now();
  let streamedAt = importStarted;
  console.error(`importing ${ROWS.toLocaleString('en')} observation rows`);
  const report = await services.devices.network.importObservations(ctx, {
    input: Readable.from(observationsCsv(ROWS, kzDay(services.clock())), { objectMode: false }),
    onProgress: () => (streamedAt = Date.now()),
  });
  const done = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  probe.postMessage('stop');
  const all = await samples;
  await probe.terminate();
  if (!report.committed) throw new Error(`the import was not committed: ${report.refusal ?? JSON.stringify(report.errors.slice(0, 3))}`);
  const c = report.classification!;
  console.log(
    `imported ${report.rows.toLocaleString('en')} rows (${report.newPairs.toLocaleString('en')} pairs) in ${((streamedAt - importStarted) / 1000).toFixed(1)} s; classified ${c.examined.toLocaleString('en')} devices (grey ${c.grey.toLocaleString('en')}, black ${c.black.toLocaleString('en')}; lists +${c.lists.added.toLocaleString('en')}) in ${((done - streamedAt) / 1000).toFixed(1)} s`,
  );

  const phases: [string, number, number][] = [
    ['idle, before the import', 0, importStarted],
    ['while the file streams in', importStarted, streamedAt],
    ['while the devices seen are classified', streamedAt, done],
    ['the whole import', importStarted, done],
  ];
  const stats = (kind: 0 | 1, from: number, to: number) => {
    const ms = all
      .filter((s) => s[0] === kind && s[1] >= from && s[1] < to)
      .map((s) => s[2])
      .sort((a, b) => a - b);
    const failed = all.filter((s) => s[0] === kind && s[1] >= from && s[1] < to && s[3] !== 200).length;
    return { n: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: percentile(ms, 100), failed };
  };
  const line = (s: ReturnType<typeof stats>) =>
    `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (${s.n.toLocaleString('en')} asked${s.failed ? `, ${s.failed} not 200` : ''})`;
  for (const [name, from, to] of phases) {
    console.log(`${name}:`);
    console.log(`  EIR      ${line(stats(0, from, to))}`);
    console.log(`  /healthz ${line(stats(1, from, to))}`);
  }
  const idle = stats(0, 0, importStarted);
  const classifying = stats(0, streamedAt, done);
  const streaming = stats(0, importStarted, streamedAt);
  console.log(
    `EIR p99 while the import's devices are classified ${classifying.p99.toFixed(1)} ms vs idle ${idle.p99.toFixed(1)} ms (ratio ${(classifying.p99 / idle.p99).toFixed(1)}); longest EIR answer while the file streamed in ${streaming.max.toFixed(0)} ms`,
  );

  await app.close();
  services.eir.stop();
  await services.relay.stop();
  await bus.close();
  await database.close();
  return { classifyingP99Ms: classifying.p99, idleP99Ms: idle.p99 };
}
