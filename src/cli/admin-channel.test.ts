import { mkdtempSync } from 'node:fs';
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
async function fakeServer(reply: (res: ServerResponse) => void): Promise<string> {
  const socketPath = join(mkdtempSync(join(tmpdir(), 'qalqan-admin-')), 'admin.sock');
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
