import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { sql } from 'kysely';
import { actingFor, systemContext } from '../src/core/auth/principal.js';
import { openDatabase } from '../src/core/db/database.js';
import { migrateToLatest } from '../src/core/db/migrate.js';
import { createMemoryBus } from '../src/core/events/memory-bus.js';
import { toImei15 } from '../src/identifiers/imei.js';
import { kzDay } from '../src/modules/devices/network/days.js';
import { createHttpServer, createServices } from '../src/server.js';
import { loopbackBase } from './harness.js';
import { observationsByDay } from './observations.js';

export const description =
  'EIR, call screening and /healthz latency and the event loop’s delay on the embedded database while BENCH_OBSERVATIONS (1 M) observation rows are imported and classified, against idle';

const ROWS = Number(process.env.BENCH_OBSERVATIONS ?? 1_000_000);
/** Each (IMEI, IMSI) pair is seen on about this many of the 30 days. */
const REPEATS = 10;
const DAYS = 30;
const REGISTERED = 200_000;
const ROAMING = 10_000;
const TAC = '35332811';
/** Known TAC with nothing registered: devices seen with it are classified grey (not registered). */
const GREY_TAC = '35332999';
/** Each probe client asks again this many ms after its answer. */
const PROBE_EVERY_MS = 5;
const IDLE_MS = 5_000;
/** How long the probe goes on after the import returned (the EIR applying what the classification announced). */
const AFTER_MS = 5_000;
const LAG_EVERY_MS = 10;
const TARGET_P99_MS = 50;

