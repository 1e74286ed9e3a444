import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../../core/auth/principal.js';
import { INGEST_DEFAULTS } from '../../../core/ingest/pipeline.js';
import type { Ingest } from '../../../core/ingest/service.js';
import { csv, events, imei14, kzImsi, msisdn, networkFixture } from './fixtures.js';
import { importObservations } from './observations.js';
import { createTestDatabase, type TestDatabase } from '../../../testing/database.js';

const ctx = systemContext('test');
const HEADER = 'date,imei,imsi,msisdn,rat';
let f: Awaited<ReturnType<typeof networkFixture<TestDatabase>>>;
let operator: string;
let police: string;

beforeAll(async () => {
  f = await networkFixture(await createTestDatabase(), '2026-03-10');
  operator = await f.seed.org('Tele2', 'operator');
  police = await f.seed.org('Astana Police', 'police');
});
afterAll(async () => f.database.close());

/** The deps with core's ingest counting the slices the merge is called with. */
function countingSlices(): { deps: typeof f.deps; slices: () => number } {
  let slices = 0;
  const ingest: Ingest = {
    run: (job) => f.deps.ingest.run({ ...job, merge: (trx, source, report) => (slices++, job.merge(trx, source, report)) }),
  };
  return { deps: { ...f.deps, ingest }, slices: () => slices };
}

const snapshot = async () => ({
  pairs: await f.db.selectFrom('devices_observations').selectAll().orderBy('imei14').orderBy('imsi').execute(),
  alerts: await f.db.selectFrom('devices_trace_alerts').selectAll().orderBy('id').execute(),
  pending: await f.db.selectFrom('devices_classification_pending').selectAll().orderBy('imei14').execute(),
  events: await events(f.db, 'devices.trace.alert'),
});

