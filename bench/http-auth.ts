import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { systemContext } from '../src/core/auth/principal.js';
import { migrateToLatest } from '../src/core/db/migrate.js';
import { createMemoryBus } from '../src/core/events/memory-bus.js';
import { createHttpServer, createServices } from '../src/server.js';
import { compareWithBaseline, loopbackBase, openBenchDatabase, type Comparison } from './harness.js';

export const description = 'GET /api/v1/auth/me with an API key through the full app, against an empty Fastify route';

const ORG = 'Benchmark Regulator';

/**
 * The whole app as `qalqan serve` wires it (every plugin and hook, the outbox relay running), on a fresh in-memory
 * PGlite, or on PostgreSQL when DATABASE_URL is set (it is migrated, and gets an organisation and a key that is
 * revoked at the end). The logger is silent: the app writes one line per request at info, which would measure pino.
 */
export async function run(): Promise<Comparison> {
  const logger = pino({ level: 'silent' });
  const database = await openBenchDatabase();
  try {
    await migrateToLatest(database.db);
  } catch (err) {
    await database.close();
    throw err;
  }
  const bus = createMemoryBus(logger);
  const services = createServices({ database, bus, logger, secret: randomBytes(32).toString('base64url') });
  const { app } = await createHttpServer(services);
  let keyId: string | null = null;
  const ctx = systemContext('bench http-auth');
  try {
    await services.auth.ensureOrg(ctx, { name: ORG, kind: 'regulator' });
    const key = await services.auth.createApiKey(ctx, { org: ORG, name: 'http-auth benchmark', scopes: ['*'] });
    keyId = key.id;
    await app.listen({ host: '127.0.0.1', port: 0 });

    const url = `${loopbackBase(app.server)}/api/v1/auth/me`;
    const headers = { authorization: `Bearer ${key.key}` };
    // One request by hand first: a benchmark of 401s would look fast and mean nothing.
    const check = await fetch(url, { headers });
    if (check.status !== 200) throw new Error(`GET /api/v1/auth/me answered ${check.status}, not 200: ${await check.text()}`);
    await check.body?.cancel();

    // The outbox relay polls the database on the main thread, as in `qalqan serve`; it runs through every round.
    return await compareWithBaseline(async () => {
      services.relay.start();
      return { label: 'target: GET /api/v1/auth/me', url, headers };
    });
  } finally {
    await app.close();
    if (keyId) await services.auth.revokeApiKey(ctx, keyId).catch(() => undefined);
    await services.relay.stop();
    await bus.close();
    await database.close();
  }
}
