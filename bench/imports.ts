import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { sql, type Kysely } from 'kysely';
import { systemContext } from '../src/core/auth/principal.js';
import { openDatabase } from '../src/core/db/database.js';
import type { DB } from '../src/core/db/types.js';
import { migrateToLatest } from '../src/core/db/migrate.js';
import { createMemoryBus } from '../src/core/events/memory-bus.js';
import type { ImportReport } from '../src/core/imports/csv-import.js';
import { toImei15 } from '../src/identifiers/imei.js';
import { kzDay } from '../src/modules/devices/network/days.js';
import { createServices } from '../src/server.js';
import { observationsByDay } from './observations.js';

export const description =
  'CSV imports through the services: BENCH_REGISTRATIONS (1 M) registrations, then BENCH_OBSERVATIONS (10 M) observation rows; rows/s and memory';

const REGISTRATIONS = Number(process.env.BENCH_REGISTRATIONS ?? 1_000_000);
const OBSERVATIONS = Number(process.env.BENCH_OBSERVATIONS ?? 10_000_000);

/** Registered IMEIs are spread over these TACs (interleaved, as a mixed shipment would be): up to 8 M IMEIs. */
const REG_TACS = ['35332811', '35290611', '86753003', '35875309', '35407115', '86891204', '35925406', '35328115'];
/** A TAC in the database under which nothing is registered: devices seen with it are unregistered. */
const UNREG_TAC = '35332999';
/** A TAC that is not in the database at all. */
const UNKNOWN_TAC = '86999999';
/** Each (IMEI, IMSI) pair appears on about this many of the 30 days. */
const REPEATS = 10;
const DAYS = 30;
/** Lines per chunk of the generated stream (≈ 40–60 KB, about what a file read yields). */
const LINES_PER_CHUNK = 1_000;

const ImporterOrg = 'Bench Importer';
const OperatorOrg = 'Bench Operator';

const TAC_FILE = ['tac|manufacturer|model_name|bands|allocation_date|device_type']
  .concat(REG_TACS.map((tac, i) => `${tac}|Bench|Model ${i + 1}|GSM 900/1800, LTE, NR|2023-01-01|Smartphone`))
  .concat([`${UNREG_TAC}|Bench|Unregistered model|GSM 900/1800, LTE|2023-01-01|Smartphone`])
  .join('\n')
  .concat('\n');

/** Registered IMEI number i (14 digits, TAC + SNR). */
function regImei14(i: number): string {
  return REG_TACS[i % REG_TACS.length]! + String(Math.floor(i / REG_TACS.length)).padStart(6, '0');
}

/** CSV `imei,reference`, generated line by line: the file never exists in memory. */
function* registrationsCsv(count: number): Generator<string> {
  let chunk = 'imei,reference\n';
  let lines = 0;
  for (let i = 0; i < count; i++) {
    chunk += `${toImei15(regImei14(i))},DT-BENCH-${Math.floor(i / 10_000)}\n`;
    if (++lines === LINES_PER_CHUNK) {
      yield chunk;
      chunk = '';
      lines = 0;
    }
  }
  if (chunk) yield chunk;
}

interface ObservationShape {
  pairs: number;
  devices: number;
}

/**
 * Pairs and devices behind `rows` observation rows: each pair is seen on ~REPEATS days; 95 % of pairs are the only
 * SIM in their device, the other 5 % a second SIM in one of them.
 */
function observationShape(rows: number): ObservationShape {
  const pairs = Math.max(1, Math.round(rows / REPEATS));
  return { pairs, devices: Math.max(1, Math.ceil(pairs * 0.95)) };
}

/** Device d's IMEI (14 digits): 80 % registered, 15 % under a known TAC but unregistered, 5 % under an unknown TAC. */
function deviceImei14(d: number, registered: number): string {
  const r = d % 20;
  if (r < 16 && registered > 0) return regImei14(d % registered);
  return (r === 19 ? UNKNOWN_TAC : UNREG_TAC) + String(d % 1_000_000).padStart(6, '0');
}

const RATS = ['LTE', 'NR', 'LTE', 'UMTS', 'GSM'];

