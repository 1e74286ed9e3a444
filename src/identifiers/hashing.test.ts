import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyedHash, maskDigits } from './hashing.js';

describe('keyedHash', () => {
  it('is HMAC-SHA256 over domain NUL value, in hex', () => {
    const expected = createHmac('sha256', 'k').update('iin\u0000061211600012').digest('hex');
    expect(keyedHash('k', 'iin', '061211600012')).toBe(expected);
    expect(keyedHash(Buffer.from('k'), 'iin', '061211600012')).toBe(expected);
  });

  it('separates domains for the same digits', () => {
    expect(keyedHash('k', 'iin', '4111111111111111')).not.toBe(keyedHash('k', 'card-pan', '4111111111111111'));
  });

  it('rejects an empty key and empty or NUL-containing domains', () => {
    expect(() => keyedHash('', 'iin', 'x')).toThrow(RangeError);
    expect(() => keyedHash(Buffer.alloc(0), 'iin', 'x')).toThrow(RangeError);
    expect(() => keyedHash('k', '', 'x')).toThrow(RangeError);
    expect(() => keyedHash('k', 'a\u0000b', 'c')).toThrow(RangeError);
  });

  const domain = fc.string({ minLength: 1 }).filter((d) => !d.includes('\u0000'));
  // HMAC zero-pads short keys, so keys differing only by trailing NULs are equivalent.
  const key = fc.string({ minLength: 1 }).filter((k) => !k.includes('\u0000'));

  it('property: differs by domain', () => {
    fc.assert(
      fc.property(key, domain, domain, fc.string(), (k, d1, d2, v) => {
        fc.pre(d1 !== d2);
        return keyedHash(k, d1, v) !== keyedHash(k, d2, v);
      }),
    );
  });

  it('property: differs by key', () => {
    fc.assert(
      fc.property(key, key, domain, fc.string(), (k1, k2, d, v) => {
        fc.pre(k1 !== k2);
        return keyedHash(k1, d, v) !== keyedHash(k2, d, v);
      }),
    );
  });
});

describe('maskDigits', () => {
  it('masks runs of 9+ digits keeping the first 3 and last 2', () => {
    expect(maskDigits('IIN 061211600012 called +77011234567')).toBe('IIN 061*******12 called +770******67');
    expect(maskDigits('imei=260531793113837;')).toBe('imei=260**********37;');
    expect(maskDigits('123456789')).toBe('123****89');
  });

  it('leaves shorter runs and other text alone', () => {
    expect(maskDigits('order 12345678, code 101')).toBe('order 12345678, code 101');
    expect(maskDigits('')).toBe('');
  });

  it('property: leaves no run of 9+ digits and keeps the length and non-digits', () => {
    const text = fc.string({ unit: fc.constantFrom(...'0123456789 abc+-') });
    fc.assert(
      fc.property(text, (t) => {
        const m = maskDigits(t);
        return !/[0-9]{9,}/.test(m) && m.length === t.length && m.replace(/[0-9*]/g, '') === t.replace(/[0-9]/g, '');
      }),
    );
  });

  it('property: is idempotent', () => {
    fc.assert(fc.property(fc.string(), (t) => maskDigits(maskDigits(t)) === maskDigits(t)));
  });
});
