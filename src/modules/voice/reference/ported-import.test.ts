import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../testing/app.js';
import { startVoiceApp } from '../test-app.fixture.js';

let t: TestApp;
let admin: string;
let kcell: string;

beforeAll(async () => ({ t, admin, kcell } = await startVoiceApp(() => new Date('2026-11-30T10:00:00Z'))));
afterAll(() => t.close());

const HEADER = 'msisdn,operator,portedAt';
const upload = (authorization: string, lines: string[]) =>
  t.app.inject({
    method: 'POST',
    url: '/api/v1/voice/ported',
    headers: { authorization, 'content-type': 'text/csv' },
    payload: [...lines, ''].join('\n'),
  });

/** The register's entry for a number: its operator's name and the day it was ported. */
async function entry(msisdn: string): Promise<{ operator: string; day: string } | undefined> {
  const r = await sql<{ operator: string; day: string }>`select o.name as operator, to_char(p.ported_at at time zone 'UTC', 'YYYY-MM-DD') as day
    from voice_ported p join auth_organisations o on o.id = p.operator_id where p.msisdn = ${msisdn}`.execute(t.database.db);
  return r.rows[0];
}

describe('ported numbers import (COPY into staging, one set-based merge)', () => {
  it('rejects every malformed row by its line and records nothing', async () => {
    const res = await upload(kcell, [
      HEADER,
      'garbage,Kcell,2026-10-01',
      '+77016661002,,2026-10-01',
      '+77016661003,Kcell,2026-02-30',
      '+77016661004,Nobody,2026-10-01',
      '+77016661005,Beeline,2026-10-01',
    ]);
    expect(res.statusCode).toBe(422);
    expect(res.json().report).toMatchObject({ rows: 5, accepted: 1, rejected: 4, committed: false });
    expect(res.json().report.errors).toEqual([
      { line: 2, message: expect.stringMatching(/^msisdn: not a phone number \(/) },
      { line: 3, message: 'operator is empty' },
      { line: 4, message: 'portedAt must be an ISO 8601 date or date-time' },
      { line: 5, message: 'operator "Nobody" is not a known operator organisation' },
    ]);
    expect(await entry('+77016661005')).toBeUndefined();
  });

  it('an operator records only ports of numbers it holds: the others are rejected by line, and nothing is recorded', async () => {
    // 705 is Beeline's range; 747 has no holder on record; 701 is Kcell's.
    const res = await upload(kcell, [HEADER, '+77056662001,Kcell,2026-10-01', '+77476662002,Kcell,2026-10-01', '+77016662003,Beeline,2026-10-01']);
    expect(res.statusCode).toBe(422);
    expect(res.json().report).toMatchObject({ rows: 3, accepted: 1, rejected: 2, committed: false });
    expect(res.json().report.errors).toEqual([
      { line: 2, message: 'the number is held by another operator: an operator records only ports of numbers it holds' },
      { line: 3, message: 'no operator holds this number on record; only the regulator records its port' },
    ]);
    expect(await entry('+77016662003')).toBeUndefined();
  });

  it('counts every refused row, listing the first 100 by line', async () => {
    const numbers = Array.from({ length: 150 }, (_, i) => `+7705667${String(i).padStart(4, '0')},Kcell,2026-10-01`);
    const report = (await upload(kcell, [HEADER, ...numbers])).json().report;
    expect(report).toMatchObject({ rows: 150, accepted: 0, rejected: 150, committed: false });
    expect(report.errors.map((e: { line: number }) => e.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 2));
  });

  it('a number listed twice takes its later line, across merge slices too; the holder on record decides the next import', async () => {
    const filler = Array.from({ length: 5_100 }, (_, i) => `+7701668${String(i).padStart(4, '0')},Beeline,2026-09-01`);
    const res = await upload(admin, [
      HEADER,
      '+77016663001,Kcell,2026-10-01',
      '+77016663002,Kcell,2026-10-01',
      '+77016663002,Beeline,2026-10-06',
      ...filler,
      '+77016663001,Beeline,2026-10-05',
    ]);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ rows: 5_104, accepted: 5_104, rejected: 0, committed: true });
    expect(await entry('+77016663001')).toEqual({ operator: 'Beeline', day: '2026-10-05' });
    expect(await entry('+77016663002')).toEqual({ operator: 'Beeline', day: '2026-10-06' });
    expect(t.services.voice.index.homeOperator('+77016663001')).toBe((await t.services.auth.getOrg('Beeline')).id);
    // Ported to Beeline, the number is no longer Kcell's to record.
    expect((await upload(kcell, [HEADER, '+77016663001,Kcell,2026-11-01'])).json().report.errors).toEqual([
      { line: 2, message: 'the number is held by another operator: an operator records only ports of numbers it holds' },
    ]);
  });

  it('a refused import leaves the register as it was: a bad row, or a header without a required column', async () => {
    expect((await upload(admin, [HEADER, '+77016664001,Kcell,2026-10-01'])).statusCode).toBe(200);
    const before = await t.services.voice.reference.portedCount();
    const bad = await upload(admin, [HEADER, '+77016664001,Beeline,2026-11-01', '+77016664002,Beeline,2026-11-01', '+77016664003,Beeline,not-a-date']);
    expect(bad.json().report).toMatchObject({ committed: false, refusal: expect.stringMatching(/^1 of 3 rows are malformed/) });
    const header = await upload(admin, ['msisdn,operator', '+77016664001,Beeline']);
    expect(header.statusCode).toBe(422);
    expect(header.json().report).toMatchObject({ committed: false, refusal: expect.stringMatching(/^line 1: the header lacks column\(s\) portedat/) });
    expect(await entry('+77016664001')).toEqual({ operator: 'Kcell', day: '2026-10-01' });
    expect(await t.services.voice.reference.portedCount()).toBe(before);
    expect(t.services.voice.index.homeOperator('+77016664001')).toBe((await t.services.auth.getOrg('Kcell')).id);
  });
});
