import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { systemContext } from '../core/auth/principal.js';
import type { OrgKind } from '../core/db/types.js';
import type { EventBus } from '../core/events/bus.js';
import { createMemoryBus } from '../core/events/memory-bus.js';
import type { App } from '../core/http/app.js';
import type { HttpLimits } from '../core/http/limits.js';
import { createHttpServer, createServices, type Services } from '../server.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';

export interface TestApp {
  app: App;
  services: Services;
  database: TestDatabase;
  /** Publishes pending outbox events and waits until in-process subscribers have handled them, until none is left. */
  relayed(): Promise<void>;
  /**
   * Creates an organisation (once per name; of kind `kind`, the regulator by default) and an API key with these
   * scopes; returns the bearer header.
   */
  keyWith(scopes: string[], org?: string, kind?: OrgKind): Promise<{ authorization: string; keyId: string; orgId: string }>;
  /** The request over a real socket (`inject` bypasses the server: only this goes through its limits and parser). */
  overHttp(request: { method: 'GET' | 'POST'; url: string; headers?: Record<string, string>; body?: string }): Promise<HttpAnswer>;
  close(): Promise<void>;
}

export interface HttpAnswer {
  statusCode: number;
  headers: Headers;
  body: string;
}

export interface TestAppOptions {
  bus?: EventBus;
  clock?: () => Date;
  /** Extra routes a test needs (registered before the app is ready). */
  routes?: (app: App) => void;
  /** HTTP timeouts and connection cap (DEFAULT_HTTP_LIMITS when absent). */
  limits?: HttpLimits;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const database = await createTestDatabase();
  const memoryBus = options.bus ? null : createMemoryBus(logger, 5);
  const bus = options.bus ?? memoryBus!;
  const services = createServices({ database, bus, logger, secret: TEST_SECRET, clock: options.clock });
  const { app } = await createHttpServer(services, { limits: options.limits });
  options.routes?.(app);
  await app.ready();
  const ctx = systemContext('test');
  let base: string | null = null;
  return {
    app,
    services,
    database,
    async relayed() {
      // Handlers may write events of their own (a block re-classifies, which announces new statuses): repeat until quiet.
      for (let round = 0; round < 10; round++) {
        const published = await services.relay.drain();
        await memoryBus?.settled();
        if (published === 0) return;
      }
    },
    async keyWith(scopes, org = 'Test Regulator', kind = 'regulator') {
      const created = await services.auth.ensureOrg(ctx, { name: org, kind });
      if (created.kind !== kind) throw new Error(`test organisation ${org} exists with kind ${created.kind}, not ${kind}`);
      const key = await services.auth.createApiKey(ctx, { org, scopes });
      return { authorization: `Bearer ${key.key}`, keyId: key.id, orgId: created.id };
    },
    async overHttp({ method, url, headers, body }) {
      if (base === null) {
        await app.listen({ host: '127.0.0.1', port: 0 });
        base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      }
      const res = await fetch(`${base}${url}`, { method, headers, body });
      const answer = await res.text();
      return { statusCode: res.status, headers: res.headers, body: answer };
    },
    async close() {
      for (const m of services.modules) await m.stop();
      await app.close();
      await services.relay.stop();
      await bus.close();
      await database.close();
    },
  };
}
