import { randomUUID } from 'node:crypto';
import { createAuditService } from './core/audit/service.js';
import { auditRoutes } from './core/audit/routes.js';
import { authRoutes } from './core/auth/routes.js';
import { createAuthService } from './core/auth/service.js';
import type { Database } from './core/db/database.js';
import type { EventBus } from './core/events/bus.js';
import { createOutbox } from './core/events/outbox.js';
import { createOutboxRelay } from './core/events/relay.js';
import { createHttpApp, type App } from './core/http/app.js';
import { installAuth } from './core/http/auth-hook.js';
import { opsRoutes } from './core/http/ops-routes.js';
import { databaseRateLimitStore } from './core/http/rate-limit-store.js';
import type { Logger } from './core/logger.js';
import { createMetrics, type Metrics } from './core/metrics.js';

export interface CoreDeps {
  database: Database;
  bus: EventBus;
  logger: Logger;
  secret: string;
  clock?: () => Date;
  ids?: () => string;
  metrics?: Metrics;
}

/** Every service, wired by plain factories. Used by the HTTP server and by CLI commands alike. */
export function createServices(deps: CoreDeps) {
  const clock = deps.clock ?? (() => new Date());
  const ids = deps.ids ?? randomUUID;
  const db = deps.database.db;
  const metrics = deps.metrics ?? createMetrics();
  const audit = createAuditService({ db, clock });
  const outbox = createOutbox({ ids, clock });
  const relay = createOutboxRelay({ db, bus: deps.bus, logger: deps.logger, metrics });
  const auth = createAuthService({ db, audit, outbox, secret: deps.secret, clock, ids });
  return { ...deps, clock, ids, metrics, audit, outbox, relay, auth };
}

export type Services = ReturnType<typeof createServices>;

/** Subscriptions that keep this instance's caches in step with changes made by other instances. */
async function subscribeCaches(services: Services): Promise<void> {
  await services.bus.subscribe(
    'auth-key-cache',
    'auth.apikey.revoked',
    async (event) => services.auth.forgetKey(String(event.payload.prefix)),
    { fanout: true },
  );
}

export async function createHttpServer(services: Services, options: { bodyLimit?: number } = {}): Promise<{ app: App; setDraining: () => void }> {
  let draining = false;
  const app = await createHttpApp({
    logger: services.logger,
    metrics: services.metrics,
    bodyLimit: options.bodyLimit,
    rateLimitStore: services.database.kind === 'postgres' ? databaseRateLimitStore(services.database.db) : undefined,
  });
  installAuth(app, services.auth);
  await app.register(opsRoutes({ database: services.database, metrics: services.metrics, isDraining: () => draining }));
  await app.register(authRoutes(services.auth));
  await app.register(auditRoutes(services.audit));
  await subscribeCaches(services);
  return { app, setDraining: () => (draining = true) };
}
