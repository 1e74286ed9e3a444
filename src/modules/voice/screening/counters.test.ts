import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditService } from '../../../core/audit/service.js';
import { systemContext } from '../../../core/auth/principal.js';
import { createChanges } from '../../../core/changes.js';
import { createOutbox } from '../../../core/events/outbox.js';
import { createTestDatabase, type TestDatabase } from '../../../testing/database.js';
import type { VoiceTables } from '../tables.js';
import { createVoiceCounters, type InChange } from './counters.js';
import type { CallToScreen, ScreeningResult } from './schema.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

const call: CallToScreen = { callingNumber: '+77019876543', calledNumber: '+77017654321', ingress: 'international', trunkId: 'gw1' };
const blocked: ScreeningResult = { verdict: 'block', reasons: ['SPOOFED_KZ_MOBILE_FROM_ABROAD', 'IDENTITY_MISSING'] };
const clean: ScreeningResult = { verdict: 'allow', reasons: [] };
const outbox = createOutbox({ ids: () => crypto.randomUUID(), clock: () => new Date() });
let inChange: InChange;
beforeAll(() => {
  const run = createChanges<VoiceTables>({ db: database.db, audit: createAuditService({ db: database.db, clock: () => new Date() }), outbox });
  inChange = (work) => run(systemContext('test'), work);
});
const day = async (d: string) =>
  (
    await database.db.selectFrom('voice_stats_daily').select(['verdict', 'reason', 'calls']).where('day', '=', d).orderBy('verdict').orderBy('reason').execute()
  ).map((r) => `${r.verdict} ${r.reason} ${r.calls}`);

describe('voice counters', () => {
  it('exposes the Prometheus counter, splits days at midnight, and keeps counts through a failed flush', async () => {
    const registry = new Registry();
    const counters = createVoiceCounters({ registry });
    counters.record(call, blocked, 'op1', Date.parse('2026-11-30T23:59:59Z'), 'gw1');
    counters.record(call, clean, 'op1', Date.parse('2026-11-30T23:59:59Z'), 'gw1');
    counters.record(call, blocked, 'op1', Date.parse('2026-12-01T00:00:01Z'), 'gw1');
    const text = await registry.metrics();
    expect(text).toContain('qalqan_voice_calls_total{verdict="block",reason="SPOOFED_KZ_MOBILE_FROM_ABROAD",trunk="gw1",operator="op1"} 2');
    expect(text).toContain('qalqan_voice_calls_total{verdict="allow",reason="none",trunk="gw1",operator="op1"} 1');
    expect(text).not.toContain('reason="*"');

    await expect(counters.flush(() => Promise.reject(new Error('database away')))).rejects.toThrow('database away');
    await counters.flush(inChange);
    expect(await day('2026-11-30')).toEqual(['allow * 1', 'block * 1', 'block IDENTITY_MISSING 1', 'block SPOOFED_KZ_MOBILE_FROM_ABROAD 1']);
    expect(await day('2026-12-01')).toEqual(['block * 1', 'block IDENTITY_MISSING 1', 'block SPOOFED_KZ_MOBILE_FROM_ABROAD 1']);
    const events = await database.db.selectFrom('core_outbox').select('payload').where('topic', '=', 'voice.call.blocked').execute();
    expect(events).toHaveLength(2);
    expect(JSON.stringify(events)).not.toContain('9876543');
    await counters.flush(inChange);
    expect(await day('2026-11-30')).toHaveLength(4);
  });
});
