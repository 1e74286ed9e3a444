import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { luhnCheckDigit, luhnValid } from './luhn.js';

const payload = fc.stringMatching(/^[0-9]{1,30}$/);

describe('luhnCheckDigit', () => {
  it('computes known check digits', () => {
    expect(luhnCheckDigit('7992739871')).toBe(3);
    expect(luhnCheckDigit('26053179311383')).toBe(7); // 3GPP TS 23.003 Annex B example
    expect(luhnCheckDigit('411111111111111')).toBe(1);
    expect(luhnCheckDigit('0')).toBe(0);
  });

  it('rejects empty and non-digit input', () => {
    expect(() => luhnCheckDigit('')).toThrow(RangeError);
    expect(() => luhnCheckDigit('12a4')).toThrow(RangeError);
    expect(() => luhnCheckDigit('１２')).toThrow(RangeError);
  });
});

describe('luhnValid', () => {
  it('accepts valid and rejects invalid numbers', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnValid('260531793113837')).toBe(true);
  });

  it('rejects input too short or not digits', () => {
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('0')).toBe(false);
    expect(luhnValid('7992739871 3')).toBe(false);
  });

  it('property: payload + computed check digit is valid', () => {
    fc.assert(fc.property(payload, (p) => luhnValid(p + String(luhnCheckDigit(p)))));
  });

  it('property: any single-digit change breaks validity', () => {
    fc.assert(
      fc.property(payload, fc.nat(), fc.integer({ min: 1, max: 9 }), (p, at, delta) => {
        const valid = p + String(luhnCheckDigit(p));
        const i = at % valid.length;
        const changed = String((Number(valid[i]) + delta) % 10);
        return !luhnValid(valid.slice(0, i) + changed + valid.slice(i + 1));
      }),
    );
  });

  it('property: never throws on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => typeof luhnValid(s) === 'boolean'));
  });
});
