import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/core/auth/principal.js';
import { openDatabase, type Database } from '../src/core/db/database.js';
import type { EventBus } from '../src/core/events/bus.js';
import { createNatsBus } from '../src/core/events/nats-bus.js';
import type { App } from '../src/core/http/app.js';
import { createHttpServer, createServices, type Services } from '../src/server.js';
import { TEST_SECRET } from '../src/testing/app.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/database.js';
import { hostPort, isReachable } from '../src/testing/tcp-proxy.js';

/*
 * Two instances on one PostgreSQL and one NATS JetStream, in one process: what one writes, the other screens with
 * within 100 ms (the outbox relay is woken by the commit, not by its poll, and the event carries the change).
 */

const DATABASE_URL = process.env.DATABASE_URL;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const nats = hostPort(NATS_URL, 4222);
const natsUp = DATABASE_URL ? await isReachable(nats.host, nats.port, 1_000) : false;
const ready = Boolean(DATABASE_URL) && natsUp;
// CI runs the suite on PGlite too, where this test skips; on PostgreSQL it must find NATS.
if (DATABASE_URL && !natsUp && process.env.CI) throw new Error(`two-instances.test needs NATS at ${NATS_URL} in CI`);

const RUN = randomBytes(4).toString('hex');
const STREAM = `QALQAN_TEST_${RUN}`;
const PREFIX = `qt${RUN}`;
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const ctx = systemContext('two-instances-test');

interface Instance {
  database: Database;
  bus: EventBus;
  services: Services;
  app: App;
}

async function until(condition: () => boolean, limitMs: number): Promise<number> {
  const started = performance.now();
  while (!condition() && performance.now() - started < limitMs) await new Promise((r) => setImmediate(r));
  expect(condition(), `not within ${limitMs} ms`).toBe(true);
  return performance.now() - started;
}

describe.skipIf(!ready)(
  ready ? 'two instances (PostgreSQL + NATS)' : 'two instances — SKIPPED: needs DATABASE_URL (PostgreSQL) and a reachable NATS (NATS_URL)',
  () => {
    let database: TestDatabase;
    const instances: Instance[] = [];

    beforeAll(async () => {
      database = await createTestDatabase();
      for (let i = 0; i < 2; i++) {
        const db = await openDatabase({ kind: 'postgres', url: database.url!, poolSize: 5 });
        const bus = await createNatsBus({ url: NATS_URL, logger, stream: STREAM, subjectPrefix: PREFIX });
        const services = createServices({ database: db, bus, logger, secret: TEST_SECRET });
        const { app } = await createHttpServer(services);
        await app.ready();
        services.relay.start();
        instances.push({ database: db, bus, services, app });
      }
    });

    afterAll(async () => {
      for (const i of instances) {
        await i.services.relay.stop();
        i.services.eir.stop();
        await i.services.voice.stop();
        await i.app.close();
        await i.bus.close().catch(() => {});
        await i.database.close();
      }
      const nc = await connect({ servers: NATS_URL });
      await (await nc.jetstreamManager()).streams.delete(STREAM).catch(() => {});
      await nc.close();
      await database?.close();
    });

    it('a roaming report written on one instance is screened with on the other within 100 ms', async () => {
      const [a, b] = instances as [Instance, Instance];
      const kcell = await a.services.auth.ensureOrg(ctx, { name: 'Kcell', kind: 'operator' });
      await a.services.voice.reference.putRangeHolder(ctx, '701', 'Kcell');
      expect(a.services.voice.index.homeOperator('+77010000000')).toBe(kcell.id);
      const ownership = await until(() => b.services.voice.index.homeOperator('+77010000000') === kcell.id, 1_000);

      const times: number[] = [];
      for (let n = 0; n < 20; n++) {
        const msisdn = `+7701555${String(n).padStart(4, '0')}`;
        const report = await a.services.voice.reference.putRoaming(ctx, [{ msisdn, roaming: true, country: 'TR' }]);
        expect(report.accepted).toBe(1);
        expect(a.services.voice.index.isRoaming(msisdn)).toBe(true);
        times.push(await until(() => b.services.voice.index.isRoaming(msisdn), 1_000));
      }
      times.sort((x, y) => x - y);
      const p50 = times[Math.floor(times.length / 2)]!;
      const max = times[times.length - 1]!;
      console.log(
        `two instances, write on A → B screens with it: range holder ${ownership.toFixed(1)} ms; roaming p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms (20 reports)`,
      );
      expect(max).toBeLessThan(100);
    });
  },
);
