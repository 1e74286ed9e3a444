import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { createSipServer } from '../src/modules/voice/sip/server.js';
import type { CallToScreen, ScreeningResult } from '../src/modules/voice/types.js';

/** The sipp scenarios, in the source tree (the benchmark runs from dist/, so from the repository root). */
const SCENARIOS = resolve(process.cwd(), 'test/sip');
const UDP_BUFFER = String(4 * 1024 * 1024);

export interface SippResult {
  exitCode: number | null;
  successful: number;
  failed: number;
  /** Messages sipp sent again because no answer came in time (its Retransmissions counter). */
  retransmissions: number;
  /** Wall-clock seconds of the run. */
  seconds: number;
  /** sipp's trace of every message, when the run asked for `messages`. */
  messages: string;
  output: string;
}

/** Whether the `sipp` binary (Debian package sip-tester) can be run. */
export function sippAvailable(): boolean {
  return !spawnSync('sipp', ['-v'], { stdio: 'ignore' }).error;
}

/** A UDP port nobody is bound to on loopback right now. */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', done));
  const { port } = socket.address();
  await new Promise<void>((done) => socket.close(done));
  return port;
}

/**
 * Runs sipp in the foreground as a UAC with a scenario from test/sip against `target` (host:port) and reads its
 * final statistics (-trace_stat). Killed after `timeoutMs`.
 */
