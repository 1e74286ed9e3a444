import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { acquireLock, type HeldLock } from './db/lock.js';
import { migrateToLatest } from './db/migrate.js';
import { cleanupStaleStaging } from './ingest/staging.js';
import { abandonDeadImports } from './ingest/tracking.js';
import type { EventBus } from './events/bus.js';
import { createMemoryBus } from './events/memory-bus.js';
import { privateDir } from './private-dir.js';
import { createNatsBus } from './events/nats-bus.js';
import type { Logger } from './logger.js';
import { createServices, type CoreDeps, type Services } from '../server.js';

export interface Runtime {
  services: Services;
  /** Migrations applied by this start. */
  applied: string[];
  /** Tells CLI processes where this server's admin channel listens (embedded database only). */
  announceAdmin(socketPath: string): void;
  close(): Promise<void>;
}

/**
 * Unix socket paths are limited to about 100 bytes: a long data dir gets a short socket path in this user's own
 * directory in the temp dir (`qalqan-<uid>`, mode 0700, refused when another user could write it).
 */
export function adminSocketPath(config: Config, tmp = tmpdir()): string {
  const inDataDir = join(config.dataDir, 'admin.sock');
  if (Buffer.byteLength(inDataDir) <= 100) return inDataDir;
  const dir = privateDir(join(tmp, `qalqan-${process.getuid?.() ?? 'user'}`));
  return join(dir, `${createHash('sha256').update(config.dataDir).digest('hex').slice(0, 16)}.sock`);
}

/**
 * Opens the database (taking the data dir's lock for the embedded one), applies pending migrations, connects the
 * event bus and wires the services. A failure on the way closes what was opened.
 */
export async function openRuntime(config: Config, logger: Logger, options: { server: boolean; devices?: CoreDeps['devices'] }): Promise<Runtime> {
  const lock: HeldLock | null = config.databaseUrl ? null : acquireLock(config.dataDir);
  const release = () => lock?.release();
  let database: Database | null = null;
  let bus: EventBus | null = null;
  try {
    database = config.databaseUrl
      ? await openDatabase({ kind: 'postgres', url: config.databaseUrl, onPoolError: (err) => logger.warn({ err }, 'database connection lost') })
      : await openDatabase({ kind: 'pglite', dataDir: join(config.dataDir, 'pgdata') });
    const applied = await migrateToLatest(database.db);
    // An import killed mid-way (SIGKILL of the CLI or the server) leaves its staging table, never a target half written.
    const stale = await cleanupStaleStaging(database);
    if (stale.length) logger.info({ tables: stale }, 'dropped staging tables left by interrupted imports');
    const abandoned = await abandonDeadImports(database);
    if (abandoned.length) logger.info({ imports: abandoned }, 'marked imports left running by interrupted processes abandoned');
    bus = config.natsUrl ? await createNatsBus({ url: config.natsUrl, logger }) : createMemoryBus(logger);
    const services = createServices({
      database,
      bus,
      logger,
      secret: config.secret,
      voice: { roamingTtlMs: config.roamingTtlHours * 3_600_000, publicBaseUrl: config.publicBaseUrl },
      devices: options.devices,
      housekeeping: { retentionDays: config.housekeeping.retentionDays },
    });
    const opened = { database, bus };
    return {
      services,
      applied,
      announceAdmin: (socketPath) => lock?.announce(socketPath),
      async close() {
        for (const m of services.modules) await m.stop();
        await services.housekeeping.stop();
        await services.relay.stop();
        // A CLI process has no subscribers: its events stay in the outbox for the server's relay.
        if (options.server) await services.relay.drain().catch((err) => logger.warn({ err }, 'outbox not fully flushed; it will be on next start'));
        await opened.bus.close();
        await opened.database.close();
        release();
      },
    };
  } catch (err) {
    await bus?.close().catch(() => undefined);
    await database?.close().catch(() => undefined);
    release();
    throw err;
  }
}
