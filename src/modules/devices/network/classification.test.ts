import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemContext } from '../../../core/auth/principal.js';
import { classifier } from './classification-rules.js';
import type { EventBus } from '../../../core/events/bus.js';
import { classify, startClassificationSchedule } from './classification.js';
import { createEir } from '../eir/eir.js';
import { classificationOf, events, foreignImsi, imei14, kzImsi, networkFixture } from './fixtures.js';
import type { Condition, DeviceFacts } from './repository.js';
import { eirRepository } from '../eir/repository.js';
import { createTestDatabase, type TestDatabase } from '../../../testing/database.js';

const ctx = systemContext('test');
let f: Awaited<ReturnType<typeof networkFixture<TestDatabase>>>;
let operator: string;
let serial = 0;
/** A new device number per test, so tests on the shared database do not meet. */
const next = () => imei14(++serial);

beforeAll(async () => {
  f = await networkFixture(await createTestDatabase(), '2026-03-01');
  operator = await f.seed.org('Kcell', 'operator');
});
afterAll(async () => f.database.close());
beforeEach(async () => {
  // Conditions back to the seeded defaults.
  for (const c of await f.service.getConditions())
    await f.service.updateCondition(ctx, c.name, { ...c, enabled: true, sticky: c.name === 'stolen' || c.name === 'blocked_by_order' });
});

