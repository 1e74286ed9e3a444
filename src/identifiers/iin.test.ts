import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { iinCheckDigit, maskIin, parseIin, validateBin, validateIin } from './iin.js';

/** Appends the check digit, or returns null for the never-issued numbers. */
function withCheckDigit(first11: string): string | null {
  const c = iinCheckDigit(first11);
  return c === null ? null : first11 + String(c);
}

describe('iinCheckDigit', () => {
  it('uses the second weights when the first pass gives 10', () => {
    // First pass: Σ di·i for 85010130060 ≡ 10 (mod 11); second pass gives 3.
    expect(iinCheckDigit('85010130060')).toBe(3);
    expect(validateIin('850101300603')).toBe(true);
  });

  it('returns null when both passes give 10', () => {
    expect(iinCheckDigit('85010130069')).toBeNull();
    for (let d = 0; d <= 9; d++) expect(validateIin(`85010130069${d}`)).toBe(false);
  });

  it('throws on anything but 11 digits', () => {
    expect(() => iinCheckDigit('0612116000')).toThrow(RangeError);
    expect(() => iinCheckDigit('0612116000x')).toThrow(RangeError);
  });
});

describe('parseIin / validateIin', () => {
  it('accepts the DOMAIN-FACTS check value and decodes the hints', () => {
    expect(validateIin('061211600012')).toBe(true);
    expect(parseIin('061211600012')).toEqual({ ok: true, iin: '061211600012', birthDateHint: '2006-12-11', sexHint: 'F' });
    expect(parseIin(' 061211600012\n')).toMatchObject({ ok: true, iin: '061211600012' });
  });

  it('rejects each invalid reason', () => {
    expect(parseIin('061211600013')).toEqual({ ok: false, reason: 'bad_check_digit' });
    expect(parseIin('06121160001')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseIin('0612116000120')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseIin('')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseIin('06121160001X')).toEqual({ ok: false, reason: 'not_digits' });
    expect(parseIin('061211 600012')).toEqual({ ok: false, reason: 'not_digits' });
    expect(validateIin('061211600013')).toBe(false);
  });

  it('never rejects on impossible dates or unknown century digits', () => {
    expect(parseIin('900230400015')).toEqual({ ok: true, iin: '900230400015', birthDateHint: null, sexHint: 'F' });
    expect(parseIin('000229500018')).toMatchObject({ birthDateHint: '2000-02-29', sexHint: 'M' });
    expect(parseIin('000229300015')).toMatchObject({ birthDateHint: null, sexHint: 'M' }); // 1900 was not a leap year
    expect(parseIin('940140000385')).toMatchObject({ ok: true, birthDateHint: null, sexHint: null });
  });

  it('property: generated IINs with a computed check digit validate', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{11}$/), (first11) => {
        const iin = withCheckDigit(first11);
        return iin === null || validateIin(iin);
      }),
    );
  });

  it('property: every other final digit is rejected', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{11}$/), fc.integer({ min: 1, max: 9 }), (first11, delta) => {
        const c = iinCheckDigit(first11) ?? 0;
        return !validateIin(first11 + String((c + delta) % 10));
      }),
    );
  });

  it('property: hints are consistent with the digits', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{6}[1-6][0-9]{4}$/), (first11) => {
        const iin = withCheckDigit(first11);
        if (iin === null) return true;
        const r = parseIin(iin);
        if (!r.ok) return false;
        const sexOk = r.sexHint === (Number(iin[6]) % 2 === 1 ? 'M' : 'F');
        const dateOk =
          r.birthDateHint === null ||
          (r.birthDateHint.slice(2).replaceAll('-', '') === iin.slice(0, 6) &&
            new Date(`${r.birthDateHint}T00:00:00Z`).toISOString().startsWith(r.birthDateHint));
        return sexOk && dateOk;
      }),
    );
  });

  it('property: never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const r = parseIin(s);
        return r.ok === validateIin(s) && (r.ok || ['not_digits', 'bad_length', 'bad_check_digit'].includes(r.reason));
      }),
    );
  });
});

describe('validateBin', () => {
  it('accepts the DOMAIN-FACTS check values', () => {
    expect(validateBin('940140000385')).toBe(true);
    expect(validateBin('990140004654')).toBe(true);
    expect(validateBin(' 990140004654 ')).toBe(true);
  });

  it('rejects a bad check digit, length or layout', () => {
    expect(validateBin('940140000386')).toBe(false);
    expect(validateBin('94014000038')).toBe(false);
    expect(validateBin('94014000038X')).toBe(false);
    expect(validateBin('949940000385')).toBe(false); // month 99
    expect(validateBin('940190000385')).toBe(false); // entity type 9
    expect(validateBin('940149000385')).toBe(false); // division 9
    expect(validateBin('061211600012')).toBe(false); // an IIN
  });

  it('property: generated BINs with a computed check digit validate', () => {
    const layout = fc.stringMatching(/^[0-9]{2}(0[1-9]|1[0-2])[456][0-3][0-9]{5}$/);
    fc.assert(
      fc.property(layout, (first11) => {
        const bin = withCheckDigit(first11);
        return bin === null || validateBin(bin);
      }),
    );
  });
});

describe('maskIin', () => {
  it('shows only the last 2 digits', () => {
    expect(maskIin('061211600012')).toBe('**********12');
    expect(maskIin(' 940140000385 ')).toBe('**********85');
  });
});
