import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'qalqan-cli-'));
// A SIP port of its own per run (SIP_PORT=0 would disable the SIP server; 5060 may be taken).
const sipPort = 20_000 + Math.floor(Math.random() * 30_000);
// And the SBI's (SBI_PORT=0 would disable it; 8081 may be taken), next to it: SIP takes sipPort over TCP too.
const sbiPort = sipPort + 1;
const env = {
  ...process.env,
  QALQAN_DATA_DIR: dataDir,
  PORT: '0',
  HOST: '127.0.0.1',
  SIP_PORT: String(sipPort),
  SBI_PORT: String(sbiPort),
  LOG_LEVEL: 'warn',
  DATABASE_URL: '',
  NATS_URL: '',
};

function qalqan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function startServer(): Promise<{ child: ChildProcess; url: string; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], { cwd: root, env });
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 60_000);
    child.stdout.on('data', (d) => {
      output += d;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output });
      }
    });
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', () => reject(new Error(`server exited: ${output}`)));
  });
}

describe('the installed command', () => {
  it('bin/qalqan.js (what `npx qalqan` runs) starts the built CLI and lists the commands', async () => {
    const help = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/qalqan.js', '--help'], { cwd: root, env });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(help.code).toBe(0);
    for (const command of ['serve', 'migrate', 'demo', 'org create', 'apikey create', 'user create']) expect(help.out).toContain(command);
  });
});

describe('qalqan CLI on the embedded database', { timeout: 120_000 }, () => {
  it('works without a server: migrate, org create, bad input', async () => {
    const migrate = await qalqan(['migrate']);
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toContain('database schema is current');
    const org = await qalqan(['org', 'create', '--name', 'Offline Org', '--kind', 'isp']);
    expect(org.code).toBe(0);
    const dup = await qalqan(['org', 'create', '--name', 'Offline Org', '--kind', 'isp']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('qalqan: organisation "Offline Org" already exists');
    const bad = await qalqan(['org', 'create', '--name', 'X', '--kind', 'pirate']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Allowed choices are regulator, operator');
  });

  describe('while a server holds the data dir', () => {
    let server: Awaited<ReturnType<typeof startServer>>;
    beforeAll(async () => {
      server = await startServer();
    });
    afterAll(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    });

    it('serve starts the SIP redirect server: OPTIONS over UDP gets 200', async () => {
      expect(server.output).toContain(`SIP redirect server on 127.0.0.1 UDP ${sipPort} and TCP ${sipPort}`);
      const socket = createSocket('udp4');
      const answer = new Promise<string>((resolve) => socket.once('message', (m) => resolve(m.toString())));
      const options = [
        'OPTIONS sip:qalqan@127.0.0.1 SIP/2.0',
        'Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-cli-1',
        'From: <sip:probe@127.0.0.1>;tag=1',
        'To: <sip:qalqan@127.0.0.1>',
        'Call-ID: cli-options-1',
        'CSeq: 1 OPTIONS',
        'Max-Forwards: 70',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(options, sipPort, '127.0.0.1');
      try {
        expect(await answer).toMatch(/^SIP\/2\.0 200 OK\r\n/);
      } finally {
        socket.close();
      }
    });

    it('serve starts the SBI listener: h2c answers with the API-key guard (401 problem without a key)', async () => {
      expect(server.output).toContain(`SBI (HTTP/2 h2c, prior knowledge) on 127.0.0.1:${sbiPort}`);
      const answer = await new Promise<string>((resolve, reject) => {
        const child = spawn('curl', [
          '-sS',
          '--http2-prior-knowledge',
          '-w',
          '\n%{http_version} %{http_code}',
          `http://127.0.0.1:${sbiPort}/n5g-eir-eic/v1/equipment-status?pei=imei-353328110000013`,
        ]);
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('error', reject);
        child.on('close', () => resolve(out));
      });
      expect(answer).toMatch(/^\{"type":"https:\/\/qalqan\.kz\/problems\/unauthorized".*\}\n2 401$/s);
    });

    it('the first start loaded the demo and printed the admin one-time password once', async () => {
      expect(server.output).toMatch(/Console admin: admin@qalqan\.local/);
      const password = /One-time password[^:]*: (\S+)/.exec(server.output)![1]!;
      const login = await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@qalqan.local', password }),
      });
      expect(login.status).toBe(200);
      expect(((await login.json()) as { mustChangePassword: boolean }).mustChangePassword).toBe(true);
      const demo = await qalqan(['demo']);
      expect(demo.stdout).toContain('demo data is loaded');
      expect(demo.stdout).not.toContain('one-time password');
    });

    it('commands go through the server: org create, apikey create (key on the last line) used over HTTP', async () => {
      expect((await qalqan(['org', 'create', '--name', 'Kcell CLI', '--kind', 'operator'])).code).toBe(0);
      const created = await qalqan(['apikey', 'create', '--org', 'Kcell CLI', '--scope', 'devices:check', '--scope', 'audit:read']);
      expect(created.code).toBe(0);
      const key = created.stdout.trim().split('\n').at(-1)!;
      expect(key).toMatch(/^qk_/);
      const me = await fetch(`${server.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${key}` } });
      expect(await me.json()).toMatchObject({ scopes: ['devices:check', 'audit:read'] });
      const user = await qalqan(['user', 'create', '--email', 'analyst@qalqan.local', '--role', 'analyst']);
      expect(user.code).toBe(0);
      expect(user.stdout.trim().split('\n').at(-1)).toMatch(/^\S{20}$/);
      const missing = await qalqan(['apikey', 'create', '--org', 'Nobody', '--scope', '*']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('organisation "Nobody" does not exist');
    });

    it('a second server on the same data dir stops with a clear message', async () => {
      const second = await qalqan(['serve']);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/qalqan: data dir .* is in use by another Qalqan process \(pid \d+\)/);
    });

    it('SIGTERM drains and releases the data dir', async () => {
      const exited = new Promise<number | null>((resolve) => server.child.on('exit', resolve));
      server.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(join(dataDir, 'qalqan.lock'))).toBe(false);
      const after = await qalqan(['org', 'list']);
      expect(after.stderr).toBe('');
      expect(after.stdout).toContain('Kcell CLI');
    });
  });
});
