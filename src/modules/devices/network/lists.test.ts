import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListKind } from '../tables.js';
import { toImei15 } from '../../../identifiers/imei.js';
import { classify } from './classification.js';
import { listCsv, listVersion, regenerateLists } from './lists.js';
import { imei14, kzImsi, msisdn, networkFixture } from './fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../../testing/database.js';

let f: Awaited<ReturnType<typeof networkFixture<TestDatabase>>>;
let opA: string;
let opB: string;
const grey = imei14(1);
const stolen = imei14(2);
const paired = imei14(3);
const stolenPaired = imei14(4);

async function read(operatorId: string, kind: ListKind, since?: number): Promise<{ version: number; rows: string[] }> {
  const list = await listCsv(f.deps, { operatorId, kind, since });
  const rows: string[] = [];
  for await (const line of list.lines) rows.push(line.slice(0, -1));
  return { version: list.version, rows };
}

beforeAll(async () => {
  f = await networkFixture(await createTestDatabase(), '2026-03-01');
  opA = await f.seed.org('Operator A', 'operator');
  opB = await f.seed.org('Operator B', 'operator');
  await f.seed.observed(opA, grey, kzImsi(1), '2026-03-01', '+' + msisdn(1));
  await f.seed.observed(opB, grey, kzImsi(2), '2026-03-01', '+' + msisdn(2));
  await f.seed.registered(stolen);
  await f.seed.stolen(stolen, null);
  await f.seed.observed(opA, paired, kzImsi(3), '2026-03-01', '+' + msisdn(3));
  await f.seed.observed(opA, paired, kzImsi(4), '2026-03-01', '+' + msisdn(4));
  await f.seed.observed(opA, stolenPaired, kzImsi(5), '2026-03-01', '+' + msisdn(5));
  await f.seed.stolen(stolenPaired, null);
  await f.db
    .insertInto('devices_pairings')
    .values([
      { imei14: paired, imsi: kzImsi(3) },
      { imei14: stolenPaired, imsi: kzImsi(5) },
    ])
    .execute();
  await classify(f.deps);
});
afterAll(async () => f.database.close());