export async function runSipp(scenario: string, target: string, args: string[], { timeoutMs = 60_000, messages = false } = {}): Promise<SippResult> {
  const dir = await mkdtemp(join(tmpdir(), 'qalqan-sipp-'));
  try {
    const full = [
      '-sf', join(SCENARIOS, scenario),
      '-p', String(await freeUdpPort()),
      '-nostdin',
      '-buff_size', UDP_BUFFER,
      '-trace_stat', '-stf', join(dir, 'stat.csv'),
      ...(messages ? ['-trace_msg', '-message_file', join(dir, 'messages.log')] : []),
      ...args,
      target,
    ];
    const started = performance.now();
    const child = spawn('sipp', full, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const exitCode = await new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    clearTimeout(timer);
    const seconds = (performance.now() - started) / 1000;
    const stats = parseStats(await readFile(join(dir, 'stat.csv'), 'utf8').catch(() => ''));
    return {
      exitCode,
      successful: stats.get('SuccessfulCall(C)') ?? 0,
      failed: stats.get('FailedCall(C)') ?? 0,
      retransmissions: stats.get('Retransmissions(C)') ?? 0,
      seconds,
      messages: messages ? await readFile(join(dir, 'messages.log'), 'latin1').catch(() => '') : '',
      output,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The numeric columns of the last row of a sipp -trace_stat CSV (`;`-separated, a header row first). */
function parseStats(csv: string): Map<string, number> {
  const rows = csv.trim().split('\n');
  const header = rows[0]?.split(';') ?? [];
  const last = rows.length > 1 ? (rows.at(-1)?.split(';') ?? []) : [];
  const stats = new Map<string, number>();
  header.forEach((name, i) => {
    const value = Number(last[i]);
    if (Number.isFinite(value)) stats.set(name, value);
  });
  return stats;
}

/** sipp's own redirect server (test/sip/uas_bench.xml) on a loopback port, until `stop()`. */
async function startSippUas(): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freeUdpPort();
  const dir = await mkdtemp(join(tmpdir(), 'qalqan-sipp-uas-'));
  const child = spawn('sipp', ['-sf', join(SCENARIOS, 'uas_bench.xml'), '-i', '127.0.0.1', '-p', String(port), '-nostdin', '-buff_size', UDP_BUFFER], { cwd: dir, stdio: 'ignore' });
  const closed = new Promise<void>((done) => child.on('close', () => done()));
  await new Promise((done) => setTimeout(done, 500));
  return {
    port,
    stop: async () => {
      child.kill('SIGKILL');
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The bench's screening: from memory, blocks callers ending in 7 and flags those ending in 3 (10 % each). */
function screen(call: CallToScreen): ScreeningResult {
  const last = call.callingNumber.at(-1);
  if (last === '7') return { verdict: 'block', reasons: ['SPOOFED_KZ_MOBILE_FROM_ABROAD'] };
  if (last === '3') return { verdict: 'flag', reasons: ['IDENTITY_MISSING'] };
  return { verdict: 'allow', reasons: [] };
}

interface Row {
  rate: number;
  ours: SippResult;
  sipp: SippResult;
}

const clean = (r: SippResult) => r.exitCode === 0 && r.failed === 0 && r.retransmissions === 0;
const cps = (r: SippResult) => r.successful / r.seconds;

function envList(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const values = raw.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isInteger(v) || v <= 0)) throw new Error(`${name} must be a comma-separated list of positive integers, got "${raw}"`);
  return values;
}

/**
 * sipp as UAC at rising call rates (BENCH_SIP_RATES, default 500,1000,2000,4000,8000,12000 calls/s; BENCH_SIP_SECONDS of
 * calls per rate, default 5) against the Qalqan SIP server and, at each rate, against sipp's own UAS answering 302.
 * The score: the highest rate each side takes cleanly (0 failed calls, 0 retransmissions), ours ÷ sipp's.
 */
export async function run(): Promise<{ rows: Row[]; ratio: number }> {
  if (!sippAvailable()) throw new Error('sipp is not installed: apt-get install -y sip-tester');
  const rates = envList('BENCH_SIP_RATES', [500, 1000, 2000, 4000, 8000, 12000]);
  const seconds = envList('BENCH_SIP_SECONDS', [5])[0]!;
  const server = createSipServer({
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
    screen,
    trunkOf: () => ({ id: 'bench', operatorId: null, ingress: 'international' }),
    trusted: () => false,
    defaultIngress: 'international',
  });
  const { udpPort } = await server.start();
  console.log(`Qalqan SIP server on 127.0.0.1:${udpPort} (UDP); sipp UAC test/sip/uac_bench.xml, ${seconds} s of calls per rate; baseline: sipp UAS test/sip/uas_bench.xml`);
  const rows: Row[] = [];
  try {
    for (const rate of rates) {
      const args = ['-s', '+77011234567', '-r', String(rate), '-m', String(rate * seconds), '-timeout', `${seconds * 4 + 10}s`];
      const timeoutMs = (seconds * 4 + 20) * 1000;
      const ours = await runSipp('uac_bench.xml', `127.0.0.1:${udpPort}`, args, { timeoutMs });
      const uas = await startSippUas();
      const sipp = await runSipp('uac_bench.xml', `127.0.0.1:${uas.port}`, args, { timeoutMs }).finally(() => uas.stop());
      rows.push({ rate, ours, sipp });
      console.log(`  ${rate} cps: qalqan ${describe(ours)}; sipp UAS ${describe(sipp)}`);
    }
  } finally {
    await server.stop();
  }
  const best = (side: (r: Row) => SippResult) => Math.max(0, ...rows.map(side).filter(clean).map(cps));
  const ratio = best((r) => r.sipp) > 0 ? best((r) => r.ours) / best((r) => r.sipp) : 0;
  printTable(rows);
  console.log('');
  console.log(`best clean rate (0 failed, 0 retransmissions): qalqan ${best((r) => r.ours).toFixed(0)} cps, sipp UAS ${best((r) => r.sipp).toFixed(0)} cps; ratio ${ratio.toFixed(2)} (target ≥ 0.5)`);
  if (rows.every((r) => clean(r.sipp))) console.log('note: sipp\'s UAS took every rate cleanly, so the ratio is capped by the highest rate tried (raise BENCH_SIP_RATES)');
  return { rows, ratio };
}

function describe(r: SippResult): string {
  return `${r.successful} ok, ${r.failed} failed, ${r.retransmissions} retrans, ${cps(r).toFixed(0)} cps${r.exitCode === 0 ? '' : ` (exit ${r.exitCode})`}`;
}

function printTable(rows: Row[]): void {
  const header = ['offered cps', 'qalqan ok', 'failed', 'retrans', 'cps', 'sipp UAS ok', 'failed', 'retrans', 'cps', 'ratio'];
  const lines = rows.map(({ rate, ours, sipp }) => [
    String(rate),
    String(ours.successful), String(ours.failed), String(ours.retransmissions), cps(ours).toFixed(0),
    String(sipp.successful), String(sipp.failed), String(sipp.retransmissions), cps(sipp).toFixed(0),
    cps(sipp) > 0 ? (cps(ours) / cps(sipp)).toFixed(2) : 'n/a',
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((l) => l[i]!.length)));
  console.log('');
  for (const l of all) console.log(l.map((c, i) => c.padStart(widths[i]!)).join('  '));
}
