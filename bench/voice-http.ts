import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { actingFor, systemContext } from '../src/core/auth/principal.js';
import { migrateToLatest } from '../src/core/db/migrate.js';
import { createMemoryBus } from '../src/core/events/memory-bus.js';
import { createHttpServer, createServices } from '../src/server.js';
import { compareWithBaseline, loopbackBase, openBenchDatabase, type Comparison } from './harness.js';

export const description = 'POST /api/v1/voice/screen over 100 k roaming subscribers, a DNO list and a blocklist vs an empty Fastify route';

const ROAMING = Number(process.env.BENCH_VOICE_ROAMING ?? 100_000);
const mobile = (i: number) => `+7701${String(i).padStart(7, '0')}`;

/**
 * Seeds the roaming registry (BENCH_VOICE_ROAMING subscribers abroad), a do-not-originate list and blocklisted
 * numbers through the services, then loads `POST /api/v1/voice/screen` with a mix of calls: genuine roamers, spoofed
 * Kazakh mobiles, Kazakh landlines and Russian numbers from abroad, domestic calls, malformed CLIs, DNO and
 * blocklisted numbers. Calls carry no Identity header (the signature check is measured by the STIR tests).
 */
export async function run(): Promise<Comparison> {
  const logger = pino({ level: 'silent' });
  const database = await openBenchDatabase();
  await migrateToLatest(database.db);
  const services = createServices({ database, bus: createMemoryBus(logger), logger, secret: randomBytes(32).toString('base64url') });
  const system = systemContext('bench voice-http');
  const operator = await services.auth.ensureOrg(system, { name: 'Bench Operator', kind: 'operator' });
  const key = await services.auth.createApiKey(system, { org: operator.name, scopes: ['voice:screen'] });
  const asOperator = actingFor(system, operator);
  let started = performance.now();
  // The bench operator holds the 701 range, so it reports its subscribers' roaming.
  await services.voice.reference.putRangeHolder(system, '701', operator.name);
  for (let from = 0; from < ROAMING; from += 10_000) {
    const entries = Array.from({ length: Math.min(10_000, ROAMING - from) }, (_, i) => ({ msisdn: mobile(from + i), roaming: true, country: 'TR' }));
    const report = await services.voice.reference.putRoaming(asOperator, entries);
    if (report.rejected > 0) throw new Error(`roaming seed rejected ${report.rejected} rows: ${report.results.find((r) => r.status === 'rejected')?.reason}`);
  }
  await services.voice.reference.addDoNotOriginate(system, [
    { number: '+77272596000', label: 'bank hotline' },
    { number: '102', label: 'police' },
  ]);
  for (let i = 0; i < 100; i++) await services.voice.reference.applyBlocklistEvent('intel', `+7747${String(i).padStart(7, '0')}`, true, null);
  console.log(
    `seeded ${ROAMING.toLocaleString('en')} roaming subscribers, a DNO list and 100 blocklisted numbers in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const { app } = await createHttpServer(services);
  started = performance.now();
  console.log(`indexes loaded: ${JSON.stringify(services.voice.index.stats())} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `${loopbackBase(app.server)}/api/v1/voice/screen`;
  const called = '+77017654321';
  const bodies: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const r = i % 20;
    const call =
      r < 6
        ? { callingNumber: mobile((i * 7919) % ROAMING), ingress: 'international' } // roamer: allow
        : r < 9
          ? { callingNumber: `+7702${String(i).padStart(7, '0')}`, ingress: 'international' } // spoofed: block
          : r < 10
            ? { callingNumber: '+77272501234', ingress: 'international' } // landline from abroad: block
            : r < 13
              ? { callingNumber: `+7916${String(i).padStart(7, '0')}`, ingress: 'international' } // Russian: allow
              : r < 17
                ? { callingNumber: `8 705 ${String(i).padStart(7, '0')}`, ingress: 'domestic' } // domestic
                : r < 18
                  ? { callingNumber: 'anonymous', ingress: 'international' } // invalid
                  : r < 19
                    ? { callingNumber: '+77272596000', ingress: 'domestic' } // DNO
                    : { callingNumber: `+7747${String(i % 100).padStart(7, '0')}`, ingress: 'domestic' }; // blocklisted
    bodies.push(JSON.stringify({ ...call, calledNumber: called }));
  }
  const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };
  const check = await fetch(url, { method: 'POST', headers, body: bodies[3] });
  if (check.status !== 200) throw new Error(`screen answered ${check.status}: ${await check.text()}`);
  try {
    return await compareWithBaseline(async () => {
      services.relay.start();
      return { label: 'target: POST /api/v1/voice/screen (mixed)', url, method: 'POST', headers, bodies };
    });
  } finally {
    await app.close();
    await services.voice.stop();
    await services.relay.stop();
    await database.close();
  }
}
