import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CARD_HASH_DOMAIN, cardFingerprint, maskCard, parseCardPan } from './card.js';
import { keyedHash } from './hashing.js';
import { luhnCheckDigit } from './luhn.js';

const KEY = 'test-key';
const pan = fc.stringMatching(/^[0-9]{11,18}$/).map((p) => p + String(luhnCheckDigit(p)));

describe('parseCardPan', () => {
  it('accepts valid PANs with spaces or dashes', () => {
    const expected = { ok: true, pan: '4111111111111111', last4: '1111', bin6: '411111' };
    expect(parseCardPan('4111111111111111')).toEqual(expected);
    expect(parseCardPan('4111 1111 1111 1111')).toEqual(expected);
    expect(parseCardPan('4111-1111-1111-1111')).toEqual(expected);
    expect(parseCardPan('5500 0055 5555 5559')).toMatchObject({ ok: true, bin6: '550000', last4: '5559' });
  });

  it('rejects each invalid reason', () => {
    expect(parseCardPan('4111111111111112')).toEqual({ ok: false, reason: 'bad_check_digit' });
    expect(parseCardPan('41111111111')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseCardPan('41111111111111111111')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseCardPan('')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseCardPan('4111.1111.1111.1111')).toEqual({ ok: false, reason: 'not_digits' });
    expect(parseCardPan('4111 1111 1111 111a')).toEqual({ ok: false, reason: 'not_digits' });
  });

  it('property: generated PANs with a Luhn digit parse', () => {
    fc.assert(
      fc.property(pan, (p) => {
        const r = parseCardPan(p.replace(/(\d{4})/g, '$1 '));
        return r.ok && r.pan === p && r.last4 === p.slice(-4) && r.bin6 === p.slice(0, 6);
      }),
    );
  });

  it('property: never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const r = parseCardPan(s);
        return r.ok || ['not_digits', 'bad_length', 'bad_check_digit'].includes(r.reason);
      }),
    );
  });
});

describe('cardFingerprint', () => {
  it('is the domain-separated keyed hash of the normalised PAN', () => {
    const fp = cardFingerprint('4111 1111 1111 1111', KEY);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(fp).toBe(keyedHash(KEY, CARD_HASH_DOMAIN, '4111111111111111'));
    expect(fp).not.toBe(keyedHash(KEY, 'iin', '4111111111111111'));
    expect(fp).not.toBe(cardFingerprint('4111111111111111', 'other-key'));
    expect(cardFingerprint('4111111111111111', Buffer.from(KEY))).toBe(fp);
  });

  it('throws on an invalid PAN without echoing it', () => {
    expect(() => cardFingerprint('4111111111111112', KEY)).toThrow(RangeError);
    expect(() => cardFingerprint('4111111111111112', KEY)).not.toThrow(/4111/);
  });

  it('property: formatting does not change the fingerprint', () => {
    fc.assert(fc.property(pan, (p) => cardFingerprint(p, KEY) === cardFingerprint(p.replace(/(\d{4})/g, '$1-'), KEY)));
  });
});

describe('maskCard', () => {
  it('keeps the first 6 and last 4 digits', () => {
    expect(maskCard('4111 1111 1111 1111')).toBe('411111******1111');
    expect(maskCard('411111111111')).toBe('411111**1111');
  });

  it('masks anything that is not 12–19 digits completely', () => {
    expect(maskCard('not a card')).toBe('**********');
    expect(maskCard('41111111111')).toBe('***********');
  });
});
