import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imeiCheckDigit, isAllZeroOrTestTac, packImei14, parseImei, toImei15, unpackImei14 } from './imei.js';

const imei14 = fc.stringMatching(/^[0-9]{14}$/);

describe('parseImei', () => {
  it('parses 14 digits as TAC + SNR without check digit', () => {
    expect(parseImei('26053179311383')).toEqual({
      ok: true,
      imei14: '26053179311383',
      tac: '26053179',
      checkDigit: null,
      svn: null,
      kind: 'imei14',
    });
  });

  it('parses a 15-digit IMEI with the spec check digit 7', () => {
    expect(parseImei('260531793113837')).toEqual({
      ok: true,
      imei14: '26053179311383',
      tac: '26053179',
      checkDigit: 7,
      svn: null,
      kind: 'imei',
    });
  });

  it('rejects a wrong check digit unless the input came from the network', () => {
    expect(parseImei('260531793113830')).toEqual({ ok: false, reason: 'bad_check_digit' });
    expect(parseImei('260531793113830', { network: true })).toMatchObject({ ok: true, kind: 'imei', checkDigit: 7 });
    expect(parseImei('260531793113835', { network: true })).toMatchObject({ ok: true, checkDigit: 7 });
  });

  it('parses a 16-digit IMEISV with the SVN', () => {
    expect(parseImei('2605317931138312')).toEqual({
      ok: true,
      imei14: '26053179311383',
      tac: '26053179',
      checkDigit: null,
      svn: '12',
      kind: 'imeisv',
    });
  });

  it('strips surrounding whitespace only', () => {
    expect(parseImei(' \t260531793113837\n')).toMatchObject({ ok: true, kind: 'imei' });
    expect(parseImei('260531 793113837')).toEqual({ ok: false, reason: 'not_digits' });
  });

  it('rejects non-digits', () => {
    expect(parseImei('26053179311383A')).toEqual({ ok: false, reason: 'not_digits' });
    expect(parseImei('２６０５３１７９３１１３８３７')).toEqual({ ok: false, reason: 'not_digits' });
    expect(parseImei('26053179-311383-7')).toEqual({ ok: false, reason: 'not_digits' });
  });

  it('rejects other lengths', () => {
    expect(parseImei('')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseImei('2605317931138')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseImei('26053179311383123')).toEqual({ ok: false, reason: 'bad_length' });
  });

  it('property: 14 digits + computed check digit always validate', () => {
    fc.assert(
      fc.property(imei14, (d) => {
        const r = parseImei(toImei15(d));
        return r.ok && r.imei14 === d && r.checkDigit === imeiCheckDigit(d) && r.tac === d.slice(0, 8);
      }),
    );
  });

  it('property: a wrong 15th digit fails strictly but passes in network mode', () => {
    fc.assert(
      fc.property(imei14, fc.integer({ min: 1, max: 9 }), (d, delta) => {
        const wrong = d + String((imeiCheckDigit(d) + delta) % 10);
        const network = parseImei(wrong, { network: true });
        return !parseImei(wrong).ok && network.ok && network.checkDigit === imeiCheckDigit(d);
      }),
    );
  });

  it('property: IMEISV keeps TAC + SNR and SVN', () => {
    fc.assert(
      fc.property(imei14, fc.stringMatching(/^[0-9]{2}$/), (d, svn) => {
        const r = parseImei(d + svn);
        return r.ok && r.kind === 'imeisv' && r.imei14 === d && r.svn === svn;
      }),
    );
  });

  it('property: never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.boolean(), (s, network) => {
        const r = parseImei(s, { network });
        return r.ok ? r.imei14.length === 14 : ['not_digits', 'bad_length', 'bad_check_digit'].includes(r.reason);
      }),
    );
  });
});

describe('imeiCheckDigit / toImei15', () => {
  it('computes the spec example', () => {
    expect(imeiCheckDigit('26053179311383')).toBe(7);
    expect(toImei15('26053179311383')).toBe('260531793113837');
  });

  it('throws on anything but 14 digits', () => {
    expect(() => imeiCheckDigit('2605317931138')).toThrow(RangeError);
    expect(() => toImei15('260531793113837')).toThrow(RangeError);
    expect(() => toImei15('2605317931138x')).toThrow(RangeError);
  });
});

describe('isAllZeroOrTestTac', () => {
  it('flags the all-zero TAC and RBI 00 test TACs', () => {
    expect(isAllZeroOrTestTac('00000000')).toBe(true);
    expect(isAllZeroOrTestTac('00101010')).toBe(true);
    expect(isAllZeroOrTestTac('00440001')).toBe(true);
  });

  it('does not flag ordinary or malformed TACs', () => {
    expect(isAllZeroOrTestTac('35209900')).toBe(false);
    expect(isAllZeroOrTestTac('01234567')).toBe(false);
    expect(isAllZeroOrTestTac('0010101')).toBe(false);
    expect(isAllZeroOrTestTac('0010101a')).toBe(false);
  });
});

describe('packImei14 / unpackImei14', () => {
  it('packs into a safe integer and back', () => {
    expect(packImei14('26053179311383')).toBe(26053179311383);
    expect(packImei14('00000000000000')).toBe(0);
    expect(packImei14('99999999999999')).toBe(99_999_999_999_999);
    expect(Number.isSafeInteger(packImei14('99999999999999'))).toBe(true);
    expect(99_999_999_999_999 < 2 ** 47).toBe(true);
    expect(unpackImei14(0)).toBe('00000000000000');
    expect(unpackImei14(1_234)).toBe('00000000001234');
  });

  it('rejects bad input', () => {
    expect(() => packImei14('260531793113837')).toThrow(RangeError);
    expect(() => packImei14(' 26053179311383')).toThrow(RangeError);
    for (const n of [-1, 1e14, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => unpackImei14(n)).toThrow(RangeError);
    }
  });

  it('property: round-trips every 14-digit string', () => {
    fc.assert(fc.property(imei14, (d) => unpackImei14(packImei14(d)) === d));
  });

  it('property: round-trips every packed value', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 14n - 1n }).map(Number), (n) => packImei14(unpackImei14(n)) === n));
  });

  it('property: packing preserves order', () => {
    fc.assert(fc.property(imei14, imei14, (a, b) => Math.sign(packImei14(a) - packImei14(b)) === (a < b ? -1 : a > b ? 1 : 0)));
  });
});
