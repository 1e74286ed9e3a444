import { join } from 'node:path';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { acquireLock } from './db/lock.js';
import { migrateToLatest } from './db/migrate.js';
import type { EventBus } from './events/bus.js';
import { createMemoryBus } from './events/memory-bus.js';
import { createNatsBus } from './events/nats-bus.js';
import type { Logger } from './logger.js';
import { createServices, type Services } from '../server.js';

export interface Runtime {
  services: Services;
  /** Migrations applied by this start. */
  applied: string[];
  close(): Promise<void>;
}

export function adminSocketPath(config: Config): string {
  return join(config.dataDir, 'admin.sock');
}

/**
 * Opens the database (taking the data dir's lock for the embedded one), applies pending migrations, connects the
 * event bus and wires the services. A failure on the way closes what was opened.
 */
export async function openRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const release = config.databaseUrl ? () => undefined : acquireLock(config.dataDir, adminSocketPath(config));
  let database: Database | null = null;
  let bus: EventBus | null = null;
  try {
    database = config.databaseUrl
      ? await openDatabase({ kind: 'postgres', url: config.databaseUrl, onPoolError: (err) => logger.warn({ err }, 'database connection lost') })
      : await openDatabase({ kind: 'pglite', dataDir: join(config.dataDir, 'pgdata') });
    const applied = await migrateToLatest(database.db);
    bus = config.natsUrl ? await createNatsBus({ url: config.natsUrl, logger }) : createMemoryBus(logger);
    const services = createServices({ database, bus, logger, secret: config.secret });
    const opened = { database, bus };
    return {
      services,
      applied,
      async close() {
        services.eir.stop();
        await services.relay.stop();
        await services.relay.drain().catch((err) => logger.warn({ err }, 'outbox not fully flushed; it will be on next start'));
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
