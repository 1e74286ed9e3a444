import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KZ_MNC, parseImsi, THREE_DIGIT_MNC_MCCS } from './imsi.js';

describe('parseImsi', () => {
  it('parses Kazakh IMSIs with 2-digit MNCs and operator hints', () => {
    expect(parseImsi('401021234567890')).toEqual({
      ok: true,
      imsi: '401021234567890',
      mcc: '401',
      mnc: '02',
      msin: '1234567890',
      isKazakh: true,
      operatorHint: 'Kcell',
    });
    expect(parseImsi('401771234567890')).toMatchObject({ mnc: '77', operatorHint: 'Tele2' });
    expect(parseImsi('40101123456789')).toMatchObject({ mnc: '01', msin: '123456789', operatorHint: 'Beeline' });
  });

  it('has no operator hint for unknown Kazakh MNCs', () => {
    const r = parseImsi('401991234567890');
    expect(r).toMatchObject({ ok: true, isKazakh: true, mnc: '99' });
    expect(r).not.toHaveProperty('operatorHint');
  });

  it('uses 3-digit MNCs for North American MCCs', () => {
    expect(parseImsi('310150123456789')).toEqual({
      ok: true,
      imsi: '310150123456789',
      mcc: '310',
      mnc: '150',
      msin: '123456789',
      isKazakh: false,
    });
    expect(parseImsi('334020123456789')).toMatchObject({ mnc: '020' });
  });

  it('uses 2-digit MNCs elsewhere', () => {
    expect(parseImsi('250011234567890')).toEqual({
      ok: true,
      imsi: '250011234567890',
      mcc: '250',
      mnc: '01',
      msin: '1234567890',
      isKazakh: false,
    });
  });

  it('strips surrounding whitespace and rejects bad input', () => {
    expect(parseImsi(' 401021234567890 ')).toMatchObject({ ok: true });
    expect(parseImsi('40102123456789X')).toEqual({ ok: false, reason: 'not_digits' });
    expect(parseImsi('401 021234567890')).toEqual({ ok: false, reason: 'not_digits' });
    expect(parseImsi('4010212345678')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseImsi('4010212345678901')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseImsi('')).toEqual({ ok: false, reason: 'bad_length' });
  });

  it('lists the Kazakh MNCs from DOMAIN-FACTS §2', () => {
    expect(Object.keys(KZ_MNC).sort()).toEqual(['01', '02', '07', '08', '77']);
    expect(KZ_MNC['01']?.operator).toBe('KaR-Tel LLP');
  });

  it('property: MCC + MNC + MSIN reassemble the IMSI', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{14,15}$/), (s) => {
        const r = parseImsi(s);
        return r.ok && r.mcc + r.mnc + r.msin === s && r.mnc.length === (THREE_DIGIT_MNC_MCCS.has(r.mcc) ? 3 : 2) && r.isKazakh === s.startsWith('401');
      }),
    );
  });

  it('property: never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const r = parseImsi(s);
        return r.ok || r.reason === 'not_digits' || r.reason === 'bad_length';
      }),
    );
  });
});
