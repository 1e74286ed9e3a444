import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../../core/auth/principal.js';
import { classificationOf, csv, events, imei14, kzImsi, msisdn, networkFixture } from './fixtures.js';
import { importObservations, observationParser } from './observations.js';
import { createTestDatabase, type TestDatabase } from '../../../testing/database.js';

const ctx = systemContext('test');
const HEADER = 'date,imei,imsi,msisdn,rat';
let f: Awaited<ReturnType<typeof networkFixture<TestDatabase>>>;
let operator: string;
let police: string;

beforeAll(async () => {
  f = await networkFixture(await createTestDatabase(), '2026-03-10');
  operator = await f.seed.org('Beeline', 'operator');
  police = await f.seed.org('Almaty Police', 'police');
});
afterAll(async () => f.database.close());

const run = (lines: string[], maxMalformedShare?: number) =>
  importObservations(f.deps, ctx, { operatorId: operator, input: csv(HEADER, ...lines), maxMalformedShare });

describe('observationParser', () => {
  const row = (over: Record<string, string>) => ({ date: '2026-03-01', imei: imei14(1) + '0', imsi: kzImsi(1), msisdn: '77011234567', rat: '4G', ...over });
  const error = (over: Record<string, string>) => {
    const r = observationParser('2026-03-10')(row(over));
    return r.ok ? null : r.error;
  };

  it('keys on the first 14 digits: the spare 0 in place of the check digit is no error', () => {
    expect(observationParser('2026-03-10')(row({}))).toEqual({
      ok: true,
      value: { day: '2026-03-01', imei14: imei14(1), imsi: kzImsi(1), msisdn: '+77011234567', rat: '4G' },
    });
  });

  it('rejects bad dates, IMEIs, IMSIs and MSISDNs with a reason', () => {
    expect(error({ date: '2026-02-30' })).toMatch(/calendar day/);
    expect(error({ date: '01.03.2026' })).toMatch(/calendar day/);
    expect(error({ date: '2026-03-11' })).toMatch(/future/);
    expect(error({ imei: '3533281100001X' })).toMatch(/other than digits/);
    expect(error({ imei: '3533281100001' })).toMatch(/14 to 16 digits/);
    expect(error({ imsi: '40101' })).toMatch(/imsi/);
    expect(error({ msisdn: '12ab' })).toMatch(/msisdn/);
  });

  it('accepts international numbers written without +, and an empty MSISDN or RAT', () => {
    expect(observationParser('2026-03-10')(row({ msisdn: '4915112345678', rat: '' }))).toMatchObject({
      ok: true,
      value: { msisdn: '+4915112345678', rat: null },
    });
    expect(observationParser('2026-03-10')(row({ msisdn: '' }))).toMatchObject({ ok: true, value: { msisdn: null } });
  });
});