/**
 * The probe: its own thread and event loop, so a stall of the server's thread shows as latency. Closed loop: 2
 * clients asking the EIR, 2 screening calls, 1 asking /healthz, each asking again 5 ms after its answer, as a network
 * function with a few connections would; a stalled server makes each answer late instead of piling requests up.
 */
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Agent, request } = require('node:http');
const agent = new Agent({ keepAlive: true, maxSockets: 5 });
const samples = [];
let i = 0;
let stopped = false;
const eir = () => ({ method: 'GET', path: '/n5g-eir-eic/v1/equipment-status?pei=imei-' + workerData.peis[i++ % workerData.peis.length], headers: { authorization: workerData.authorization } });
const voice = () => ({ method: 'POST', path: '/api/v1/voice/screen', body: workerData.calls[i++ % workerData.calls.length], headers: { authorization: workerData.authorization, 'content-type': 'application/json' } });
const healthz = () => ({ method: 'GET', path: '/healthz', headers: {} });
const asks = [eir, voice, healthz];
function ask(kind) {
  if (stopped) return;
  const q = asks[kind]();
  const at = Date.now();
  const started = performance.now();
  const again = (status) => {
    samples.push([kind, at, performance.now() - started, status]);
    setTimeout(() => ask(kind), workerData.everyMs);
  };
  const req = request(workerData.base + q.path, { method: q.method, agent, headers: q.headers }, (res) => {
    res.resume();
    res.on('end', () => again(res.statusCode));
  });
  req.on('error', () => again(0));
  req.end(q.body);
}
for (const kind of [0, 0, 1, 1, 2]) ask(kind);
parentPort.on('message', () => {
  stopped = true;
  setTimeout(() => { parentPort.postMessage(samples); agent.destroy(); }, 1000);
});
`;

type Sample = [kind: 0 | 1 | 2, at: number, ms: number, status: number];
const KINDS = ['EIR     ', 'screen  ', '/healthz'] as const;

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);

/** Rows `date,imei,imsi,msisdn,rat`, oldest day first: 80 % of devices registered, the rest unregistered (grey). */
function observationsCsv(rows: number, today: string): Generator<string> {
  const pairs = Math.max(1, Math.round(rows / REPEATS));
  return observationsByDay({ rows, pairs, days: DAYS, today, seed: 20261207 }, (p, date) => {
    const imei14 = p % 5 === 4 ? GREY_TAC + String(p % 1_000_000).padStart(6, '0') : TAC + String(p % REGISTERED).padStart(6, '0');
    return `${date},${imei14}0,40102${String(p).padStart(10, '0')},+7701${String(p % 10_000_000).padStart(7, '0')},LTE\n`;
  });
}

const mobile = (i: number) => `+7701${String(i).padStart(7, '0')}`;

/** Calls to screen: roamers from abroad (allowed), spoofed Kazakh mobiles (blocked), Russian numbers, domestic calls. */
function calls(): string[] {
  return Array.from({ length: 200 }, (_, i) => {
    const r = i % 4;
    const call =
      r === 0
        ? { callingNumber: mobile((i * 7919) % ROAMING), ingress: 'international' }
        : r === 1
          ? { callingNumber: `+7702${String(i).padStart(7, '0')}`, ingress: 'international' }
          : r === 2
            ? { callingNumber: `+7916${String(i).padStart(7, '0')}`, ingress: 'international' }
            : { callingNumber: `8 705 ${String(i).padStart(7, '0')}`, ingress: 'domestic' };
    return JSON.stringify({ ...call, calledNumber: '+77017654321' });
  });
}

/**
 * The embedded default (PGlite with its data directory, in this process, in-process bus) with REGISTERED registrations
 * and ROAMING roaming subscribers, answering the EIR and call screening over HTTP while one operator's ROWS observation
 * rows are imported from a file and the devices seen are classified. A probe thread asks without pause: before the
 * import (idle), while the file is read and COPYed into staging, while the staged rows are merged, while the devices
 * seen are classified, and for 5 s after; each ask is counted in the phase it started in. A 10 ms timer on this
 * thread records how late it fires (the event loop's delay), so each phase's longest stall shows which work blocks.
 */
export async function run(): Promise<{ p99Ms: Record<string, number> }> {
  if (!Number.isInteger(ROWS) || ROWS < 1) throw new Error('BENCH_OBSERVATIONS must be a whole number ≥ 1');
  const dir = mkdtempSync(join(tmpdir(), 'bench-eir-import-'));
  const logger = pino({ level: 'silent' });
  const database = await openDatabase({ kind: 'pglite', dataDir: join(dir, 'pgdata') });
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
  const system = systemContext('bench eir during import');
  const operator = await services.auth.ensureOrg(system, { name: 'Bench Operator', kind: 'operator' });
  const key = await services.auth.createApiKey(system, { org: operator.name, scopes: ['devices:check', 'voice:screen'] });
  await services.voice.reference.putRangeHolder(system, '701', operator.name);
  const asOperator = actingFor(system, operator);
  for (let from = 0; from < ROAMING; from += 10_000) {
    const entries = Array.from({ length: Math.min(10_000, ROAMING - from) }, (_, i) => ({ msisdn: mobile(from + i), roaming: true, country: 'TR' }));
    await services.voice.reference.putRoaming(asOperator, entries);
  }
  const { app } = await createHttpServer(services);
  await app.listen({ host: '127.0.0.1', port: 0 });
  await services.eir.reload();
  services.relay.start();

  const file = join(dir, 'observations.csv');
  await pipeline(Readable.from(observationsCsv(ROWS, kzDay(services.clock()))), createWriteStream(file));
  const size = statSync(file).size;
  const peis = Array.from({ length: 1_000 }, (_, i) =>
    toImei15(i % 3 === 2 ? GREY_TAC + String(i).padStart(6, '0') : TAC + String((i * 7919) % REGISTERED).padStart(6, '0')),
  );
  console.log(
    `database: PGlite with its data directory (the embedded default), this process; ${REGISTERED.toLocaleString('en')} registrations, ${ROAMING.toLocaleString('en')} roaming subscribers; ${ROWS.toLocaleString('en')} rows, ${(size / 2 ** 20).toFixed(0)} MiB of CSV; node ${process.version}`,
  );

  const lags: [at: number, ms: number][] = [];
  let expected = Date.now() + LAG_EVERY_MS;
  const lagTimer = setInterval(() => {
    const now = Date.now();
    lags.push([now, Math.max(0, now - expected)]);
    expected = now + LAG_EVERY_MS;
  }, LAG_EVERY_MS);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const probe = new Worker(PROBE, {
    eval: true,
    workerData: { base: loopbackBase(app.server), peis, calls: calls(), authorization: `Bearer ${key.key}`, everyMs: PROBE_EVERY_MS },
  });
  const samples = new Promise<Sample[]>((resolve) => probe.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const idleLoop = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
  loop.reset();
  const importStarted = Date.now();
  let stagedAt = importStarted;
  let nextTenth = ROWS / 10;
  console.error(`importing ${ROWS.toLocaleString('en')} observation rows`);
  const report = await services.devices.network.importObservations(actingFor(system, operator), {
    input: createReadStream(file),
    onProgress: ({ rows }) => {
      stagedAt = Date.now();
      if (rows >= nextTenth) {
        console.error(`  ${rows.toLocaleString('en')} rows staged, ${((stagedAt - importStarted) / 1000).toFixed(0)} s`);
        nextTenth += ROWS / 10;
      }
    },
  });
  const done = Date.now();
  const importLoop = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
  await new Promise((resolve) => setTimeout(resolve, AFTER_MS));
  const end = Date.now();
  loop.disable();
  clearInterval(lagTimer);
  probe.postMessage('stop');
  const all = await samples;
  await probe.terminate();
  if (!report.committed) throw new Error(`the import was not committed: ${report.refusal ?? JSON.stringify(report.errors.slice(0, 3))}`);
  // The import's report times read + check + stage + merge + commit; the classification follows it.
  const mergedAt = Math.min(done, importStarted + report.seconds * 1000);
  const c = report.classification!;
  console.log(
    `imported ${report.rows.toLocaleString('en')} rows (${report.newPairs.toLocaleString('en')} pairs): read + check + COPY into staging ${((stagedAt - importStarted) / 1000).toFixed(1)} s, merge + commit ${((mergedAt - stagedAt) / 1000).toFixed(1)} s; classified ${c.examined.toLocaleString('en')} devices (grey ${c.grey.toLocaleString('en')}, black ${c.black.toLocaleString('en')}; lists +${c.lists.added.toLocaleString('en')}) in ${((done - mergedAt) / 1000).toFixed(1)} s`,
  );

  const phases: [string, number, number][] = [
    ['idle, before the import', 0, importStarted],
    ['read + check + COPY into staging', importStarted, stagedAt],
    ['merge of the staged rows + commit', stagedAt, mergedAt],
    ['classification of the devices seen', mergedAt, done],
    [`the ${AFTER_MS / 1000} s after the import returned`, done, end],
    ['the whole import', importStarted, done],
  ];
  const stats = (kind: 0 | 1 | 2, from: number, to: number) => {
    const within = all.filter((s) => s[0] === kind && s[1] >= from && s[1] < to);
    const ms = within.map((s) => s[2]).sort((a, b) => a - b);
    return { n: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: percentile(ms, 100), failed: within.filter((s) => s[3] !== 200).length };
  };
  const lagStats = (from: number, to: number) => {
    const ms = lags
      .filter(([at]) => at >= from && at < to)
      .map(([, lag]) => lag)
      .sort((a, b) => a - b);
    return `event loop delay (10 ms timer) p99 ${percentile(ms, 99).toFixed(0)} ms, max ${percentile(ms, 100).toFixed(0)} ms, ${ms.filter((m) => m > TARGET_P99_MS).length} stalls over ${TARGET_P99_MS} ms`;
  };
  const line = (s: ReturnType<typeof stats>) =>
    `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (${s.n.toLocaleString('en')} asked${s.failed ? `, ${s.failed} not 200` : ''})`;
  for (const [name, from, to] of phases) {
    console.log(`${name} (${((to - (from || to - IDLE_MS)) / 1000).toFixed(1)} s):`);
    for (const kind of [0, 1, 2] as const) console.log(`  ${KINDS[kind]} ${line(stats(kind, from, to))}`);
    console.log(`  ${lagStats(from || to - IDLE_MS, to)}`);
  }
  console.log(
    `monitorEventLoopDelay: idle p99 ${idleLoop.p99.toFixed(1)} ms, max ${idleLoop.max.toFixed(1)} ms; during the import p99 ${importLoop.p99.toFixed(1)} ms, max ${importLoop.max.toFixed(1)} ms`,
  );
  const whole = { eir: stats(0, importStarted, done).p99, screen: stats(1, importStarted, done).p99 };
  console.log(
    `p99 during the whole import: EIR ${whole.eir.toFixed(1)} ms (idle ${stats(0, 0, importStarted).p99.toFixed(1)} ms), call screening ${whole.screen.toFixed(1)} ms (idle ${stats(1, 0, importStarted).p99.toFixed(1)} ms); target < ${TARGET_P99_MS} ms: ${whole.eir < TARGET_P99_MS && whole.screen < TARGET_P99_MS ? 'met' : 'missed'}`,
  );

  await app.close();
  services.eir.stop();
  await services.voice.stop();
  await services.relay.stop();
  await bus.close();
  await database.close();
  rmSync(dir, { recursive: true, force: true });
  return { p99Ms: whole };
}
