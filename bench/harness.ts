import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { openDatabase, type Database } from '../src/core/db/database.js';

/**
 * The benchmark's database: PostgreSQL when DATABASE_URL is set (use a scratch database: the benchmark migrates and
 * seeds it), otherwise a fresh in-memory PGlite. Says which on stdout.
 */
export async function openBenchDatabase(): Promise<Database> {
  const url = process.env.DATABASE_URL;
  const database = url ? await openDatabase({ kind: 'postgres', url }) : await openDatabase({ kind: 'pglite' });
  console.log(`database: ${url ? 'PostgreSQL (DATABASE_URL)' : 'PGlite in memory'}`);
  return database;
}

/** How hard and how long every load run pushes. All from the environment so a benchmark needs no arguments. */
export interface LoadOptions {
  /** Measured seconds per side (BENCH_SECONDS, default 30). */
  seconds: number;
  /** Unmeasured seconds before each run (BENCH_WARMUP_SECONDS, default 2; 0 skips the warm-up). */
  warmupSeconds: number;
  /** Concurrent keep-alive connections (BENCH_CONNECTIONS, default 50). */
  connections: number;
  /** Requests in flight per connection (always 1: a client waits for each answer). */
  pipelining: number;
  /**
   * autocannon worker threads (BENCH_WORKERS, default 1). With 1 the load generator runs on its own thread, so the
   * server under test has the main event loop to itself; 0 runs it on the main thread, sharing the loop with the
   * server (lower, noisier numbers).
   */
  workers: number;
  /** Alternating baseline/target rounds the measured seconds are split into (BENCH_ROUNDS, default 10). */
  rounds: number;
}

export interface LoadTarget {
  label: string;
  /** A loopback URL (127.0.0.1, ::1 or localhost). */
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  /** Paths (with query) to cycle through instead of the URL's own, e.g. a mix of IMEIs. */
  paths?: string[];
  /** Bodies to cycle through instead of `body`, e.g. a mix of calls to screen. */
  bodies?: string[];
  /** Non-2xx answers are part of the mix (an EIR's 404 for unknown equipment) and do not spoil the run. */
  non2xxExpected?: boolean;
}

export interface LoadResult {
  label: string;
  non2xxExpected: boolean;
  url: string;
  /** Completed responses (any status) per second over the measured run. */
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  latencyMaxMs: number;
  /** Completed responses in the measured run. */
  completed: number;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
  non2xx: number;
  durationSeconds: number;
  /**
   * CPU time the main thread (the servers' event loop) spent per completed response, in microseconds: everything it
   * did in the measured window (request handling, GC on the main thread, the app's background timers) divided by the
   * responses. Far steadier than req/s on a shared machine. Null off Linux, or when autocannon shares the main thread.
   */
  cpuMicrosPerRequest: number | null;
  /** Share of the measured window the main thread was runnable but waiting for a CPU (other load on the machine). */
  runQueueWaitShare: number | null;
  /** autocannon's full result, for a benchmark that wants more. */
  raw: autocannon.Result;
}

export interface Comparison {
  options: LoadOptions;
  baseline: LoadResult;
  target: LoadResult;
  /** Median over the rounds of target req/s ÷ baseline req/s: the share of the bare framework's throughput kept. */
  ratio: number;
  /** Each round's ratio, in order. */
  ratios: number[];
}

