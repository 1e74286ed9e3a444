import { Type } from '@sinclair/typebox';
import type { Database } from '../db/database.js';
import { pendingMigrations } from '../db/migrate.js';
import type { Metrics } from '../metrics.js';
import type { App } from './app.js';
import { Problem, authErrors } from './schemas.js';

const Health = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.String())) });

/** Liveness, readiness and Prometheus metrics. */
export function opsRoutes(deps: { database: Database; metrics: Metrics; isDraining: () => boolean }) {
  let migrationsCurrent = false;

  async function readiness(): Promise<Record<string, string>> {
    const checks: Record<string, string> = {};
    try {
      await deps.database.ping();
      checks.database = 'ok';
    } catch {
      checks.database = 'unreachable';
      return checks;
    }
    if (!migrationsCurrent) {
      try {
        const pending = await pendingMigrations(deps.database.db);
        migrationsCurrent = pending.length === 0;
        checks.migrations = migrationsCurrent ? 'ok' : `pending: ${pending.join(', ')}`;
      } catch {
        checks.migrations = 'unknown';
      }
    } else checks.migrations = 'ok';
    if (deps.isDraining()) checks.server = 'draining';
    return checks;
  }

  return async function (app: App): Promise<void> {
    app.get('/healthz', {
      config: { public: true, rateLimit: false },
      schema: { tags: ['ops'], summary: 'Liveness: the process answers', response: { 200: Health } },
    }, async () => ({ status: 'ok' }));

    app.get('/readyz', {
      config: { public: true, rateLimit: false },
      schema: { tags: ['ops'], summary: 'Readiness: database reachable and migrations current', response: { 200: Health, 503: Health } },
    }, async (_request, reply) => {
      const checks = await readiness();
      const ok = Object.values(checks).every((v) => v === 'ok');
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks });
    });

    app.get('/metrics', {
      config: { scope: 'metrics:read' },
      schema: { tags: ['ops'], summary: 'Prometheus metrics (text exposition format)', response: { 200: Type.String(), ...authErrors, 500: Problem } },
    }, async (_request, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
  };
}
