import { randomUUID } from 'node:crypto';
import { createAuditService } from './core/audit/service.js';
import { auditRoutes } from './core/audit/routes.js';
import { authRoutes } from './core/auth/routes.js';
import { createOrgDirectory } from './core/auth/directory.js';
import { createAuthService } from './core/auth/service.js';
import type { Database } from './core/db/database.js';
import { createIngest } from './core/ingest/service.js';
import { createImportsService } from './core/ingest/imports.js';
import { importsRoutes } from './core/ingest/routes.js';
import { abandonDeadImports } from './core/ingest/tracking.js';
import { createDependencies } from './core/dependencies.js';
import type { EventBus } from './core/events/bus.js';
import { createOutbox } from './core/events/outbox.js';
import { createOutboxRelay } from './core/events/relay.js';
import { createHousekeeping } from './core/housekeeping.js';
import { cleanupStaleStaging } from './core/ingest/staging.js';
import { createHttpApp, type App } from './core/http/app.js';
import type { Http2Limits, HttpLimits } from './core/http/limits.js';
import type { SbiTls } from './core/http/http2-server.js';
import { createSbiApp, type SbiApp } from './core/http/sbi.js';
import { authGuard } from './core/http/auth-hook.js';
import { opsRoutes } from './core/http/ops-routes.js';
import { databaseRateLimitStore } from './core/http/rate-limit-store.js';
import type { Logger } from './core/logger.js';
import type { QalqanModule } from './core/module.js';
import { createMetrics, type Metrics } from './core/metrics.js';
import { createDevicesModule, type DevicesOptions } from './modules/devices/index.js';
import { createVoiceModule, type VoiceOptions } from './modules/voice/index.js';

export interface CoreDeps {
  database: Database;
  bus: EventBus;
  logger: Logger;
  secret: string;
  clock?: () => Date;
  ids?: () => string;
  metrics?: Metrics;
  voice?: Omit<VoiceOptions, 'now'>;
  devices?: DevicesOptions;
  /** HOUSEKEEPING_RETENTION_DAYS (default 7). */
  housekeeping?: { retentionDays: number };
}

/** Every service, wired by plain factories. Used by the HTTP server and by CLI commands alike. */
export function createServices(deps: CoreDeps) {
  const clock = deps.clock ?? (() => new Date());
  const ids = deps.ids ?? randomUUID;
  const db = deps.database.db;
  const metrics = deps.metrics ?? createMetrics();
  const audit = createAuditService({ db, clock });
  const outbox = createOutbox({ ids, clock });
  const relay = createOutboxRelay({
    db,
    bus: deps.bus,
    logger: deps.logger,
    metrics,
    onCommit: (listener) => deps.database.onCommit(listener),
    listen: deps.database.listen,
    ownPool: deps.database.ownPool,
  });
  const housekeeping = createHousekeeping({
    db,
    logger: deps.logger,
    metrics,
    clock,
    retentionDays: deps.housekeeping?.retentionDays ?? 7,
    // On PostgreSQL a staging table is stale, and an import left running dead, when no session holds the table's lock
    // (an instance that never starts again leaves both); the embedded database cleans up at start.
    dropStaleStaging:
      deps.database.kind === 'postgres'
        ? async () => {
            await abandonDeadImports(deps.database, clock);
            return cleanupStaleStaging(deps.database);
          }
        : undefined,
    maintain: () => deps.database.maintain(),
  });
  const auth = createAuthService({ db, audit, outbox, secret: deps.secret, clock, ids, logger: deps.logger });
  const orgs = createOrgDirectory(db);
  const ingest = createIngest(deps.database, { clock });
  const imports = createImportsService({ db, audit, clock });
  const moduleDeps = { db, audit, outbox, bus: deps.bus, logger: deps.logger, metrics, orgs, clock, ids, secret: deps.secret, ingest };
  const devices = createDevicesModule({ ...moduleDeps, ...deps.devices });
  const voice = createVoiceModule({ ...moduleDeps, ...deps.voice, now: deps.clock ? () => clock().getTime() : Date.now });
  /** The modules behind the front doors: the HTTP server registers their routes and starts them. */
  const modules: QalqanModule[] = [devices, voice];
  const dependencies = createDependencies({ database: deps.database, bus: deps.bus, metrics });
  return {
    ...deps,
    clock,
    ids,
    metrics,
    dependencies,
    audit,
    outbox,
    relay,
    housekeeping,
    auth,
    ingest,
    imports,
    devices,
    eir: devices.index,
    voice,
    stir: voice.stir,
    modules,
  };
}

export type Services = ReturnType<typeof createServices>;

/** Subscriptions that keep this instance's caches in step with changes made by other instances. */
async function subscribeCaches(services: Services): Promise<void> {
  await services.bus.subscribe('auth-key-cache', 'auth.apikey.revoked', async (event) => services.auth.forgetKey(String(event.payload.prefix)), {
    fanout: true,
  });
}

/** `starting`: /readyz answers 503 (`server: starting`) until `setStarted()`, so a start's first lines come first. */
export async function createHttpServer(
  services: Services,
  options: { bodyLimit?: number; trustProxy?: boolean | string; limits?: HttpLimits; starting?: boolean } = {},
): Promise<{ app: App; setDraining: () => void; setStarted: () => void }> {
  let draining = false;
  let starting = options.starting ?? false;
  const app = await createHttpApp({
    logger: services.logger,
    metrics: services.metrics,
    bodyLimit: options.bodyLimit,
    trustProxy: options.trustProxy,
    limits: options.limits,
    rateLimitStore: services.database.kind === 'postgres' ? databaseRateLimitStore(services.database.db) : undefined,
    guard: authGuard(services.auth),
  });
  await app.register(
    opsRoutes({
      database: services.database,
      metrics: services.metrics,
      dependencies: services.dependencies,
      isDraining: () => draining,
      isStarting: () => starting,
    }),
  );
  await app.register(authRoutes(services.auth));
  await app.register(auditRoutes(services.audit));
  await app.register(importsRoutes(services.imports));
  for (const m of services.modules) for (const routes of m.routes) await app.register(routes);
  await subscribeCaches(services);
  for (const m of services.modules) await m.start();
  // What the modules started (timers, subscriptions) ends with the app that started them.
  app.addHook('onClose', async () => {
    for (const m of services.modules) await m.stop();
  });
  return { app, setDraining: () => (draining = true), setStarted: () => (starting = false) };
}

export interface SbiOptions {
  /** TLS (SBI_TLS_CERT/KEY, and SBI_TLS_CA for mutual TLS); absent or null: h2c. */
  tls?: SbiTls | null;
  limits?: HttpLimits;
  http2Limits?: Http2Limits;
}

/**
 * The SBI listener (HTTP/2) for core networks and switches: N5g-eir's equipment-status and call screening, the main
 * API's own route definitions behind the same guard, which takes API keys only here (no console sessions).
 */
export function createSbiServer(services: Services, options: SbiOptions = {}): Promise<SbiApp> {
  return createSbiApp(
    {
      logger: services.logger,
      metrics: services.metrics,
      guard: authGuard(services.auth, { sessions: false }),
      tls: options.tls ?? null,
      limits: options.limits,
      http2Limits: options.http2Limits,
    },
    services.modules.flatMap((m) => m.sbiRoutes),
  );
}
