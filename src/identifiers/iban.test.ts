import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ibanCheckDigits, maskIban, parseIban } from './iban.js';

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const bban = fc.stringMatching(/^[0-9]{3}[A-Z0-9]{13}$/);

function kzIban(b: string): string {
  return `KZ${ibanCheckDigits('KZ', b)}${b}`;
}

describe('parseIban', () => {
  it('accepts the registry example', () => {
    expect(parseIban('KZ86125KZT5004100100')).toEqual({ ok: true, iban: 'KZ86125KZT5004100100', bankCode: '125' });
  });

  it('normalises lower case and spaces', () => {
    expect(parseIban(' kz86 125k zt50 0410 0100 ')).toEqual({ ok: true, iban: 'KZ86125KZT5004100100', bankCode: '125' });
  });

  it('rejects each invalid reason', () => {
    expect(parseIban('DE89370400440532013000')).toEqual({ ok: false, reason: 'not_kz' });
    expect(parseIban('KZ86125KZT500410010')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseIban('')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseIban('KZ86A25KZT5004100100')).toEqual({ ok: false, reason: 'bad_format' });
    expect(parseIban('KZ86125KZT500410010-')).toEqual({ ok: false, reason: 'bad_format' });
    expect(parseIban('1286125KZT5004100100')).toEqual({ ok: false, reason: 'bad_format' });
    expect(parseIban('KZ87125KZT5004100100')).toEqual({ ok: false, reason: 'bad_check_digits' });
    expect(parseIban('KZ86125KZT5004100101')).toEqual({ ok: false, reason: 'bad_check_digits' });
  });

  it('property: generated IBANs with computed check digits validate', () => {
    fc.assert(
      fc.property(bban, (b) => {
        const r = parseIban(kzIban(b));
        return r.ok && r.iban === kzIban(b) && r.bankCode === b.slice(0, 3);
      }),
    );
  });

  it('property: changing one character (digit for digit, letter for letter) fails', () => {
    fc.assert(
      fc.property(bban, fc.integer({ min: 2, max: 19 }), fc.integer({ min: 1, max: 35 }), (b, i, shift) => {
        const iban = kzIban(b);
        const ch = iban.charAt(i);
        const pool = /[0-9]/.test(ch) ? ALNUM.slice(0, 10) : ALNUM.slice(10);
        const replacement = pool.charAt((pool.indexOf(ch) + 1 + (shift % (pool.length - 1))) % pool.length);
        return replacement !== ch && !parseIban(iban.slice(0, i) + replacement + iban.slice(i + 1)).ok;
      }),
    );
  });

  it('property: never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (s) => {
        const r = parseIban(s);
        return r.ok || ['not_kz', 'bad_length', 'bad_format', 'bad_check_digits'].includes(r.reason);
      }),
    );
  });
});

describe('ibanCheckDigits', () => {
  it('matches published examples', () => {
    expect(ibanCheckDigits('KZ', '125KZT5004100100')).toBe('86');
    expect(ibanCheckDigits('DE', '370400440532013000')).toBe('89');
    expect(ibanCheckDigits('GB', 'WEST12345698765432')).toBe('82');
  });

  it('throws on malformed input', () => {
    expect(() => ibanCheckDigits('kz', '125')).toThrow(RangeError);
    expect(() => ibanCheckDigits('KZ', '125 KZT')).toThrow(RangeError);
  });
});

describe('maskIban', () => {
  it('keeps the country, check digits and last 4', () => {
    expect(maskIban('KZ86125KZT5004100100')).toBe('KZ86************0100');
    expect(maskIban('kz86 125k zt50 0410 0100')).toBe('KZ86************0100');
  });
});
