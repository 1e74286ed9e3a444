import Fastify from 'fastify';
import { createSbiServer } from '../src/server.js';
import { prepareEir, equipmentStatusPaths } from './eir.js';
import { runH2load, h2loadAvailable, type H2loadResult } from './h2load.js';
import { mainThreadSchedstat, median } from './harness.js';

export const description = 'the SBI (HTTP/2 h2c) equipment-status over 1 M IMEIs under h2load vs an empty Fastify HTTP/2 route';

function envInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer ≥ 1, got "${raw}"`);
  return value;
}

interface Side {
  label: string;
  origin: string;
  runs: { result: H2loadResult; cpuMicrosPerRequest: number | null; waitShare: number | null; seconds: number }[];
}

/** One h2load run against a side, with the server thread's CPU time over it (both servers share this process). */
async function measure(
  side: Side,
  paths: string[],
  headers: Record<string, string>,
  load: { connections: number; streams: number; seconds: number },
): Promise<void> {
  const before = mainThreadSchedstat();
  const result = await runH2load({ urls: paths.map((p) => side.origin + p), headers, ...load, timeoutMs: (load.seconds + 60) * 1000 });
  const after = mainThreadSchedstat();
  const answered = result.done - result.errored;
  side.runs.push({
    result,
    cpuMicrosPerRequest: before && after && answered > 0 ? (after.runNs - before.runNs) / 1000 / answered : null,
    waitShare: before && after ? (after.waitNs - before.waitNs) / 1e9 / load.seconds : null,
    seconds: load.seconds,
  });
}

function summary(side: Side) {
  const sum = (f: (r: Side['runs'][number]) => number) => side.runs.reduce((t, r) => t + f(r), 0);
  const answered = sum((r) => r.result.done - r.result.errored);
  const cpu = side.runs.every((r) => r.cpuMicrosPerRequest !== null)
    ? sum((r) => r.cpuMicrosPerRequest! * (r.result.done - r.result.errored)) / Math.max(1, answered)
    : null;
  return {
    reqPerSecond: sum((r) => r.result.requestsPerSecond * r.seconds) / sum((r) => r.seconds),
    p50: median(side.runs.map((r) => r.result.latencyP50Ms)),
    p99: median(side.runs.map((r) => r.result.latencyP99Ms)),
    errored: sum((r) => r.result.errored),
    status: `${sum((r) => r.result.status['2xx'])} 2xx, ${sum((r) => r.result.status['4xx'])} 4xx, ${sum((r) => r.result.status['5xx'])} 5xx`,
    cpu,
    wait: side.runs.every((r) => r.waitShare !== null) ? sum((r) => r.waitShare! * r.seconds) / sum((r) => r.seconds) : null,
  };
}

/**
 * h2load against the SBI's equipment-status (h2c, 1 M IMEIs in the index, the eir benchmark's mix of PEIs) and
 * against an empty Fastify HTTP/2 route given the same requests: same connections and streams, alternating rounds in
 * one run (BENCH_ROUNDS, BENCH_SECONDS measured per side, BENCH_WARMUP_SECONDS; BENCH_H2_CONNECTIONS, BENCH_H2_STREAMS).
 */
export async function run(): Promise<{ ratio: number; p99Ratio: number }> {
  if (!h2loadAvailable()) throw new Error('h2load is not installed: apt-get install -y nghttp2-client');
  const rounds = envInteger('BENCH_ROUNDS', 10);
  const seconds = Math.max(1, envInteger('BENCH_SECONDS', 30) / rounds);
  const warmup = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
  const load = { connections: envInteger('BENCH_H2_CONNECTIONS', 8), streams: envInteger('BENCH_H2_STREAMS', 16) };
  const { database, services, headers } = await prepareEir();
  const sbi = await createSbiServer(services);
  const baseline = Fastify({ http2: true });
  baseline.all('/*', async () => ({}));
  try {
    const target: Side = { label: 'target: SBI equipment-status (mixed)', origin: await sbi.listen({ host: '127.0.0.1', port: 0 }), runs: [] };
    const base: Side = { label: 'baseline: empty Fastify HTTP/2 route', origin: await baseline.listen({ host: '127.0.0.1', port: 0 }), runs: [] };
    const paths = equipmentStatusPaths();
    services.relay.start();
    console.log(
      `h2load: ${load.connections} connections × ${load.streams} streams, ${warmup}s warm-up each, then ${rounds} alternating rounds of ${seconds.toFixed(1)}s per side`,
    );
    console.log(
      `target: GET ${target.origin}/n5g-eir-eic/v1/equipment-status (1,000 PEIs: 70 % white, 10 % black, 15 % grey, 5 % unknown TAC)\nbaseline: the same requests at ${base.origin}`,
    );
    if (warmup > 0) {
      for (const side of [base, target]) await runH2load({ urls: paths.map((p) => side.origin + p), headers, ...load, seconds: warmup });
    }
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? [base, target] : [target, base]) await measure(side, paths, headers, { ...load, seconds });
      ratios.push(target.runs[r]!.result.requestsPerSecond / base.runs[r]!.result.requestsPerSecond);
    }
    const [b, t] = [summary(base), summary(target)];
    const ratio = median(ratios);
    const p99Ratio = t.p99 / b.p99;
    console.log('');
    const row = (label: string, s: ReturnType<typeof summary>) =>
      `${label.padEnd(38)} ${Math.round(s.reqPerSecond).toLocaleString('en-US').padStart(8)} req/s  p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  ` +
      `cpu ${s.cpu === null ? 'n/a' : s.cpu.toFixed(0)} µs/req  cpu wait ${s.wait === null ? 'n/a' : `${(100 * s.wait).toFixed(0)}%`}  errored ${s.errored}  (${s.status})`;
    console.log(row(base.label, b));
    console.log(row(target.label, t));
    console.log('');
    console.log(
      `req/s ratio (median of the rounds' target ÷ baseline): ${ratio.toFixed(2)} (target ≥ 0.80); rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')}`,
    );
    console.log(`p99 ratio (median p99 of the rounds, target ÷ baseline): ${p99Ratio.toFixed(2)} (target ≤ 2.00)`);
    console.log("cpu µs/req: the server thread's CPU time per answered request; cpu wait: share of the run it waited for a CPU.");
    return { ratio, p99Ratio };
  } finally {
    await sbi.close();
    await baseline.close();
    await services.relay.stop();
    await database.close();
  }
}