function envNumber(name: string, fallback: number, { min, integer }: { min: number; integer: boolean }): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got "${raw}"`);
  }
  return value;
}

export function loadOptions(): LoadOptions {
  return {
    seconds: envNumber('BENCH_SECONDS', 30, { min: 1, integer: false }),
    warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 2, { min: 0, integer: false }),
    connections: envNumber('BENCH_CONNECTIONS', 50, { min: 1, integer: true }),
    pipelining: 1,
    workers: envNumber('BENCH_WORKERS', 1, { min: 0, integer: true }),
    rounds: envNumber('BENCH_ROUNDS', 10, { min: 1, integer: true }),
  };
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!LOOPBACK.has(host)) throw new Error(`benchmarks only load loopback addresses; refusing ${url}`);
}

async function cannon(target: LoadTarget, options: LoadOptions, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: target.url,
    method: target.method ?? 'GET',
    headers: target.headers,
    body: target.body,
    ...(target.paths ? { requests: target.paths.map((path) => ({ path })) } : {}),
    ...(target.bodies ? { requests: target.bodies.map((body) => ({ method: target.method ?? 'POST', body })) } : {}),
    connections: options.connections,
    pipelining: options.pipelining,
    duration: seconds,
    ...(options.workers > 0 ? { workers: options.workers } : {}),
  });
}

/** The main thread's time on a CPU and time waiting for one, in nanoseconds (Linux schedstat), or null. */
export function mainThreadSchedstat(): { runNs: number; waitNs: number } | null {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return run !== undefined && wait !== undefined && Number.isFinite(run) && Number.isFinite(wait) ? { runNs: run, waitNs: wait } : null;
  } catch {
    return null;
  }
}

/** Warms the target up (result discarded), then loads it for the measured run. */
export async function load(target: LoadTarget, options: LoadOptions = loadOptions()): Promise<LoadResult> {
  assertLoopback(target.url);
  if (options.warmupSeconds > 0) await cannon(target, options, options.warmupSeconds);
  const before = options.workers > 0 ? mainThreadSchedstat() : null;
  const raw = await cannon(target, options, options.seconds);
  const after = before ? mainThreadSchedstat() : null;
  const completed = raw.requests.total;
  const sched = before && after ? { runNs: after.runNs - before.runNs, waitNs: after.waitNs - before.waitNs } : null;
  return {
    label: target.label,
    non2xxExpected: target.non2xxExpected ?? false,
    url: target.url,
    requestsPerSecond: completed / raw.duration,
    latencyP50Ms: raw.latency.p50,
    latencyP99Ms: raw.latency.p99,
    latencyMeanMs: raw.latency.average,
    latencyMaxMs: raw.latency.max,
    completed,
    errors: raw.errors,
    timeouts: raw.timeouts,
    non2xx: raw.non2xx,
    durationSeconds: raw.duration,
    cpuMicrosPerRequest: sched && completed > 0 ? sched.runNs / 1000 / completed : null,
    runQueueWaitShare: sched ? sched.waitNs / 1e9 / raw.duration : null,
    raw,
  };
}

/**
 * The baseline: Fastify with default settings and no logger, one catch-all route answering `{}` to any method and
 * path. It is loaded with exactly the target's requests (method, path and query, headers, body), so the client and
 * the HTTP parser do the same work on both sides and the ratio measures only what the target does on top.
 */
export async function startBaseline(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify();
  app.all('/*', async () => ({}));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('baseline server has no TCP address');
  return { url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}

/** The port an app (or any `node:http` server) is listening on, as a loopback base URL. */
export function loopbackBase(server: import('node:net').Server): string {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
  return `http://127.0.0.1:${address.port}`;
}

/**
 * Loads the empty baseline route and the target in alternating rounds (baseline, target, then target, baseline, …),
 * both servers up throughout, and compares each round's pair. On a shared or virtual machine the capacity drifts by
 * tens of percent within a minute; measuring the two back to back in short rounds, and taking the median of the
 * per-round ratios, keeps that drift out of the ratio. Pass the target as a function to build it after the baseline
 * is listening; its background work (timers, pollers) runs during every round, the baseline's included.
 */
