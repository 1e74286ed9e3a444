import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imsiOfSupi, parseSupi } from './supi.js';

describe('parseSupi', () => {
  it('reads an IMSI SUPI of 5 to 15 digits', () => {
    expect(parseSupi('imsi-401011234567890')).toEqual({ ok: true, kind: 'imsi', imsi: '401011234567890' });
    expect(parseSupi('imsi-40101')).toEqual({ ok: true, kind: 'imsi', imsi: '40101' });
  });

  it('reads an NAI SUPI', () => {
    expect(parseSupi('nai-user@realm.example')).toEqual({ ok: true, kind: 'nai', nai: 'user@realm.example' });
  });

  it('tells a wireline SUPI from a malformed one', () => {
    expect(parseSupi('gci-abc')).toEqual({ ok: false, reason: 'unsupported' });
    expect(parseSupi('gli-abc')).toEqual({ ok: false, reason: 'unsupported' });
    for (const bad of ['', '401011234567890', 'imsi-4010', 'imsi-4010112345678901', 'imsi-40101x', 'IMSI-401011234567890', ' imsi-401011234567890', 'nai-']) {
      expect(parseSupi(bad), bad).toEqual({ ok: false, reason: 'bad_format' });
    }
  });

  it('imsiOfSupi: the IMSI of an imsi- SUPI, null for anything else', () => {
    expect(imsiOfSupi('imsi-401011234567890')).toBe('401011234567890');
    expect(imsiOfSupi('nai-user@realm')).toBeNull();
    expect(imsiOfSupi('imsi-12')).toBeNull();
    expect(imsiOfSupi(undefined)).toBeNull();
  });

  it('property: imsi-<5 to 15 digits> gives back its digits', () => {
    fc.assert(fc.property(fc.stringMatching(/^[0-9]{5,15}$/), (digits) => imsiOfSupi(`imsi-${digits}`) === digits));
  });

  it('property: never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const r = parseSupi(s);
        return r.ok === (/^imsi-[0-9]{5,15}$/.test(s) || /^nai-./s.test(s));
      }),
    );
  });
});