/**
 * CSV `date,imei,imsi,msisdn,rat`, one day after the other (oldest first), generated line by line. A row's pair is
 * drawn at random from the pairs, so a pair recurs on ~REPEATS days and its first/last seen move forward. IMEIs
 * carry a spare trailing 0, as networks send them; IMSIs are Kcell's (401 02); 5 % of rows have no MSISDN.
 */
function observationsCsv(rows: number, registered: number, today: string): Generator<string> {
  const { pairs, devices } = observationShape(rows);
  return observationsByDay({ rows, pairs, days: DAYS, today, seed: 20261130 }, (p, date) => {
    const device = p < devices ? p : p - devices;
    const msisdn = p % 20 === 7 ? '' : `+7701${String(p % 10_000_000).padStart(7, '0')}`;
    return `${date},${deviceImei14(device, registered)}0,40102${String(p).padStart(10, '0')},${msisdn},${RATS[p % RATS.length]}\n`;
  });
}

/** The main thread's time on a CPU and waiting for one, in ns (Linux schedstat), or null elsewhere. */
function schedstat(): { runNs: number; waitNs: number } | null {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return run !== undefined && wait !== undefined && Number.isFinite(run) && Number.isFinite(wait) ? { runNs: run, waitNs: wait } : null;
  } catch {
    return null;
  }
}

const MiB = 2 ** 20;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

interface MemorySummary {
  rssStart: number;
  rssPeak: number;
  heapStart: number;
  heapPeak: number;
  /** ArrayBuffers (PGlite's in-memory files live here), start and peak. */
  buffersStart: number;
  buffersPeak: number;
  /** Samples taken by the 250 ms timer (each progress callback samples too). */
  timerSamples: number;
  /** The longest stretch in which the 250 ms timer could not run (the import kept the event loop busy), ms. */
  longestTimerGapMs: number;
}

/** Samples process.memoryUsage() every 250 ms (and on demand) and keeps the peaks. */
function memorySampler() {
  const first = process.memoryUsage();
  const m: MemorySummary = {
    rssStart: first.rss,
    rssPeak: first.rss,
    heapStart: first.heapUsed,
    heapPeak: first.heapUsed,
    buffersStart: first.arrayBuffers,
    buffersPeak: first.arrayBuffers,
    timerSamples: 0,
    longestTimerGapMs: 0,
  };
  let lastTick = performance.now();
  const tick = () => {
    const now = performance.now();
    m.longestTimerGapMs = Math.max(m.longestTimerGapMs, now - lastTick - 250);
    lastTick = now;
  };
  const sample = () => {
    const u = process.memoryUsage();
    m.rssPeak = Math.max(m.rssPeak, u.rss);
    m.heapPeak = Math.max(m.heapPeak, u.heapUsed);
    m.buffersPeak = Math.max(m.buffersPeak, u.arrayBuffers);
    return u;
  };
  const timer = setInterval(() => {
    tick();
    m.timerSamples++;
    sample();
  }, 250);
  timer.unref();
  return {
    sample,
    stop(): MemorySummary {
      clearInterval(timer);
      tick();
      sample();
      return m;
    },
  };
}

/** A progress callback that prints a line to stderr at every 10 % with the rate and the memory at that moment. */
function progressPrinter(label: string, total: number, started: number, sample: () => NodeJS.MemoryUsage) {
  let next = 1;
  const state = { lastRows: 0, lastAt: started };
  const onProgress = (rows: number) => {
    sample();
    state.lastRows = rows;
    state.lastAt = performance.now();
    while (next <= 10 && rows >= (total * next) / 10) {
      const seconds = (state.lastAt - started) / 1000;
      const u = process.memoryUsage();
      console.error(
        `  ${label}: ${String(next * 10).padStart(3)} %  ${rows.toLocaleString('en')} rows  ${seconds.toFixed(1)} s  ${Math.round(rows / seconds).toLocaleString('en')} rows/s  rss ${mib(u.rss)}  heap ${mib(u.heapUsed)}  arrayBuffers ${mib(u.arrayBuffers)}`,
      );
      next++;
    }
  };
  return { onProgress, state };
}

