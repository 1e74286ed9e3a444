import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventBus } from '../events/bus.js';
import { startTestApp, type TestApp } from '../../testing/app.js';

/** A NATS-kind bus whose connection state the test sets. */
function switchableNatsBus(): EventBus & { up: boolean } {
  return {
    kind: 'nats',
    up: true,
    connected() {
      return this.up;
    },
    async publish() {
      if (!this.up) throw new Error('NATS connection closed');
    },
    async subscribe() {
      return { close: async () => {} };
    },
    async close() {},
  };
}

describe('dependencies in /readyz and /metrics', () => {
  let t: TestApp;
  let scraper: string;
  const bus = switchableNatsBus();

  beforeAll(async () => {
    t = await startTestApp({ bus });
    scraper = (await t.keyWith(['metrics:read'])).authorization;
  });
  afterAll(() => t.close());

  const ready = () => t.app.inject({ method: 'GET', url: '/readyz' });
  const gauge = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: scraper } });
    expect(res.statusCode).toBe(200);
    return Object.fromEntries([...res.body.matchAll(/^qalqan_dependency_up\{dependency="(\w+)"\} (\d)$/gm)].map((m) => [m[1], Number(m[2])]));
  };

  it('all up: 200, each dependency named, gauge 1', async () => {
    const res = await ready();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok' }, dependencies: { database: 'up', nats: 'up' } });
    expect(await gauge()).toEqual({ database: 1, nats: 1 });
  });

  it('NATS down: 503 naming it, gauge 0; back: 200 again', async () => {
    bus.up = false;
    try {
      const res = await ready();
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'not ready', dependencies: { database: 'up', nats: 'down' } });
      expect(await gauge()).toEqual({ database: 1, nats: 0 });
    } finally {
      bus.up = true;
    }
    expect((await ready()).statusCode).toBe(200);
    expect(await gauge()).toEqual({ database: 1, nats: 1 });
  });

  it('database down, or a ping that hangs: 503 naming it, gauge 0', async () => {
    const ping = t.database.ping;
    try {
      t.database.ping = async () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      };
      const res = await ready();
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ checks: { database: 'unreachable' }, dependencies: { database: 'down', nats: 'up' } });
      // A database that takes the connection but never answers: down after the ping's time limit, not a hung probe.
      t.database.ping = () => new Promise(() => {});
      const started = Date.now();
      expect((await ready()).json().dependencies.database).toBe('down');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      t.database.ping = ping;
    }
    expect(await gauge()).toEqual({ database: 1, nats: 1 });
  });
});

describe('the in-process bus has no broker to report', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('names only the database', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json().dependencies).toEqual({ database: 'up' });
  });
});