export async function compareWithBaseline(target: LoadTarget | (() => Promise<LoadTarget>), options: LoadOptions = loadOptions()): Promise<Comparison> {
  const where = options.workers > 0 ? `${options.workers} worker thread(s)` : 'the main thread';
  console.log(
    `load: ${options.connections} connections, pipelining ${options.pipelining}, ${options.warmupSeconds}s warm-up each, then ` +
      `${options.rounds} alternating rounds of ${roundSeconds(options).toFixed(1)}s per side (${options.seconds}s measured each); autocannon on ${where}`,
  );
  const baselineServer = await startBaseline();
  try {
    const resolved = typeof target === 'function' ? await target() : target;
    const { pathname, search } = new URL(resolved.url);
    const baseTarget: LoadTarget = { ...resolved, label: 'baseline: empty Fastify route', url: `${baselineServer.url}${pathname}${search}` };
    console.log(`baseline: the same requests to an empty catch-all route at ${baselineServer.url}\ntarget: ${resolved.method ?? 'GET'} ${resolved.url}`);
    const perRound: LoadOptions = { ...options, warmupSeconds: 0, seconds: roundSeconds(options) };
    await warmUp(baseTarget, options);
    await warmUp(resolved, options);
    const rounds: { baseline: LoadResult; target: LoadResult }[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const first = r % 2 === 0 ? baseTarget : resolved;
      const a = await load(first, perRound);
      const b = await load(first === baseTarget ? resolved : baseTarget, perRound);
      rounds.push(first === baseTarget ? { baseline: a, target: b } : { baseline: b, target: a });
    }
    const ratios = rounds.map((r) => r.target.requestsPerSecond / r.baseline.requestsPerSecond);
    const comparison: Comparison = {
      options,
      baseline: combine(rounds.map((r) => r.baseline)),
      target: combine(rounds.map((r) => r.target)),
      ratio: median(ratios),
      ratios,
    };
    printComparison(comparison);
    return comparison;
  } finally {
    await baselineServer.close();
  }
}

function roundSeconds(options: LoadOptions): number {
  return Math.max(1, options.seconds / options.rounds);
}

async function warmUp(target: LoadTarget, options: LoadOptions): Promise<void> {
  assertLoopback(target.url);
  if (options.warmupSeconds > 0) await cannon(target, options, options.warmupSeconds);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The rounds of one side as one result: totals over all rounds; latencies are the median of the rounds' values. */
function combine(results: LoadResult[]): LoadResult {
  const sum = (f: (r: LoadResult) => number) => results.reduce((t, r) => t + f(r), 0);
  const completed = sum((r) => r.completed);
  const duration = sum((r) => r.durationSeconds);
  const cpu = results.every((r) => r.cpuMicrosPerRequest !== null) ? sum((r) => r.cpuMicrosPerRequest! * r.completed) / Math.max(1, completed) : null;
  const wait = results.every((r) => r.runQueueWaitShare !== null) ? sum((r) => r.runQueueWaitShare! * r.durationSeconds) / duration : null;
  return {
    ...results[0]!,
    requestsPerSecond: completed / duration,
    latencyP50Ms: median(results.map((r) => r.latencyP50Ms)),
    latencyP99Ms: median(results.map((r) => r.latencyP99Ms)),
    latencyMeanMs: sum((r) => r.latencyMeanMs * r.completed) / Math.max(1, completed),
    latencyMaxMs: Math.max(...results.map((r) => r.latencyMaxMs)),
    completed,
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    non2xx: sum((r) => r.non2xx),
    durationSeconds: duration,
    cpuMicrosPerRequest: cpu,
    runQueueWaitShare: wait,
  };
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

export function printComparison({ baseline, target, ratio, ratios }: Comparison): void {
  const header = ['', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'vs baseline', 'cpu µs/req', 'cpu wait'];
  const row = (r: LoadResult, rel: string) => [
    r.label,
    Math.round(r.requestsPerSecond).toLocaleString('en-US'),
    r.latencyP50Ms.toFixed(1),
    r.latencyP99Ms.toFixed(1),
    String(r.errors),
    String(r.non2xx),
    rel,
    r.cpuMicrosPerRequest === null ? 'n/a' : r.cpuMicrosPerRequest.toFixed(0),
    r.runQueueWaitShare === null ? 'n/a' : `${(100 * r.runQueueWaitShare).toFixed(0)}%`,
  ];
  const rows = [header, row(baseline, '1.00'), row(target, ratio.toFixed(2))];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log('');
  for (const r of rows) console.log(pad(r, widths));
  console.log('');
  console.log(`vs baseline: median over the rounds of target req/s ÷ baseline req/s; rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')}.`);
  console.log('req/s: over all rounds; p50/p99: median of the rounds. cpu µs/req: main-thread (server) CPU time per response.');
  console.log('cpu wait: share of the run the server thread was ready but waiting for a CPU (other load on this machine).');
  for (const r of [baseline, target]) {
    if (r.errors > 0 || (r.non2xx > 0 && !r.non2xxExpected)) {
      console.log(`warning: ${r.label} had ${r.errors} connection errors and ${r.non2xx} non-2xx responses; its numbers are not a clean measurement`);
    }
  }
}