describe('lists', () => {
  it('serves one black list to every operator, with the reasons', async () => {
    const a = await read(opA, 'black');
    expect(a.rows).toEqual(['imei,imsi,msisdn,reason', `${toImei15(stolen)},,,stolen`, `${toImei15(stolenPaired)},,,stolen`]);
    expect(a.version).toBeGreaterThan(0);
    expect(await read(opB, 'black')).toEqual(a);
  });

  it('gives each operator the grey devices with its own subscribers’ IMSI and MSISDN, and the deadline', async () => {
    expect((await read(opA, 'notification')).rows).toEqual([
      'imei,imsi,msisdn,reason',
      `${toImei15(grey)},${kzImsi(1)},+${msisdn(1)},not_registered;deadline=2026-03-31`,
      `${toImei15(paired)},${kzImsi(4)},+${msisdn(4)},not_registered;deadline=2026-03-31`,
    ]);
    expect((await read(opB, 'notification')).rows).toEqual([
      'imei,imsi,msisdn,reason',
      `${toImei15(grey)},${kzImsi(2)},+${msisdn(2)},not_registered;deadline=2026-03-31`,
    ]);
  });

  it('lists pairings the operator observed as exceptions, never for a stolen device', async () => {
    expect((await read(opA, 'exception')).rows).toEqual(['imei,imsi,msisdn,reason', `${toImei15(paired)},${kzImsi(3)},+${msisdn(3)},pairing`]);
    expect((await read(opB, 'exception')).rows).toEqual(['imei,imsi,msisdn,reason']);
  });

  it('never gives one operator another’s subscriber data, in full lists or deltas', async () => {
    for (const kind of ['black', 'notification', 'exception'] as const) {
      const text = [...(await read(opB, kind)).rows, ...(await read(opB, kind, 0)).rows].join('\n');
      for (const n of [1, 3, 4, 5]) {
        expect(text).not.toContain(kzImsi(n));
        expect(text).not.toContain(msisdn(n));
      }
    }
  });

  it('appends deltas with versions: add, then remove with a reason; an unchanged state appends nothing', async () => {
    const before = await listVersion(f.deps, { operatorId: opA, kind: 'notification' });
    const blackBefore = await listVersion(f.deps, { operatorId: opB, kind: 'black' });
    await f.seed.registered(grey);
    await f.db.deleteFrom('devices_stolen').where('imei14', '=', stolen).execute();
    expect(await f.service.reclassify([grey, stolen])).toMatchObject({ examined: 2, changed: 2, lists: { added: 0, removed: 3 } });
    const delta = await read(opA, 'notification', before);
    expect(delta.version).toBeGreaterThan(before);
    expect(delta.rows).toEqual(['change,imei,imsi,msisdn,reason,version', `remove,${toImei15(grey)},${kzImsi(1)},+${msisdn(1)},cleared,${delta.version}`]);
    const black = await read(opB, 'black', blackBefore);
    expect(black.rows).toEqual(['change,imei,imsi,msisdn,reason,version', `remove,${toImei15(stolen)},,,cleared,${black.version}`]);
    expect((await read(opA, 'notification', delta.version)).rows).toHaveLength(1);

    const full = await read(opA, 'black', 0);
    expect(full.rows.filter((r) => r.startsWith('add,'))).toHaveLength(2);
    expect(await regenerateLists(f.deps)).toEqual({ added: 0, removed: 0 });
  });

  it('streams a list larger than one page in order', async () => {
    await sql`insert into devices_classification (imei14, status, reasons) select '86' || lpad(g::text, 12, '0'), 'black', array['duplicate'] from generate_series(1, 12000) g`.execute(
      f.db,
    );
    expect(await regenerateLists(f.deps)).toEqual({ added: 12_000, removed: 0 });
    const { rows } = await read(opB, 'black');
    expect(rows).toHaveLength(1 + 1 + 12_000);
    const imeis = rows.slice(1).map((r) => r.split(',')[0]!);
    expect([...imeis].sort()).toEqual(imeis);
    expect(new Set(imeis).size).toBe(imeis.length);
  });

  it('a full list then deltas since its X-List-Version, applied as docs/devices.md says, equal a fresh full list', async () => {
    const [kept, cleared, added] = [imei14(20), imei14(21), imei14(22)];
    await f.seed.observed(opA, kept, kzImsi(20), '2026-03-01', '+' + msisdn(20));
    await f.seed.observed(opA, cleared, kzImsi(21), '2026-03-01', '+' + msisdn(21));
    await classify(f.deps);
    const first = await read(opA, 'notification');
    const copy = new Map(first.rows.slice(1).map((r) => [r.split(',').slice(0, 2).join(','), r]));
    const apply = (rows: string[]) => {
      for (const row of rows.slice(1)) {
        const [change, imei, imsi, number, reason] = row.split(',');
        if (change === 'add') copy.set(`${imei},${imsi}`, [imei, imsi, number, reason].join(','));
        else copy.delete(`${imei},${imsi}`);
      }
    };

    await f.seed.registered(cleared);
    await f.seed.observed(opA, added, kzImsi(22), '2026-03-01', '+' + msisdn(22));
    await f.db
      .updateTable('devices_observations')
      .set({ msisdn: '+' + msisdn(23) })
      .where('imei14', '=', kept)
      .execute();
    await classify(f.deps);
    const delta = await read(opA, 'notification', first.version);
    expect(
      delta.rows
        .map((r) => r.split(',').slice(0, 2).join(','))
        .slice(1)
        .sort(),
    ).toEqual([`add,${toImei15(added)}`, `add,${toImei15(kept)}`, `remove,${toImei15(cleared)}`].sort());
    const versions = delta.rows.slice(1).map((r) => Number(r.split(',')[5]));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions.every((v) => v > first.version && v <= delta.version)).toBe(true);

    // A download cut after the first change resumes from that change's version.
    const resumed = await read(opA, 'notification', versions[0]);
    expect(resumed.rows.slice(1)).toEqual(delta.rows.slice(2));
    apply(delta.rows);
    const fresh = await read(opA, 'notification');
    expect(fresh.version).toBe(delta.version);
    expect([...copy.values()].sort()).toEqual(fresh.rows.slice(1).sort());
    expect(copy.get(`${toImei15(kept)},${kzImsi(20)}`)).toContain(`+${msisdn(23)}`);
    expect(await read(opA, 'notification', delta.version)).toEqual({ version: delta.version, rows: ['change,imei,imsi,msisdn,reason,version'] });
  });
});
