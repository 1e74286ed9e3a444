import { Type } from '@sinclair/typebox';
import type { Database } from '../db/database.js';
import { pendingMigrations } from '../db/migrate.js';
import type { Dependencies, DependencyState } from '../dependencies.js';
import type { Metrics } from '../metrics.js';
import type { App } from './app.js';
import { Problem, authErrors } from './schemas.js';

const Health = Type.Object({
  status: Type.String(),
  checks: Type.Optional(Type.Record(Type.String(), Type.String())),
  dependencies: Type.Optional(
    Type.Record(Type.String(), Type.Union([Type.Literal('up'), Type.Literal('down')]), { description: 'database, and nats when configured' }),
  ),
});

/**
 * Liveness, readiness and Prometheus metrics. Ready means: every dependency up (the database; NATS when configured,
 * since without it this instance no longer follows other instances' writes), migrations current, not starting or draining.
 */
export function opsRoutes(deps: { database: Database; metrics: Metrics; dependencies: Dependencies; isDraining: () => boolean; isStarting?: () => boolean }) {
  let migrationsCurrent = false;

  async function readiness(dependencies: Record<string, DependencyState>): Promise<Record<string, string>> {
    const checks: Record<string, string> = {};
    if (dependencies.database === 'down') {
      checks.database = 'unreachable';
      return checks;
    }
    checks.database = 'ok';
    if (!migrationsCurrent) {
      try {
        const pending = await pendingMigrations(deps.database.db);
        migrationsCurrent = pending.length === 0;
        checks.migrations = migrationsCurrent ? 'ok' : `pending: ${pending.join(', ')}`;
      } catch {
        checks.migrations = 'unknown';
      }
    } else checks.migrations = 'ok';
    // Starting: `qalqan serve` is still loading the demo and printing its first lines (serve.ts).
    if (deps.isStarting?.()) checks.server = 'starting';
    else if (deps.isDraining()) checks.server = 'draining';
    return checks;
  }

  return async function (app: App): Promise<void> {
    app.get(
      '/healthz',
      {
        config: { public: true, rateLimit: false },
        schema: { tags: ['ops'], summary: 'Liveness: the process answers', response: { 200: Health } },
      },
      async () => ({ status: 'ok' }),
    );

    app.get(
      '/readyz',
      {
        config: { public: true, rateLimit: false },
        schema: {
          tags: ['ops'],
          summary: 'Readiness: dependencies up (database; NATS when configured), migrations current',
          response: { 200: Health, 503: Health },
        },
      },
      async (_request, reply) => {
        const dependencies = await deps.dependencies.check();
        const checks = await readiness(dependencies);
        const ok = Object.values(checks).every((v) => v === 'ok') && Object.values(dependencies).every((v) => v === 'up');
        return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks, dependencies });
      },
    );

    app.get(
      '/metrics',
      {
        config: { scope: 'metrics:read' },
        schema: { tags: ['ops'], summary: 'Prometheus metrics (text exposition format)', response: { 200: Type.String(), ...authErrors, 500: Problem } },
      },
      async (_request, reply) => {
        await deps.dependencies.check();
        return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
      },
    );
  };
}
