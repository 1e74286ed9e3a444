import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { forwardToServer } from './admin-channel.js';
import { lineIO } from './io.js';

let server: Server | null = null;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = null;
});

/** A stand-in for the server's admin channel that answers with `reply`. */
async function fakeServer(reply: (res: ServerResponse) => void, dataDir = mkdtempSync(join(tmpdir(), 'qalqan-admin-'))): Promise<string> {
  const socketPath = join(dataDir, 'admin.sock');
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => reply(res));
  });
  await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
  return socketPath;
}

function capture() {
  const lines: string[] = [];
  return { lines, io: lineIO((kind, line) => lines.push(`${kind}: ${line}`)) };
}

describe('forwardToServer', () => {
  it("resolves to the command's exit code, after its output", async () => {
    const socket = await fakeServer((res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end('{"out":"done"}\n{"err":"careful"}\n{"exit":3}\n');
    });
    const { lines, io } = capture();
    await expect(forwardToServer(socket, ['org', 'list'], io)).resolves.toBe(3);
    expect(lines).toEqual(['out: done', 'err: careful']);
  });

  it('fails, naming the command, when the server dies mid-reply', async () => {
    const socket = await fakeServer((res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"out":"importing"}\n', () => res.socket?.destroy());
    });
    const { lines, io } = capture();
    await expect(forwardToServer(socket, ['devices', 'import-tacs', 'x.csv'], io)).rejects.toThrow(
      /closed the admin channel before "devices import-tacs" finished; it may have been partly applied/,
    );
    expect(lines).toEqual(['out: importing']);
  });

  it('fails when the reply ends without an exit frame', async () => {
    const socket = await fakeServer((res) => res.writeHead(200).end('{"out":"half"}\n'));
    await expect(forwardToServer(socket, ['migrate'], capture().io)).rejects.toThrow(/closed the admin channel before "migrate" finished/);
  });

  it('fails on a reply that is not admin frames', async () => {
    const socket = await fakeServer((res) => res.writeHead(200).end('<html>\n'));
    await expect(forwardToServer(socket, ['migrate'], capture().io)).rejects.toThrow(/answered something that is not an admin frame/);
  });
});

describe('qalqan (the command) with a server that dies mid-command', () => {
  it('exits 1 with a message saying so', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'qalqan-admin-cli-'));
    const socket = await fakeServer((res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"out":"working"}\n', () => res.socket?.destroy());
    }, dataDir);
    // This test process plays the server holding the data dir.
    writeFileSync(join(dataDir, 'qalqan.lock'), JSON.stringify({ pid: process.pid, adminSocket: socket }));
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'org', 'list'],
        { env: { ...process.env, QALQAN_DATA_DIR: dataDir, DATABASE_URL: '', NATS_URL: '' } },
        (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
    expect(run.stdout).toBe('working\n');
    expect(run.stderr).toMatch(/^qalqan: the server at .* closed the admin channel before "org list" finished; it may have been partly applied/);
    expect(run.code).toBe(1);
  }, 60_000);
});
