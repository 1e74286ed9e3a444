import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findKzRange, KZ_NUMBERING_PLAN, plus7Holder, PLUS7_SPLIT } from './numbering-plan.js';

const LIBPHONENUMBER_MOBILE = /^7(0[0-25-8]|47|6[0-4]|7[15-8]|85)[0-9]{7}$/;

describe('PLUS7_SPLIT', () => {
  it('covers 000–999 exactly once, in order', () => {
    let next = 0;
    for (const s of PLUS7_SPLIT) {
      expect(s.from).toBe(next);
      expect(s.to).toBeGreaterThanOrEqual(s.from);
      next = s.to + 1;
    }
    expect(next).toBe(1000);
  });

  it('classifies the ranges of the 2024 agreement', () => {
    const cases: [string, string][] = [
      ['000', 'KZ'],
      ['099', 'KZ'],
      ['100', 'shared'],
      ['199', 'shared'],
      ['200', 'RU'],
      ['336', 'RU'],
      ['599', 'RU'],
      ['600', 'KZ'],
      ['701', 'KZ'],
      ['799', 'KZ'],
      ['800', 'shared'],
      ['809', 'shared'],
      ['810', 'RU'],
      ['819', 'reserve'],
      ['821', 'RU'],
      ['822', 'reserve'],
      ['830', 'reserve'],
      ['831', 'RU'],
      ['832', 'reserve'],
      ['836', 'RU'],
      ['837', 'reserve'],
      ['849', 'reserve'],
      ['851', 'RU'],
      ['854', 'reserve'],
      ['857', 'RU'],
      ['859', 'reserve'],
      ['863', 'RU'],
      ['864', 'reserve'],
      ['867', 'RU'],
      ['868', 'reserve'],
      ['869', 'RU'],
      ['870', 'reserve'],
      ['873', 'RU'],
      ['876', 'reserve'],
      ['877', 'RU'],
      ['880', 'RU'],
      ['881', 'shared'],
      ['899', 'shared'],
      ['900', 'RU'],
      ['999', 'RU'],
    ];
    for (const [head, holder] of cases) expect([head, plus7Holder(`${head}1234567`)]).toEqual([head, holder]);
  });

  it('throws when the NSN does not start with three digits', () => {
    expect(() => plus7Holder('70')).toThrow(RangeError);
    expect(() => plus7Holder('7a1')).toThrow(RangeError);
  });
});

describe('KZ_NUMBERING_PLAN', () => {
  it('has unique digit prefixes inside Kazakh or shared ranges', () => {
    const prefixes = KZ_NUMBERING_PLAN.map((r) => r.prefix);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    for (const r of KZ_NUMBERING_PLAN) {
      expect(r.prefix).toMatch(/^[0-9]{2,5}$/);
      const holder = plus7Holder(r.prefix.padEnd(3, '0'));
      expect(r.prefix.startsWith('7') ? holder === 'KZ' : holder === 'shared').toBe(true);
    }
  });

  it('puts every city code inside its zone', () => {
    for (const r of KZ_NUMBERING_PLAN.filter((x) => x.city !== undefined)) {
      const zone = KZ_NUMBERING_PLAN.find((z) => z.prefix === r.prefix.slice(0, 3));
      expect(zone?.type).toBe('geographic');
      expect(zone?.area).toBe(r.area);
    }
  });

  it('finds the longest matching prefix', () => {
    expect(findKzRange('7272588914')).toMatchObject({ prefix: '727', city: 'Almaty' });
    expect(findKzRange('7277212345')).toMatchObject({ prefix: '72772', city: 'Konaev' });
    expect(findKzRange('7171123456')).toEqual({ prefix: '717', type: 'geographic', area: 'Astana' });
    expect(findKzRange('7511234567')?.type).toBe('voip');
    expect(findKzRange('7591234567')?.type).toBe('non_geographic');
    expect(findKzRange('7631234567')).toMatchObject({ type: 'mobile', operatorHint: 'Arna' });
    expect(findKzRange('7671234567')?.type).toBe('non_geographic');
    expect(findKzRange('7031234567')).toBeUndefined();
    expect(findKzRange('7191234567')).toBeUndefined();
  });

  it('property: mobile exactly where libphonenumber says so', () => {
    fc.assert(fc.property(fc.stringMatching(/^7[0-9]{9}$/), (nsn) => (findKzRange(nsn)?.type === 'mobile') === LIBPHONENUMBER_MOBILE.test(nsn)));
  });

  it('property: geographic exactly in zones 710–718 and 721–729', () => {
    fc.assert(fc.property(fc.stringMatching(/^7[0-9]{9}$/), (nsn) => (findKzRange(nsn)?.type === 'geographic') === /^7(1[0-8]|2[1-9])/.test(nsn)));
  });
});
