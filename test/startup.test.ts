import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrationNames } from '../src/core/db/migrations/index.js';

const root = join(import.meta.dirname, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'qalqan-startup-'));
const baseEnv = {
  ...process.env,
  QALQAN_DATA_DIR: dataDir,
  HOST: '127.0.0.1',
  PORT: '0',
  SIP_PORT: '0',
  SBI_PORT: '0',
  LOG_LEVEL: 'warn',
  DATABASE_URL: '',
  NATS_URL: '',
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI. `withoutRootBypass`: as root, without the capabilities that let root write where file modes forbid
 * (util-linux's setpriv), so a read-only directory is read-only to it too, while it still reads the project it owns.
 */
function qalqan(args: string[], env: Record<string, string | undefined> = {}, withoutRootBypass = false): Promise<Run> {
  return new Promise((resolve) => {
    const command = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...args];
    const caps = '-dac_override,-dac_read_search';
    const [file, ...argv] =
      withoutRootBypass && process.getuid?.() === 0 ? ['setpriv', `--inh-caps=${caps}`, `--bounding-set=${caps}`, '--', ...command] : command;
    const child = spawn(file!, argv, { cwd: root, env: { ...baseEnv, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A port taken by this test: TCP (the API's) or UDP (the SIP server binds UDP first). */
async function takePort(kind: 'tcp' | 'udp'): Promise<{ port: number; release: () => void }> {
  if (kind === 'tcp') {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as { port: number }).port, release: () => server.close() };
  }
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, release: () => socket.close() };
}

async function freePort(): Promise<number> {
  const taken = await takePort('tcp');
  taken.release();
  return taken.port;
}

// In order, on one data dir: migrate it, fail two starts on taken ports (before the demo is loaded), then start.
describe('qalqan start-up on the embedded database', { timeout: 120_000 }, () => {
  it('migrate on an empty database names each migration it applied; once current, it says so', async () => {
    const first = await qalqan(['migrate']);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n')).toEqual([
      ...migrationNames.map((name) => `applied ${name}`),
      `${migrationNames.length} migrations applied; the database schema is current`,
    ]);
    const second = await qalqan(['migrate']);
    expect(second.code).toBe(0);
    expect(second.stdout.trim()).toBe('database schema is current');
  });

  it('with the SIP port taken, the start names SIP_PORT; with the SBI port taken, SBI_PORT; with the API port taken, PORT', async () => {
    const udp = await takePort('udp');
    try {
      const run = await qalqan(['serve'], { SIP_PORT: String(udp.port) });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`qalqan: port ${udp.port} is already in use (set SIP_PORT to another)`);
      expect(run.stdout).not.toContain('listening');
    } finally {
      udp.release();
    }
    const sbi = await takePort('tcp');
    try {
      const run = await qalqan(['serve'], { SBI_PORT: String(sbi.port) });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`qalqan: port ${sbi.port} is already in use (set SBI_PORT to another)`);
    } finally {
      sbi.release();
    }
    const tcp = await takePort('tcp');
    try {
      const run = await qalqan(['serve'], { PORT: String(tcp.port) });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`qalqan: port ${tcp.port} is already in use (set PORT to another)`);
    } finally {
      tcp.release();
    }
  });

  it('the first start prints the demo, the one-time password and the listening line before /readyz is 200', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], { cwd: root, env: { ...baseEnv, PORT: String(port) } });
    const lines: { text: string; at: number }[] = [];
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const text of parts) lines.push({ text, at: performance.now() });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let readyAt: number | null = null;
    try {
      const deadline = Date.now() + 90_000;
      while (readyAt === null && Date.now() < deadline && child.exitCode === null) {
        const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) readyAt = performance.now();
        else await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(readyAt).not.toBeNull();
    const printedAt = (pattern: RegExp) => lines.find((l) => pattern.test(l.text))?.at ?? Infinity;
    for (const pattern of [/^Demo data loaded/, /^One-time password/, /^Qalqan listening on/])
      expect(printedAt(pattern), String(pattern)).toBeLessThan(readyAt!);
  });
});

describe('a data dir the server cannot write', { timeout: 60_000 }, () => {
  it('names the database directory and the reason, and exits non-zero', async () => {
    // Root may write anywhere: it runs without that bypass (running as nobody needed the whole path to the project
    // readable by nobody, which a clone in a private temporary directory is not).
    const dir = mkdtempSync(join(tmpdir(), 'qalqan-readonly-'));
    mkdirSync(join(dir, 'pgdata'));
    for (const path of [join(dir, 'pgdata'), dir]) chmodSync(path, 0o500);
    const run = await qalqan(['migrate'], { QALQAN_DATA_DIR: dir, QALQAN_SECRET: 'read-only-test-secret-read-only-test-secret' }, true);
    for (const path of [dir, join(dir, 'pgdata')]) chmodSync(path, 0o700);
    rmSync(dir, { recursive: true, force: true });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      `qalqan: cannot write to the database directory ${join(dir, 'pgdata')}: permission denied (QALQAN_DATA_DIR must be a directory this user can write)`,
    );
  });
});