describe('classification', () => {
  it('puts an unregistered device seen with a Kazakh SIM on grey for 30 days, then on black', async () => {
    const imei = next();
    await f.seed.observed(operator, imei, kzImsi(1), '2026-03-01');
    const first = await classify(f.deps, { imei14s: [imei] });
    expect(first).toMatchObject({ examined: 1, grey: 1, changed: 1 });
    expect(await classificationOf(f.db, imei)).toMatchObject({
      status: 'grey',
      reasons: ['not_registered'],
      first_flagged: '2026-03-01',
      deadline: '2026-03-31',
    });
    expect(await events(f.db, 'devices.status.changed')).toContainEqual({ statuses: { [imei]: 'grey' } });

    f.advanceDays(29);
    expect(await classify(f.deps)).toMatchObject({ changed: 0 });
    expect((await classificationOf(f.db, imei))?.status).toBe('grey');
    f.advanceDays(1);
    await classify(f.deps);
    expect(await classificationOf(f.db, imei)).toMatchObject({ status: 'black', first_flagged: '2026-03-01', deadline: '2026-03-31' });
    f.advanceDays(-30);
  });

  it('needs no row for a registered, clean device, and deletes the row once it is registered', async () => {
    const imei = next();
    await f.seed.observed(operator, imei, kzImsi(2), '2026-03-01');
    await classify(f.deps, { imei14s: [imei] });
    expect(await classificationOf(f.db, imei)).not.toBeNull();
    await f.seed.registered(imei);
    expect(await classify(f.deps, { imei14s: [imei] })).toMatchObject({ white: 1, changed: 1 });
    expect(await classificationOf(f.db, imei)).toBeNull();
  });

  it('exempts international roamers from registration, but not a device also used with a Kazakh SIM', async () => {
    const roamer = next();
    const mixed = next();
    await f.seed.observed(operator, roamer, foreignImsi(1), '2026-03-01');
    await f.seed.observed(operator, roamer, foreignImsi(2), '2026-03-01');
    await f.seed.observed(operator, mixed, foreignImsi(3), '2026-03-01');
    await f.seed.observed(operator, mixed, kzImsi(3), '2026-03-01');
    await classify(f.deps, { imei14s: [roamer, mixed] });
    expect(await classificationOf(f.db, roamer)).toBeNull();
    expect((await classificationOf(f.db, mixed))?.reasons).toEqual(['not_registered']);
  });

  it('lets a pairing exempt a device from registration, never from a stolen block', async () => {
    const paired = next();
    const stolen = next();
    for (const imei of [paired, stolen]) {
      await f.seed.observed(operator, imei, kzImsi(4), '2026-03-01');
      await f.service.addPairing(ctx, { imei, imsi: kzImsi(4) });
    }
    await f.seed.stolen(stolen, null);
    await classify(f.deps, { imei14s: [paired, stolen] });
    expect(await classificationOf(f.db, paired)).toBeNull();
    expect(await classificationOf(f.db, stolen)).toMatchObject({ status: 'black', reasons: ['stolen'] });
  });

  it('blocks stolen and ordered IMEIs at once even when never seen, and clears them when the fact is removed', async () => {
    const stolen = next();
    const ordered = next();
    await f.seed.registered(stolen, ordered);
    await f.seed.stolen(stolen, null);
    await f.db.insertInto('devices_orders').values({ imei14: ordered, order_ref: 'court 1' }).execute();
    await classify(f.deps);
    expect(await classificationOf(f.db, stolen)).toMatchObject({ status: 'black', reasons: ['stolen'], deadline: '2026-03-01' });
    expect(await classificationOf(f.db, ordered)).toMatchObject({ status: 'black', reasons: ['blocked_by_order'] });
    await f.db.deleteFrom('devices_stolen').where('imei14', '=', stolen).execute();
    await classify(f.deps);
    expect(await classificationOf(f.db, stolen)).toBeNull();
  });

  it('flags all-zero or test TACs as malformed and unknown TACs for their grace period', async () => {
    const test = '00123456000001';
    const unknown = '86000000000001';
    await f.seed.registered(test, unknown);
    await f.seed.observed(operator, test, kzImsi(5), '2026-03-01');
    await f.seed.observed(operator, unknown, kzImsi(6), '2026-03-01');
    await classify(f.deps, { imei14s: [test, unknown] });
    expect(await classificationOf(f.db, test)).toMatchObject({ status: 'black', reasons: ['malformed', 'tac_unknown'] });
    expect(await classificationOf(f.db, unknown)).toMatchObject({ status: 'grey', reasons: ['tac_unknown'], deadline: '2026-03-31' });
  });

  it('blocks a clone seen with more IMSIs than allowed in the window; sticky keeps it black after the window', async () => {
    const plain = next();
    const sticky = next();
    await f.seed.registered(plain, sticky);
    for (let i = 0; i < 5; i++) {
      await f.seed.observed(operator, plain, kzImsi(100 + i), '2026-03-01');
      await f.seed.observed(operator, sticky, kzImsi(200 + i), '2026-03-01');
    }
    await classify(f.deps, { imei14s: [plain, sticky] });
    expect(await classificationOf(f.db, plain)).toMatchObject({ status: 'black', reasons: ['duplicate'] });
    expect(await classificationOf(f.db, sticky)).toMatchObject({ status: 'black', reasons: ['duplicate'] });
    const dup = (await f.service.getConditions()).find((c) => c.name === 'duplicate')!;
    f.advanceDays(31);
    await f.service.updateCondition(ctx, 'duplicate', { ...dup, sticky: true });
    await classify(f.deps, { imei14s: [sticky] });
    expect(await classificationOf(f.db, sticky)).toMatchObject({ status: 'black', reasons: ['duplicate'] });
    await f.service.updateCondition(ctx, 'duplicate', { ...dup, sticky: false });
    await classify(f.deps, { imei14s: [plain, sticky] });
    f.advanceDays(-31);
    expect(await classificationOf(f.db, plain)).toBeNull();
    expect(await classificationOf(f.db, sticky)).toBeNull();
  });

  it('takes run-time changes to conditions: disabled, non-blocking, another grace period', async () => {
    const imei = next();
    await f.seed.observed(operator, imei, kzImsi(7), '2026-03-01');
    const nr = (await f.service.getConditions()).find((c) => c.name === 'not_registered')!;
    await f.service.updateCondition(ctx, 'not_registered', { ...nr, enabled: false });
    await classify(f.deps, { imei14s: [imei] });
    expect(await classificationOf(f.db, imei)).toBeNull();
    await f.service.updateCondition(ctx, 'not_registered', { ...nr, blocking: false });
    await classify(f.deps, { imei14s: [imei] });
    expect(await classificationOf(f.db, imei)).toMatchObject({ status: 'white', reasons: ['not_registered'], deadline: null });
    await f.service.updateCondition(ctx, 'not_registered', { ...nr, graceDays: 0 });
    await classify(f.deps, { imei14s: [imei] });
    expect((await classificationOf(f.db, imei))?.status).toBe('black');
    await expect(f.service.updateCondition(ctx, 'duplicate', { ...nr, params: { maxImsis: 0 } })).rejects.toThrow(/maxImsis/);
    await expect(f.service.updateCondition(ctx, 'nonsense', nr)).rejects.toThrow(/does not exist/);
  });

  it('asks the other EIRs to reload when more than 10 000 devices changed at once, and reloads its own before it answers', async () => {
    // A bus that never delivers (NATS down): only the writer's own reload can bring its EIR up to date.
    const silent: EventBus = {
      kind: 'memory',
      publish: async () => undefined,
      subscribe: async () => ({ close: async () => undefined }),
      close: async () => undefined,
    };
    const eir = createEir({ repo: () => eirRepository(f.deps.db), bus: silent, logger: f.deps.logger });
    await f.seed.tacs('99000000');
    await eir.start();
    await sql`insert into devices_stolen (imei14, case_number, source) select '99' || lpad(g::text, 12, '0'), 'bulk', 'gsma' from generate_series(1, 10001) g`.execute(
      f.db,
    );
    expect(eir.check('99000000000001', null)).toMatchObject({ status: 'GREYLISTED' });
    expect((await classify({ ...f.deps, eir })).changed).toBeGreaterThan(10_000);
    expect((await events(f.db, 'devices.status.changed')).at(-1)).toMatchObject({ reload: true });
    expect(eir.check('99000000000001', null)).toMatchObject({ status: 'BLACKLISTED' });
    expect(eir.check('99000000010001', null)).toMatchObject({ status: 'BLACKLISTED' });
    eir.stop();
    await sql`delete from devices_stolen where source = 'gsma'`.execute(f.db);
    await sql`delete from devices_tac where tac = '99000000'`.execute(f.db);
    await classify(f.deps);
  });

  it('runs on a schedule and stops', async () => {
    const imei = next();
    await f.seed.stolen(imei, null);
    const stop = startClassificationSchedule(f.deps, 20);
    await expect.poll(() => classificationOf(f.db, imei), { timeout: 10_000 }).not.toBeNull();
    await stop();
  });
});

