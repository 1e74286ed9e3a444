import { chmodSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { Logger } from '../core/logger.js';
import type { Services } from '../server.js';
import { lineIO, type CliIO } from './io.js';
import { runCommand } from './run.js';

type Frame = { out: string } | { err: string } | { exit: number };

/**
 * The embedded database admits one process, so while the server holds it, CLI commands run inside the server:
 * the CLI sends its arguments over a Unix socket in the data dir (mode 0600, so only the owner can connect) and
 * the server streams the command's output back as NDJSON frames.
 */
export async function startAdminChannel(socketPath: string, services: Services, logger: Logger): Promise<Server> {
  rmSync(socketPath, { force: true });
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/run') {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const send = (frame: Frame) => res.write(JSON.stringify(frame) + '\n');
      let argv: string[];
      try {
        argv = (JSON.parse(body) as { argv: string[] }).argv.map(String);
      } catch {
        send({ err: 'qalqan: malformed admin request' });
        res.end(JSON.stringify({ exit: 2 }) + '\n');
        return;
      }
      logger.info({ command: argv.slice(0, 2).join(' ') }, 'admin channel command');
      const io = lineIO((kind, line) => send(kind === 'out' ? { out: line } : { err: line }));
      const code = await runCommand(argv, io, (fn) => fn(services));
      services.relay.kick();
      res.end(JSON.stringify({ exit: code }) + '\n');
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  chmodSync(socketPath, 0o600);
  return server;
}

/**
 * Sends a command line to the server holding the data dir; resolves to its exit code. Fails when the server goes
 * away (or answers nonsense) before the command's exit frame: the command may have been partly applied.
 */
export function forwardToServer(socketPath: string, argv: string[], io: CliIO): Promise<number> {
  return new Promise((resolve, reject) => {
    const lost = (why: string) =>
      reject(
        new Error(`the server at ${socketPath} ${why} before "${argv.slice(0, 2).join(' ')}" finished; it may have been partly applied (see the server's log)`),
      );
    const req = request({ socketPath, path: '/run', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let buffer = '';
      let exit: number | null = null;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          let frame: Frame;
          try {
            frame = JSON.parse(buffer.slice(0, nl)) as Frame;
          } catch {
            res.destroy();
            return lost('answered something that is not an admin frame');
          }
          buffer = buffer.slice(nl + 1);
          if ('out' in frame) io.out(frame.out);
          else if ('err' in frame) io.err(frame.err);
          else exit = frame.exit;
        }
      });
      // 'close' comes after 'end', or alone when the connection broke mid-reply.
      res.on('error', () => undefined);
      res.on('close', () => (exit === null ? lost('closed the admin channel') : resolve(exit)));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ argv }));
  });
}
