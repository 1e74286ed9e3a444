import type { AuditService } from './audit/service.js';
import type { OrgDirectory } from './auth/directory.js';
import type { RunChange } from './changes.js';
import type { Executor } from './db/database.js';
import type { EventBus } from './events/bus.js';
import type { Outbox } from './events/outbox.js';
import type { Ingest } from './ingest/service.js';
import type { App } from './http/app.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * What every module's front door (`createXModule`) is given: core's services, never another module's. The front
 * door narrows `db` to its own tables (`tablesOf`) for its repositories and makes its `changes` with `createChanges`.
 */
export interface ModuleDeps {
  db: Executor;
  audit: AuditService;
  outbox: Outbox;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
  /** Organisations, as core's auth service knows them. */
  orgs: OrgDirectory;
  clock: () => Date;
  ids: () => string;
  /** The instance secret (keyed hashes, encrypted credentials). */
  secret: string;
  /** Bulk imports through core's COPY pipeline. */
  ingest: Ingest;
}

/** Routes of a module: a Fastify plugin a listener registers. */
export type ModuleRoutes = (app: App) => Promise<void>;

/** What the server needs from a module; `server.ts` calls one front door per module and never reaches inside. */
export interface QalqanModule {
  readonly name: string;
  /** Plugins of the main API (HTTP/1.1). */
  readonly routes: readonly ModuleRoutes[];
  /** Plugins the SBI listener (HTTP/2, for core networks and switches) registers: the same definitions, fewer of them. */
  readonly sbiRoutes: readonly ModuleRoutes[];
  /** On a serving instance: load in-memory indexes, subscribe to events, start timers. */
  start(): Promise<void>;
  /** Stops what `start` started (idempotent). */
  stop(): Promise<void>;
}

export type { RunChange };