export interface PhaseResult<R extends ImportReport = ImportReport> {
  name: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Until the last batch was written (before audit, commit and, for observations, the classification). */
  streamSeconds: number;
  memory: MemorySummary;
  /** Main-thread seconds on a CPU and waiting for one (another process had it); null off Linux. */
  cpu: { seconds: number; waitSeconds: number } | null;
  report: R;
}

function printPhase(r: PhaseResult<ImportReport>): void {
  const m = r.memory;
  console.log(`${r.name}: ${r.rows.toLocaleString('en')} rows in ${r.seconds.toFixed(1)} s = ${Math.round(r.rowsPerSecond).toLocaleString('en')} rows/s`);
  console.log(
    `  streaming + batch writes ${r.streamSeconds.toFixed(1)} s (${Math.round(r.rows / r.streamSeconds).toLocaleString('en')} rows/s), the rest (audit, commit${r.name === 'observations' ? ', classification, lists' : ''}) ${(r.seconds - r.streamSeconds).toFixed(1)} s`,
  );
  if (r.cpu)
    console.log(
      `  main thread: ${r.cpu.seconds.toFixed(1)} s on a CPU (${Math.round(r.rows / r.cpu.seconds).toLocaleString('en')} rows per CPU-second), ${r.cpu.waitSeconds.toFixed(1)} s waiting for one (${((100 * r.cpu.waitSeconds) / r.seconds).toFixed(0)} % of the run; above a few % other processes were competing)`,
    );
  console.log(
    `  accepted ${r.report.accepted.toLocaleString('en')}, rejected ${r.report.rejected.toLocaleString('en')}, committed ${r.report.committed}${r.report.refusal ? `, refused: ${r.report.refusal}` : ''}`,
  );
  console.log(
    `  memory (sampled at every batch; the 250 ms timer fired ${m.timerSamples} times): rss ${mib(m.rssStart)} → peak ${mib(m.rssPeak)} (+${mib(m.rssPeak - m.rssStart)}); heapUsed ${mib(m.heapStart)} → peak ${mib(m.heapPeak)} (+${mib(m.heapPeak - m.heapStart)}); arrayBuffers ${mib(m.buffersStart)} → peak ${mib(m.buffersPeak)} (+${mib(m.buffersPeak - m.buffersStart)})`,
  );
  // With PGlite and a generated stream every step resolves in microtasks, so the timer may never get a turn.
  console.log(
    `  event loop: the 250 ms timer was held up by up to ${(m.longestTimerGapMs / 1000).toFixed(1)} s${m.timerSamples === 0 ? ' (it never fired during the import)' : ''}`,
  );
}

async function measure<R extends ImportReport>(name: string, total: number, body: (onProgress: (rows: number) => void) => Promise<R>): Promise<PhaseResult<R>> {
  console.error(`${name}: importing ${total.toLocaleString('en')} rows`);
  const memory = memorySampler();
  const sched = schedstat();
  const started = performance.now();
  const progress = progressPrinter(name, total, started, memory.sample);
  const report = await body(progress.onProgress);
  const seconds = (performance.now() - started) / 1000;
  const schedEnd = schedstat();
  const cpu = sched && schedEnd ? { seconds: (schedEnd.runNs - sched.runNs) / 1e9, waitSeconds: (schedEnd.waitNs - sched.waitNs) / 1e9 } : null;
  const result: PhaseResult<R> = {
    name,
    rows: report.rows,
    seconds,
    rowsPerSecond: report.rows / seconds,
    streamSeconds: (progress.state.lastAt - started) / 1000,
    memory: memory.stop(),
    cpu,
    report,
  };
  if (!report.committed)
    throw new Error(`${name} import was not committed: ${report.refusal ?? 'no reason given'}; first errors: ${JSON.stringify(report.errors.slice(0, 5))}`);
  printPhase(result);
  return result;
}

/** What the in-memory database holds: it lives in this process, in the arrayBuffers above. */
async function printStorage(db: Kysely<DB>): Promise<void> {
  const { rows } = await sql<{ database: string; wal: string; observations: string; registrations: string }>`
    select pg_database_size(current_database())::text as database, (select coalesce(sum(size), 0) from pg_ls_waldir())::text as wal,
      (select count(*) from devices_observations)::text as observations, (select count(*) from devices_registrations)::text as registrations`.execute(db);
  const r = rows[0]!;
  console.log(
    `  storage (in this process): database ${mib(Number(r.database))}, WAL ${mib(Number(r.wal))}; ${Number(r.registrations).toLocaleString('en')} registrations, ${Number(r.observations).toLocaleString('en')} observation pairs`,
  );
}