describe('importObservations', () => {
  it('keeps one row per IMEI–IMSI pair with first and last seen, and classifies the devices seen', async () => {
    const imei = imei14(10);
    const report = await run([
      `2026-03-05,${imei}0,${kzImsi(10)},${msisdn(10)},4G`,
      `2026-03-02,${imei}0,${kzImsi(10)},${msisdn(10)},3G`,
      `2026-03-08,${imei}0,${kzImsi(10)},${msisdn(11)},5G`,
      `2026-03-03,00000000000000,${kzImsi(11)},,`,
    ]);
    expect(report).toMatchObject({ committed: true, rows: 4, accepted: 4, rejected: 0, newPairs: 2, traceAlerts: 0 });
    expect(report.classification).toMatchObject({ examined: 2, grey: 1, black: 1 });
    const rows = await f.db.selectFrom('devices_observations').selectAll().where('imei14', '=', imei).execute();
    expect(rows).toEqual([
      { imei14: imei, imsi: kzImsi(10), operator_id: operator, msisdn: '+' + msisdn(11), rat: '5G', first_seen: '2026-03-02', last_seen: '2026-03-08' },
    ]);
    expect(await classificationOf(f.db, imei)).toMatchObject({ status: 'grey', reasons: ['not_registered'] });
    expect((await classificationOf(f.db, '00000000000000'))?.reasons).toContain('malformed');
    const audit = await f.db.selectFrom('audit_log').selectAll().where('action', '=', 'devices.observations.import').execute();
    expect(audit[0]?.detail).toMatchObject({ rows: 4, newPairs: 2 });

    const again = await run([`2026-03-01,${imei}0,${kzImsi(10)},${msisdn(12)},2G`]);
    expect(again.newPairs).toBe(0);
    const row = await f.db.selectFrom('devices_observations').selectAll().where('imei14', '=', imei).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ first_seen: '2026-03-01', last_seen: '2026-03-08', msisdn: '+' + msisdn(11) });
  });

  it('merges a pair repeated across batches', async () => {
    const imei = imei14(20);
    const lines = Array.from({ length: 4_500 }, (_, i) => `2026-03-0${(Math.floor(i / 3) % 9) + 1},${imei14(20 + (i % 3))}0,${kzImsi(20)},${msisdn(20)},4G`);
    const report = await run(lines);
    expect(report).toMatchObject({ committed: true, accepted: 4_500, newPairs: 3 });
    const row = await f.db.selectFrom('devices_observations').selectAll().where('imei14', '=', imei).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ first_seen: '2026-03-01', last_seen: '2026-03-09' });
  });

  it('reports malformed rows by line and refuses the whole file above the allowed share', async () => {
    const before = await f.db
      .selectFrom('devices_observations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const good = Array.from({ length: 9 }, (_, i) => `2026-03-01,${imei14(30 + i)}0,${kzImsi(30)},${msisdn(30)},4G`);
    const refused = await run([...good, `2026-03-01,12345,${kzImsi(30)},,`]);
    expect(refused).toMatchObject({
      committed: false,
      rows: 10,
      rejected: 1,
      errors: [{ line: 11, message: 'imei must have 14 to 16 digits' }],
      classification: null,
    });
    expect(refused.refusal).toMatch(/1 of 10 rows are malformed/);
    const after = await f.db
      .selectFrom('devices_observations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));

    const allowed = await run([...good, `2026-03-01,12345,${kzImsi(30)},,`], 0.2);
    expect(allowed).toMatchObject({ committed: true, accepted: 9, rejected: 1 });
  });

  it('raises one trace alert per operator and IMSI for a stolen device seen since its block, with the block’s case number and without the MSISDN in the event', async () => {
    const stolen = imei14(40);
    const gsma = imei14(41);
    await f.seed.stolen(stolen, police, new Date('2026-03-04T10:00:00Z'));
    await f.seed.stolen(gsma, null);
    const report = await run([
      `2026-03-03,${stolen}0,${kzImsi(40)},${msisdn(40)},4G`,
      `2026-03-05,${stolen}0,${kzImsi(41)},${msisdn(41)},4G`,
      `2026-03-05,${gsma}0,${kzImsi(42)},${msisdn(42)},4G`,
    ]);
    expect(report.traceAlerts).toBe(1);
    const alerts = await f.db.selectFrom('devices_trace_alerts').selectAll().execute();
    expect(alerts).toMatchObject([
      {
        imei14: stolen,
        police_org_id: police,
        operator_id: operator,
        imsi: kzImsi(41),
        msisdn: '+' + msisdn(41),
        seen_on: '2026-03-05',
        case_number: 'case-1',
      },
    ]);
    expect(await events(f.db, 'devices.trace.alert')).toEqual([
      { alertId: alerts[0]!.id, imei14: stolen, policeOrgId: police, operatorId: operator, caseNumber: 'case-1' },
    ]);
    expect((await run([`2026-03-06,${stolen}0,${kzImsi(41)},${msisdn(41)},4G`])).traceAlerts).toBe(0);
  });

  it('refuses a header lacking a column in the report, and changes nothing', async () => {
    const report = await importObservations(f.deps, ctx, { operatorId: operator, input: csv('date,imei,imsi', `2026-03-01,${imei14(50)}0,${kzImsi(50)}`) });
    expect(report).toMatchObject({ committed: false, classification: null, newPairs: 0, traceAlerts: 0 });
    expect(report.refusal).toMatch(/^line 1: the header lacks column\(s\) msisdn, rat/);
    expect(await f.db.selectFrom('devices_observations').select('imei14').where('imei14', '=', imei14(50)).execute()).toEqual([]);
  });
});
