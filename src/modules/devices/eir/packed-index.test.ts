import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packImei14 } from '../../../identifiers/imei.js';
import { PackedStatusIndex } from './packed-index.js';
import { STATUS_BLACK, STATUS_GREY, STATUS_NONE, STATUS_WHITE, type StatusCode } from './status.js';
import { TacSet } from './tac-set.js';
import { prng } from '../../../../bench/prng.js';

const MAX_KEY = 1e14 - 1;

/** n IMEIs over a few hundred TACs (so keys cluster as real ones do), with codes 1–3. */
function fixture(n: number, seed: number): [number, StatusCode][] {
  const random = prng(seed);
  const tacs = Array.from({ length: 300 }, () => 1_000_000 + Math.floor(random() * 98_999_999));
  return Array.from({ length: n }, () => {
    const tac = tacs[Math.floor(random() * random() * tacs.length)]!;
    const key = tac * 1_000_000 + Math.floor(random() * 1_000_000);
    return [key, (1 + Math.floor(random() * 3)) as StatusCode];
  });
}

/** The reference model: a Map, last write wins, code 0 deletes. */
function modelOf(entries: Iterable<readonly [number, StatusCode]>): Map<number, StatusCode> {
  const model = new Map<number, StatusCode>();
  for (const [key, code] of entries) {
    if (code === 0) model.delete(key);
    else model.set(key, code);
  }
  return model;
}

function countsOf(model: Map<number, StatusCode>): { white: number; grey: number; black: number } {
  const counts = { white: 0, grey: 0, black: 0 };
  for (const code of model.values()) {
    if (code === 1) counts.white++;
    else if (code === 2) counts.grey++;
    else if (code === 3) counts.black++;
  }
  return counts;
}

function expectMatches(index: PackedStatusIndex, model: Map<number, StatusCode>, probes: Iterable<number>): void {
  for (const key of probes) {
    const got = index.get(key);
    const want = model.get(key) ?? STATUS_NONE;
    if (got !== want) expect({ key, got }).toEqual({ key, got: want });
  }
  expect(index.size).toBe(model.size);
  expect(index.counts()).toEqual(countsOf(model));
}