/**
 * The services as `qalqan serve` builds them, on a fresh in-memory PGlite (no DATABASE_URL here: the import is
 * one long transaction and a shared database is not the place for it). Imports a TAC set, then registrations,
 * then one operator's observations, each generated as a stream.
 */
export async function run(): Promise<PhaseResult[]> {
  if (!Number.isInteger(REGISTRATIONS) || REGISTRATIONS < 0 || REGISTRATIONS > REG_TACS.length * 1_000_000)
    throw new Error(`BENCH_REGISTRATIONS must be 0 … ${REG_TACS.length * 1_000_000}`);
  if (!Number.isInteger(OBSERVATIONS) || OBSERVATIONS < 0) throw new Error('BENCH_OBSERVATIONS must be a whole number ≥ 0');
  const logger = pino({ level: 'silent' });
  const database = await openDatabase({ kind: 'pglite' });
  const bus = createMemoryBus(logger);
  try {
    await migrateToLatest(database.db);
    const services = createServices({ database, bus, logger, secret: randomBytes(32).toString('base64url') });
    const ctx = systemContext('bench imports');
    // There is no importer kind of organisation; the CLI test's importer is a regulator too.
    const importer = await services.auth.ensureOrg(ctx, { name: ImporterOrg, kind: 'regulator' });
    await services.auth.ensureOrg(ctx, { name: OperatorOrg, kind: 'operator' });
    const tacs = await services.devices.registry.importTacs(ctx, { input: Readable.from([TAC_FILE]), delta: false });
    if (!tacs.committed || tacs.accepted !== REG_TACS.length + 1) throw new Error(`TAC import failed: ${JSON.stringify(tacs)}`);
    console.log(`database: PGlite in memory; ${tacs.accepted} TACs imported; node ${process.version}`);

    const results: PhaseResult[] = [];
    if (REGISTRATIONS > 0) {
      const r = await measure('registrations', REGISTRATIONS, (onProgress) =>
        services.devices.registry.importRegistrations(ctx, {
          input: Readable.from(registrationsCsv(REGISTRATIONS), { objectMode: false }),
          org: importer.id,
          onProgress,
        }),
      );
      if (r.report.accepted !== REGISTRATIONS)
        throw new Error(`expected ${REGISTRATIONS} registrations, got ${r.report.accepted}: ${JSON.stringify(r.report.errors.slice(0, 5))}`);
      results.push(r);
      await printStorage(database.db);
    }
    if (OBSERVATIONS > 0) {
      const shape = observationShape(OBSERVATIONS);
      console.error(`observations: ${shape.pairs.toLocaleString('en')} (IMEI, IMSI) pairs on ${shape.devices.toLocaleString('en')} devices over ${DAYS} days`);
      const today = kzDay(services.clock());
      const r = await measure('observations', OBSERVATIONS, (onProgress) =>
        services.devices.network.importObservations(ctx, {
          operator: OperatorOrg,
          input: Readable.from(observationsCsv(OBSERVATIONS, REGISTRATIONS, today), { objectMode: false }),
          onProgress,
        }),
      );
      const c = r.report.classification;
      console.log(`  newPairs ${r.report.newPairs.toLocaleString('en')}, traceAlerts ${r.report.traceAlerts}`);
      if (c) {
        console.log(
          `  classification: examined ${c.examined.toLocaleString('en')}, white ${c.white.toLocaleString('en')}, grey ${c.grey.toLocaleString('en')}, black ${c.black.toLocaleString('en')}, changed ${c.changed.toLocaleString('en')}; lists +${c.lists.added.toLocaleString('en')} −${c.lists.removed.toLocaleString('en')}`,
        );
      }
      results.push(r);
      await printStorage(database.db);
    }
    return results;
  } finally {
    await bus.close();
    await database.close();
  }
}