describe('importObservations: the set-based merge', () => {
  it('merges 30,000 rows (in slices on PGlite) into the pairs the rows describe', async () => {
    const PAIRS = 1_000;
    interface Row {
      line: number;
      day: string;
      pair: number;
      msisdn: string;
      rat: string;
    }
    // Every pair has rows on every day 1–9, spread over the whole file; only rows before its last day lack MSISDN/RAT.
    const rows: Row[] = Array.from({ length: 30 * PAIRS }, (_, i) => {
      const pair = i % PAIRS;
      const r = Math.floor(i / PAIRS);
      const day = 1 + ((pair + r * 5) % 9);
      const blank = day < 9 && i % 4 === 0;
      return { line: i + 2, day: `2026-03-0${day}`, pair, msisdn: blank ? '' : msisdn(pair * 100 + r), rat: blank ? '' : ['3G', '4G', '5G'][r % 3]! };
    });
    const expected = new Map<number, { first: string; last: string; msisdn: string; rat: string; at: string }>();
    for (const row of rows) {
      const at = `${row.day}:${String(row.line).padStart(6, '0')}`;
      const e = expected.get(row.pair) ?? { first: row.day, last: row.day, msisdn: '', rat: '', at: '' };
      e.first = row.day < e.first ? row.day : e.first;
      e.last = row.day > e.last ? row.day : e.last;
      if (row.msisdn && at > e.at) Object.assign(e, { msisdn: row.msisdn, rat: row.rat, at });
      expected.set(row.pair, e);
    }
    await f.seed.stolen(imei14(200_007), police, new Date('2026-02-01T00:00:00Z'));

    const { deps, slices } = countingSlices();
    const report = await importObservations(deps, ctx, {
      operatorId: operator,
      input: csv(HEADER, ...rows.map((r) => `${r.day},${imei14(200_000 + r.pair)}0,${kzImsi(200_000 + r.pair)},${r.msisdn},${r.rat}`)),
    });
    expect(report).toMatchObject({ committed: true, rows: 30_000, accepted: 30_000, rejected: 0, newPairs: PAIRS, traceAlerts: 1 });
    expect(slices()).toBe(f.database.kind === 'pglite' ? 30_000 / INGEST_DEFAULTS.mergeSliceRows : 1);
    const stored = await f.db
      .selectFrom('devices_observations')
      .selectAll()
      .where('operator_id', '=', operator)
      .where('imei14', '>=', imei14(200_000))
      .orderBy('imei14')
      .execute();
    expect(stored).toEqual(
      [...expected.entries()].map(([pair, e]) => ({
        imei14: imei14(200_000 + pair),
        imsi: kzImsi(200_000 + pair),
        operator_id: operator,
        msisdn: '+' + e.msisdn,
        rat: e.rat,
        first_seen: e.first,
        last_seen: e.last,
      })),
    );
    expect(await f.db.selectFrom('devices_trace_alerts').select(['imei14', 'imsi']).where('imei14', '=', imei14(200_007)).execute()).toEqual([
      { imei14: imei14(200_007), imsi: kzImsi(200_007) },
    ]);
  });

  it('raises alerts set-based by the same rules: per IMEI, operator and IMSI, seen on or after the Kazakh day of the block', async () => {
    const late = imei14(300_001);
    const early = imei14(300_002);
    // 20:00 UTC on 4 March is 01:00 on 5 March in Kazakhstan: 4 March is before the block, 5 March is not.
    await f.seed.stolen(late, police, new Date('2026-03-04T20:00:00Z'));
    await f.seed.stolen(early, police, new Date('2026-03-01T00:00:00Z'));
    await f.seed.stolen(imei14(300_003), null);
    const before = (await events(f.db, 'devices.trace.alert')).length;
    const report = await importObservations(f.deps, ctx, {
      operatorId: operator,
      input: csv(
        HEADER,
        `2026-03-04,${late}0,${kzImsi(300_001)},${msisdn(301)},4G`,
        `2026-03-05,${late}0,${kzImsi(300_002)},${msisdn(302)},4G`,
        `2026-03-06,${late}0,${kzImsi(300_002)},,4G`,
        `2026-03-02,${early}0,${kzImsi(300_003)},${msisdn(303)},4G`,
        `2026-03-07,${early}0,${kzImsi(300_003)},${msisdn(304)},4G`,
        `2026-03-07,${early}0,${kzImsi(300_004)},,3G`,
        `2026-03-07,${imei14(300_003)}0,${kzImsi(300_005)},${msisdn(305)},4G`,
      ),
    });
    expect(report).toMatchObject({ committed: true, traceAlerts: 3 });
    const alerts = await f.db
      .selectFrom('devices_trace_alerts')
      .select(['id', 'imei14', 'imsi', 'msisdn', 'seen_on', 'police_org_id', 'operator_id', 'case_number'])
      .where('imei14', 'in', [late, early, imei14(300_003)])
      .orderBy('imei14')
      .orderBy('imsi')
      .execute();
    expect(alerts.map(({ id: _, ...a }) => a)).toEqual([
      {
        imei14: late,
        imsi: kzImsi(300_002),
        msisdn: '+' + msisdn(302),
        seen_on: '2026-03-06',
        police_org_id: police,
        operator_id: operator,
        case_number: 'case-1',
      },
      {
        imei14: early,
        imsi: kzImsi(300_003),
        msisdn: '+' + msisdn(304),
        seen_on: '2026-03-07',
        police_org_id: police,
        operator_id: operator,
        case_number: 'case-1',
      },
      { imei14: early, imsi: kzImsi(300_004), msisdn: null, seen_on: '2026-03-07', police_org_id: police, operator_id: operator, case_number: 'case-1' },
    ]);
    const published = (await events(f.db, 'devices.trace.alert')).slice(before);
    expect(published).toHaveLength(3);
    expect(new Set(published.map((e) => e.alertId))).toEqual(new Set(alerts.map((a) => a.id)));
    expect(published).toContainEqual({ alertId: alerts[0]!.id, imei14: late, policeOrgId: police, operatorId: operator, caseNumber: 'case-1' });

    // Seen again: no second alert for the same IMEI, operator and IMSI.
    const again = await importObservations(f.deps, ctx, { operatorId: operator, input: csv(HEADER, `2026-03-08,${late}0,${kzImsi(300_002)},,4G`) });
    expect(again.traceAlerts).toBe(0);
  });

  it('a refused import leaves pairs, alerts, owed classifications and events as they were', async () => {
    const stolen = imei14(400_001);
    await f.seed.stolen(stolen, police);
    await f.deps.run(ctx, (c) =>
      c.db
        .insertInto('devices_classification_pending')
        .values({ imei14: imei14(400_009) })
        .execute(),
    );
    const before = await snapshot();
    const good = Array.from({ length: 99 }, (_, i) => `2026-03-05,${imei14(400_000 + (i % 5))}0,${kzImsi(400_000 + i)},,4G`);
    const report = await importObservations(f.deps, ctx, { operatorId: operator, input: csv(HEADER, ...good, '2026-03-05,1,2,3,4') });
    expect(report).toMatchObject({ committed: false, rows: 100, rejected: 1, newPairs: 0, traceAlerts: 0, classification: null });
    expect(report.refusal).toMatch(/1 of 100 rows are malformed/);
    expect(await snapshot()).toEqual(before);
  });
});
