import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../../core/auth/principal.js';
import { startTestApp, type TestApp } from '../../../testing/app.js';
import { imeiOf } from '../../../testing/imei.js';
import { createTestDatabase } from '../../../testing/database.js';
import { tablesOf } from '../../../core/changes.js';
import type { DevicesTables } from '../tables.js';
import { stolenRepository } from './stolen-repository.js';

const TAC = '35290612';
const regulator = systemContext('stolen import test');
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  await t.database.db.insertInto('devices_tac').values({ tac: TAC, manufacturer: 'Apple', model_name: 'iPhone 14' }).execute();
  await t.services.eir.reload();
});
afterAll(() => t.close());

const importStolen = (source: string, lines: string[]) =>
  t.services.devices.network.importStolen(regulator, { input: Readable.from([[...lines, ''].join('\n')]), source });
const imei14 = (serial: number) => imeiOf(TAC, serial).slice(0, 14);
const status = (serial: number) => t.services.devices.eir.equipmentStatus(`imei-${imeiOf(TAC, serial)}`, undefined);

async function blocks(): Promise<{ imei14: string; case_number: string; source: string; org_id: string | null }[]> {
  return t.database.db
    .selectFrom('devices_stolen')
    .select(['imei14', 'case_number', 'source', 'org_id'])
    .where('imei14', 'like', `${TAC}%`)
    .orderBy('imei14')
    .execute();
}

/** The payload of the latest `devices.imei.blocked` event. */
async function lastBlockedEvent(): Promise<unknown> {
  const [event] = await t.database.db
    .selectFrom('core_outbox')
    .select('payload')
    .where('topic', '=', 'devices.imei.blocked')
    .orderBy('seq', 'desc')
    .limit(1)
    .execute();
  return event!.payload;
}

async function history(): Promise<{ imei14: string; case_number: string | null; source: string }[]> {
  return t.database.db
    .selectFrom('devices_stolen_history')
    .select(['imei14', 'case_number', 'source'])
    .where('imei14', 'like', `${TAC}%`)
    .orderBy('id')
    .execute();
}

describe('stolen list import (COPY into staging, one set-based merge)', () => {
  it('blocks each listed IMEI once: duplicates take their first line, already stolen IMEIs stay as they were', async () => {
    expect(await importStolen('gsma', ['imei', imeiOf(TAC, 1)])).toMatchObject({ rows: 1, accepted: 1, committed: true });
    const report = await importStolen('kg', ['imei,reference', imeiOf(TAC, 1), `${imeiOf(TAC, 2)},KG-2`, `${imeiOf(TAC, 2)},KG-2b`, imeiOf(TAC, 3)]);
    expect(report).toMatchObject({ rows: 4, accepted: 4, rejected: 0, committed: true });
    expect(await blocks()).toEqual([
      { imei14: imei14(1), case_number: 'gsma list', source: 'gsma', org_id: null },
      { imei14: imei14(2), case_number: 'KG-2', source: 'kg', org_id: null },
      { imei14: imei14(3), case_number: 'kg list', source: 'kg', org_id: null },
    ]);
    expect(await history()).toEqual([
      { imei14: imei14(1), case_number: 'gsma list', source: 'gsma' },
      expect.objectContaining({ imei14: imei14(2), case_number: 'KG-2' }),
      expect.objectContaining({ imei14: imei14(3), case_number: 'kg list' }),
    ]);
    // The event names only the newly blocked IMEIs, and this instance's EIR answers from the commit.
    expect(((await lastBlockedEvent()) as { imei14s: string[] }).imei14s.sort()).toEqual([imei14(2), imei14(3)]);
    expect(await status(2)).toEqual({ status: 'BLACKLISTED' });
    expect(await status(3)).toEqual({ status: 'BLACKLISTED' });
  });

  it('a refused import leaves the blocks as they were: too many bad rows, or a header without the imei column', async () => {
    const before = await blocks();
    const bad = await importStolen('kg', ['imei', imeiOf(TAC, 10), 'xyz', '12345']);
    expect(bad).toMatchObject({ rows: 3, rejected: 2, committed: false, refusal: expect.stringMatching(/^2 of 3 rows are malformed/) });
    expect(bad.errors).toEqual([
      { line: 3, message: 'imei: not_digits' },
      { line: 4, message: expect.stringMatching(/^imei: /) },
    ]);
    const header = await importStolen('kg', ['serial,reference', `${imeiOf(TAC, 11)},KG-11`]);
    expect(header).toMatchObject({ committed: false, refusal: expect.stringMatching(/^line 1: the header lacks column\(s\) imei/) });
    expect(await blocks()).toEqual(before);
    expect(await status(10)).not.toEqual({ status: 'BLACKLISTED' });
  });

  it('a list past 10,000 new blocks: the event asks the EIRs to reload instead of naming them', async () => {
    const serials = Array.from({ length: 10_050 }, (_, i) => 100_000 + i);
    const report = await importStolen('gsma', ['imei', ...serials.map((n) => imeiOf(TAC, n))]);
    expect(report).toMatchObject({ rows: 10_050, accepted: 10_050, committed: true });
    const event = await lastBlockedEvent();
    expect(event).toMatchObject({ reload: true });
    expect(event).not.toHaveProperty('imei14s');
    expect(await status(serials.at(-1)!)).toEqual({ status: 'BLACKLISTED' });
  });

  it('queues every newly blocked IMEI for classification in SQL and hands back only the first few', async () => {
    const database = await createTestDatabase();
    try {
      const staged = sql`(select '3529061' || lpad(n::text, 7, '0') as imei14, 'bulk' as reference, n as ingest_line from generate_series(1, 2500) n)`;
      const blocked = await stolenRepository(tablesOf<DevicesTables>(database.db)).blockStaged(staged, 'gsma', 10);
      expect(blocked.total).toBe(2_500);
      expect(blocked.first).toHaveLength(10);
      const count = async (table: 'devices_classification_pending' | 'devices_stolen_history') =>
        Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(database.db)).rows[0]!.n);
      expect(await count('devices_classification_pending')).toBe(2_500);
      expect(await count('devices_stolen_history')).toBe(2_500);
      expect((await stolenRepository(tablesOf<DevicesTables>(database.db)).blockStaged(staged, 'gsma', 10)).total).toBe(0);
    } finally {
      await database.close();
    }
  });
});
