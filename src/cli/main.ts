import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../core/config.js';
import { DataDirLockedError, readLock } from '../core/db/lock.js';
import { MigrationError } from '../core/db/migrate.js';
import { createLogger } from '../core/logger.js';
import { openRuntime } from '../core/runtime.js';
import { forwardToServer } from './admin-channel.js';
import { terminalIO } from './io.js';
import { runCommand } from './run.js';
import { serve } from './serve.js';

const HELP = `Usage: qalqan <command> [options]

Commands:
  serve                                   start the API server (PORT, HOST, DATABASE_URL, NATS_URL …)
  migrate                                 apply pending database migrations
  demo                                    load demo data (idempotent)
  org create --name N --kind K            create an organisation (regulator, operator, bank, marketplace, isp, police)
  org list                                list organisations
  apikey create --org N --scope S [...]   create an API key (printed once, last line); --scope * = all scopes
  apikey revoke ID                        revoke an API key
  user create --email E --role R          create a console user (admin, analyst, auditor, viewer)
  import tac FILE [--delta]               import the TAC database (GSMA pipe-delimited or CSV)
  import registrations FILE --org N       register IMEIs in bulk (CSV imei,reference)
  import stolen FILE --source S           import a lost/stolen list (CSV imei[,reference])
  import observations FILE --operator N   import an operator's network observations (CSV date,imei,imsi,msisdn,rat)
  import ported FILE [--operator N]         import ported numbers (CSV msisdn,operator,portedAt)
  classify                                re-classify every device seen on the networks
  lists export --operator N --kind K      export a black, notification or exception list (--since V for a delta)

Run 'qalqan <command> --help' for a command's options.`;

function fail(message: string): never {
  process.stderr.write(`qalqan: ${message}\n`);
  process.exit(1);
}

async function runLocal(config: Config, argv: string[]): Promise<number> {
  // CLI commands log only warnings; the server logs every request.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  return runCommand(argv, terminalIO, async (fn) => {
    const runtime = await openRuntime(config, logger, { server: false });
    try {
      return await fn(runtime.services, runtime.applied);
    } finally {
      await runtime.close();
    }
  });
}

/**
 * The admin socket of a server holding the embedded database, or null when none does. A server that is still
 * starting has not announced its socket yet: wait for it (up to a minute) rather than fail.
 */
async function serverSocket(config: Config): Promise<string | null> {
  const deadline = Date.now() + 60_000;
  let told = false;
  for (;;) {
    const holder = readLock(config.dataDir);
    if (!holder) return null;
    if (holder.adminSocket && existsSync(holder.adminSocket)) return holder.adminSocket;
    if (Date.now() > deadline) fail(`the server holding ${config.dataDir} (pid ${holder.pid}) did not open its admin channel`);
    if (!told) process.stderr.write(`qalqan: waiting for the server (pid ${holder.pid}) to finish starting…\n`);
    told = true;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(HELP + '\n');
    return argv.length === 0 ? 1 : 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  try {
    if (argv[0] === 'serve') {
      await serve(config, createLogger(config.logLevel), terminalIO);
      return -1;
    }
    const socket = config.databaseUrl ? null : await serverSocket(config);
    if (socket) return await forwardToServer(socket, argv, terminalIO);
    return await runLocal(config, argv);
  } catch (err) {
    if (err instanceof DataDirLockedError || err instanceof MigrationError) fail(err.message);
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => fail(err instanceof Error ? err.message : String(err)),
);
