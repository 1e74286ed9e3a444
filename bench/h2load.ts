import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * h2load (Debian's nghttp2-client), the HTTP/2 load generator the SBI is measured and tested with: one process, its
 * own CPU, every request's status and time in its log file.
 */
export function h2loadAvailable(): boolean {
  return !spawnSync('h2load', ['--version'], { stdio: 'ignore' }).error;
}

export interface H2loadOptions {
  /** URLs of one origin (scheme, host and port), requested round robin. */
  urls: string[];
  headers?: Record<string, string>;
  /** A JSON body: the requests become POSTs of it (application/json). */
  body?: string;
  connections: number;
  /** Streams each connection keeps in flight. */
  streams: number;
  /** Requests in all (with `requests`), or seconds of load (with `seconds`). */
  requests?: number;
  seconds?: number;
  /** h2load is killed after this (default 120 s). An https origin's certificate is not verified by h2load. */
  timeoutMs?: number;
}

export interface H2loadResult {
  /** Requests h2load started and completed (any status), and those that failed without a status (reset, refused). */
  done: number;
  errored: number;
  status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** Completed requests per second over the measured time (from the log: first start to last end). */
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** h2load's own report, for a failing test's message. */
  output: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function count(output: string, pattern: RegExp): number {
  const match = pattern.exec(output);
  if (!match) throw new Error(`h2load output not understood (${pattern.source}):\n${output}`);
  return Number(match[1]);
}

/** Runs h2load once; rejects when it cannot start or does not finish in time, not for refused or failed requests. */
export async function runH2load(options: H2loadOptions): Promise<H2loadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'qalqan-h2load-'));
  try {
    writeFileSync(join(dir, 'urls'), options.urls.join('\n') + '\n');
    const args = ['-c', String(options.connections), '-m', String(options.streams), '-i', join(dir, 'urls'), '--log-file', join(dir, 'log')];
    if (options.seconds !== undefined) args.push('-D', String(options.seconds));
    else args.push('-n', String(options.requests ?? 1000));
    const headers = { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
    for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
    if (options.body !== undefined) {
      writeFileSync(join(dir, 'body'), options.body);
      args.push('-d', join(dir, 'body'));
    }
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(text);
        else reject(new Error(`h2load exited with ${code}:\n${text}`));
      });
    });
    const log = readFileSync(join(dir, 'log'), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t').map(Number));
    // Columns: start (µs since the epoch), status (-1 when none), µs until the end of the response.
    const answered = log.filter(([, status]) => status! > 0);
    const times = answered.map(([, , micros]) => micros! / 1000).sort((a, b) => a - b);
    // A loop, not Math.min(...): a long run logs more requests than a call may take arguments.
    let first = Infinity;
    let last = -Infinity;
    for (const [start, , micros] of answered) {
      first = Math.min(first, start!);
      last = Math.max(last, start! + micros!);
    }
    return {
      done: count(output, /requests: \d+ total, \d+ started, (\d+) done/),
      errored: count(output, /(\d+) errored/),
      status: {
        '2xx': count(output, /status codes: (\d+) 2xx/),
        '3xx': count(output, /(\d+) 3xx/),
        '4xx': count(output, /(\d+) 4xx/),
        '5xx': count(output, /(\d+) 5xx/),
      },
      requestsPerSecond: answered.length > 0 && last > first ? answered.length / ((last - first) / 1e6) : 0,
      latencyP50Ms: percentile(times, 50),
      latencyP99Ms: percentile(times, 99),
      output,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