describe('classifier', () => {
  const condition = (name: Condition['name'], over: Partial<Condition> = {}): Condition => ({
    name,
    blocking: true,
    graceDays: 30,
    sticky: false,
    enabled: true,
    params: {},
    ...over,
  });
  const facts = (over: Partial<DeviceFacts>): DeviceFacts => ({
    imei14: imei14(1),
    seen: true,
    registered: false,
    tacKnown: true,
    stolen: false,
    ordered: false,
    homeUnpaired: true,
    imsis: 1,
    recentImsis: 1,
    previous: null,
    ...over,
  });

  it('uses the smallest grace period of the blocking reasons, from the day first flagged', () => {
    const conditions = [condition('not_registered'), condition('tac_unknown', { graceDays: 10 })];
    const v = classifier(
      conditions,
      '2026-01-05',
    )(facts({ tacKnown: false, previous: { status: 'grey', reasons: ['not_registered'], firstFlagged: '2026-01-01', deadline: '2026-01-31' } }));
    expect(v).toEqual({ status: 'grey', reasons: ['not_registered', 'tac_unknown'], firstFlagged: '2026-01-01', deadline: '2026-01-11' });
  });

  it('does not classify network dimensions of a device never seen', () => {
    expect(classifier([condition('not_registered'), condition('tac_unknown')], '2026-01-05')(facts({ seen: false, tacKnown: false }))).toBeNull();
  });
});