describe('PackedStatusIndex', () => {
  it('answers white, grey, black and none', async () => {
    const white = packImei14('35693803564380');
    const grey = packImei14('86012345678901');
    const black = packImei14('01234567000000');
    const index = await PackedStatusIndex.build([
      [grey, STATUS_GREY],
      [black, STATUS_BLACK],
      [white, STATUS_WHITE],
    ]);
    expect(index.get(white)).toBe(STATUS_WHITE);
    expect(index.get(grey)).toBe(STATUS_GREY);
    expect(index.get(black)).toBe(STATUS_BLACK);
    expect(index.get(white + 1)).toBe(STATUS_NONE);
    expect(index.get(black - 1)).toBe(STATUS_NONE);
    expect(index.get(0)).toBe(STATUS_NONE);
    expect(index.get(MAX_KEY)).toBe(STATUS_NONE);
    expect(index.getImei('35693803564380')).toBe(STATUS_WHITE);
    expect(index.getImei('35693803564381')).toBe(STATUS_NONE);
    expect(index.size).toBe(3);
    expect(index.counts()).toEqual({ white: 1, grey: 1, black: 1 });
  });

  it('keeps neighbouring IMEIs and the extreme keys apart', async () => {
    const entries: [number, StatusCode][] = [
      [0, 3],
      [1, 1],
      [2, 2],
      [MAX_KEY, 2],
      [MAX_KEY - 1, 3],
      [5e13, 1],
      [5e13 + 1, 3],
    ];
    const index = await PackedStatusIndex.build(entries);
    expectMatches(index, modelOf(entries), [0, 1, 2, 3, 4, MAX_KEY, MAX_KEY - 1, MAX_KEY - 2, 5e13 - 1, 5e13, 5e13 + 1, 5e13 + 2]);
  });

  it('answers 0 for numbers that are not packed IMEIs, and getImei rejects non-IMEIs', async () => {
    const index = await PackedStatusIndex.build([[4, STATUS_BLACK]]);
    for (const bad of [NaN, -1, -4, 4.5, 1e14, Infinity, -Infinity]) expect(index.get(bad)).toBe(STATUS_NONE);
    expect(() => index.getImei('1234')).toThrow(RangeError);
    expect(() => index.getImei('3569380356438x')).toThrow(RangeError);
  });

  it('works empty, and from an empty build', async () => {
    const index = await PackedStatusIndex.build([]);
    expect(index.get(123)).toBe(STATUS_NONE);
    expect(index.size).toBe(0);
    expect(index.bytesPerEntry()).toBe(0);
    index.set(123, STATUS_GREY);
    expect(index.get(123)).toBe(STATUS_GREY);
    index.compact();
    expect(index.get(123)).toBe(STATUS_GREY);
    expect(index.size).toBe(1);
  });

  it('lets the last duplicate win in build, code 0 removing', async () => {
    const index = await PackedStatusIndex.build([
      [10, 3],
      [20, 1],
      [10, 1],
      [20, 2],
      [30, 3],
      [30, 0],
      [40, 0],
      [50, 0],
      [50, 2],
    ]);
    expect([10, 20, 30, 40, 50].map((k) => index.get(k))).toEqual([1, 2, 0, 0, 2]);
    expect(index.size).toBe(3);
    expect(index.counts()).toEqual({ white: 1, grey: 2, black: 0 });
  });

  it('builds from an async iterable and across several internal chunks', async () => {
    async function* stream(): AsyncGenerator<[number, StatusCode]> {
      yield [7, 1];
      yield [8, 3];
      yield [7, 2];
    }
    const small = await PackedStatusIndex.build(stream());
    expect([small.get(7), small.get(8)]).toEqual([2, 3]);

    // 2.5 M entries with duplicates spread across the 2^20 build chunks, so later chunks override earlier ones.
    const n = 2_500_000;
    function* many(): Generator<[number, StatusCode]> {
      for (let i = 0; i < n; i++) yield [(i * 7919) % 1_500_000, ((i % 3) + 1) as StatusCode];
    }
    const index = await PackedStatusIndex.build(many(), n);
    const model = new Map<number, StatusCode>();
    for (let i = 0; i < n; i++) model.set((i * 7919) % 1_500_000, ((i % 3) + 1) as StatusCode);
    const probes = [0, 1, 2, 1_499_999, 1_500_000, 7919, 123_456, 999_999];
    for (let k = 0; k < 1_500_000; k += 997) probes.push(k);
    expectMatches(index, model, probes);
  }, 60_000);

  it('rejects invalid keys and codes in build and set', async () => {
    await expect(PackedStatusIndex.build([[-1, 1]])).rejects.toThrow(RangeError);
    await expect(PackedStatusIndex.build([[1e14, 1]])).rejects.toThrow(RangeError);
    await expect(PackedStatusIndex.build([[1.5, 1]])).rejects.toThrow(RangeError);
    await expect(PackedStatusIndex.build([[1, 4 as StatusCode]])).rejects.toThrow(RangeError);
    const index = await PackedStatusIndex.build([[1, 1]]);
    expect(() => index.set(NaN, 1)).toThrow(RangeError);
    expect(() => index.set(2, 7 as StatusCode)).toThrow(RangeError);
    expect(index.size).toBe(1);
  });

  it('set overrides the base, set 0 removes, and both survive compaction', async () => {
    const index = await PackedStatusIndex.build([
      [100, 1],
      [200, 2],
      [300, 3],
    ]);
    index.set(100, STATUS_BLACK);
    index.set(200, STATUS_NONE);
    index.set(400, STATUS_GREY);
    index.set(500, STATUS_WHITE);
    index.set(500, STATUS_NONE); // added then removed before any compaction
    index.set(600, STATUS_NONE); // removing what is not there
    const expected = [3, 0, 3, 2, 0, 0];
    expect([100, 200, 300, 400, 500, 600].map((k) => index.get(k))).toEqual(expected);
    expect(index.size).toBe(3);
    expect(index.counts()).toEqual({ white: 0, grey: 1, black: 2 });
    index.compact();
    expect([100, 200, 300, 400, 500, 600].map((k) => index.get(k))).toEqual(expected);
    expect(index.size).toBe(3);
    expect(index.counts()).toEqual({ white: 0, grey: 1, black: 2 });
    index.compact(); // nothing to merge
    expect(index.size).toBe(3);
  });

  it('compacts by itself as changes pile up, and every answer stays right', async () => {
    const entries = fixture(200_000, 7);
    const index = await PackedStatusIndex.build(entries, entries.length);
    const model = modelOf(entries);
    const random = prng(99);
    const touched: number[] = [];
    // 1% of the base is 2000 changes: 20 000 sets go through several automatic compactions.
    for (let i = 0; i < 20_000; i++) {
      const key = random() < 0.5 ? entries[Math.floor(random() * entries.length)]![0] : Math.floor(random() * 1e14);
      const code = Math.floor(random() * 4) as StatusCode;
      index.set(key, code);
      if (code === 0) model.delete(key);
      else model.set(key, code);
      touched.push(key);
    }
    expect(index.bytesPerEntry()).toBeLessThanOrEqual(10);
    expectMatches(index, model, [...touched, ...entries.slice(0, 20_000).map(([k]) => k)]);
    index.compact();
    expectMatches(index, model, [...touched, ...entries.slice(0, 20_000).map(([k]) => k)]);
  });

  it('holds at most 10 bytes per IMEI on a 200k build, and answers every key and its neighbours', async () => {
    const entries = fixture(200_000, 42);
    const index = await PackedStatusIndex.build(entries);
    const model = modelOf(entries);
    expect(model.size).toBeGreaterThan(190_000);
    const bytes = index.bytesPerEntry();
    expect(bytes).toBeGreaterThanOrEqual(8);
    expect(bytes).toBeLessThanOrEqual(10);
    const probes: number[] = [];
    for (const key of model.keys()) probes.push(key, key - 1, key + 1);
    expectMatches(index, model, probes);
  });

  it('matches a Map model through any sequence of build, set/delete and compact (property)', async () => {
    // Keys from a tiny range (many collisions), a cluster inside one TAC, the extremes, and anywhere.
    const key = fc.oneof(
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 35_693_803_000_000, max: 35_693_803_000_060 }),
      fc.constantFrom(0, 1, MAX_KEY - 1, MAX_KEY),
      fc.integer({ min: 0, max: MAX_KEY }),
    );
    const code = fc.constantFrom<StatusCode>(0, 1, 2, 3);
    const op = fc.oneof(
      { weight: 8, arbitrary: fc.record({ kind: fc.constant('set' as const), key, code }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const) }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(key, code), { maxLength: 80 }),
        fc.array(op, { maxLength: 120 }),
        fc.array(key, { maxLength: 30 }),
        async (entries, ops, untouched) => {
          const index = await PackedStatusIndex.build(entries);
          const model = modelOf(entries);
          const touched = entries.map(([k]) => k);
          for (const o of ops) {
            if (o.kind === 'compact') {
              index.compact();
              continue;
            }
            index.set(o.key, o.code);
            if (o.code === 0) model.delete(o.key);
            else model.set(o.key, o.code);
            touched.push(o.key);
          }
          expectMatches(index, model, [...touched, ...untouched]);
          index.compact();
          expectMatches(index, model, [...touched, ...untouched]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('TacSet', () => {
  it('holds TACs given as 8-digit strings or as numbers', () => {
    const tacs = TacSet.build(['35693803', 86012345, '01234567']);
    expect(tacs.size).toBe(3);
    expect(tacs.has('35693803')).toBe(true);
    expect(tacs.has(35693803)).toBe(true);
    expect(tacs.has(1234567)).toBe(true); // '01234567'
    expect(tacs.has('86012345')).toBe(true);
    expect(tacs.has('35693804')).toBe(false);
    tacs.add('35693804');
    tacs.add(35693804); // the same TAC again
    expect(tacs.size).toBe(4);
    tacs.delete(35693803);
    tacs.delete('99999999'); // absent
    expect(tacs.has('35693803')).toBe(false);
    expect(tacs.size).toBe(3);
  });

  it('answers false for non-TACs and rejects them in add, delete and build', () => {
    const tacs = TacSet.build([]);
    for (const bad of ['1234567', '123456789', '1234567a', ' 1234567', '', -1, 1e8, 1.5, NaN]) {
      expect(tacs.has(bad)).toBe(false);
      expect(() => tacs.add(bad)).toThrow(RangeError);
      expect(() => tacs.delete(bad)).toThrow(RangeError);
    }
    expect(() => TacSet.build(['12345678', 'x'])).toThrow(RangeError);
    expect(tacs.size).toBe(0);
  });

  it('matches a Set model through any sequence of add and delete (property)', () => {
    const tac = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 99_999_999 }));
    const asInput = (n: number, asString: boolean): string | number => (asString ? String(n).padStart(8, '0') : n);
    fc.assert(
      fc.property(
        fc.array(tac, { maxLength: 30 }),
        fc.array(fc.tuple(fc.boolean(), tac, fc.boolean()), { maxLength: 60 }),
        fc.array(tac, { maxLength: 20 }),
        (initial, ops, probes) => {
          const tacs = TacSet.build(initial.map((n, i) => asInput(n, i % 2 === 0)));
          const model = new Set(initial);
          for (const [add, n, asString] of ops) {
            if (add) {
              tacs.add(asInput(n, asString));
              model.add(n);
            } else {
              tacs.delete(asInput(n, asString));
              model.delete(n);
            }
          }
          expect(tacs.size).toBe(model.size);
          for (const n of [...initial, ...ops.map(([, k]) => k), ...probes]) {
            expect(tacs.has(n)).toBe(model.has(n));
            expect(tacs.has(String(n).padStart(8, '0'))).toBe(model.has(n));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
