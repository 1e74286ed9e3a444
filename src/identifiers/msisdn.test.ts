import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskMsisdn, parseMsisdn } from './msisdn.js';
import { KZ_NUMBERING_PLAN, plus7Holder } from './numbering-plan.js';

const MOBILE_PREFIXES = KZ_NUMBERING_PLAN.filter((r) => r.type === 'mobile').map((r) => r.prefix);
const REASONS = ['empty', 'not_digits', 'bad_length', 'bad_prefix'];

describe('parseMsisdn: Kazakh numbers', () => {
  it('parses a mobile number in +7 form', () => {
    expect(parseMsisdn('+7 701 123 45 67')).toEqual({
      ok: true,
      e164: '+77011234567',
      nsn: '7011234567',
      country: 'KZ',
      type: 'mobile',
      operatorHint: 'Kcell/Activ',
    });
  });

  it('accepts trunk 8, bare 7 and separators', () => {
    for (const s of ['87011234567', '77011234567', '8 (701) 123-45-67', '+7(701)123.45.67', '\u00a0+7 701 1234567 ']) {
      expect(parseMsisdn(s)).toMatchObject({ ok: true, e164: '+77011234567' });
    }
  });

  it('labels mobile operators from the plan', () => {
    expect(parseMsisdn('+77051234567')).toMatchObject({ type: 'mobile', operatorHint: 'Beeline' });
    expect(parseMsisdn('+77471234567')).toMatchObject({ type: 'mobile', operatorHint: 'Tele2' });
    expect(parseMsisdn('+77851234567')).toMatchObject({ type: 'mobile', operatorHint: 'Darkhan Telecom' });
  });

  it('marks prefixes that are not valid mobile prefixes as unallocated', () => {
    for (const p of ['703', '704', '709', '770', '772', '773', '774', '779']) {
      expect(parseMsisdn(`+7${p}1234567`)).toMatchObject({ ok: true, country: 'KZ', type: 'unallocated' });
    }
  });

  it('finds cities by the longest area code', () => {
    expect(parseMsisdn('8 (727) 258 89 14')).toEqual({
      ok: true,
      e164: '+77272588914',
      nsn: '7272588914',
      country: 'KZ',
      type: 'geographic',
      area: 'Almaty and region',
      areaCode: '727',
      city: 'Almaty',
    });
    expect(parseMsisdn('+7 7172 55 66 77')).toMatchObject({ areaCode: '7172', city: 'Astana' });
    expect(parseMsisdn('8 72772 1 23 45')).toMatchObject({ areaCode: '72772', city: 'Konaev' });
    expect(parseMsisdn('8 72533 1 23 45')).toMatchObject({ areaCode: '72533', city: 'Turkistan' });
  });

  it('gives only the zone when no city code matches', () => {
    const r = parseMsisdn('+77171123456');
    expect(r).toEqual({ ok: true, e164: '+77171123456', nsn: '7171123456', country: 'KZ', type: 'geographic', area: 'Astana' });
  });

  it('classifies non-geographic, VoIP and KZ-only unallocated ranges', () => {
    expect(parseMsisdn('+77511234567')).toMatchObject({ country: 'KZ', type: 'voip' });
    expect(parseMsisdn('+77501234567')).toMatchObject({ country: 'KZ', type: 'non_geographic' });
    expect(parseMsisdn('+77651234567')).toMatchObject({ country: 'KZ', type: 'non_geographic' });
    expect(parseMsisdn('+76001234567')).toMatchObject({ country: 'KZ', type: 'unallocated' });
    expect(parseMsisdn('+70121234567')).toMatchObject({ country: 'KZ', type: 'unallocated' });
  });

  it('classifies the shared 800/808/809 codes', () => {
    expect(parseMsisdn('8 800 080 12 34')).toMatchObject({ country: 'shared', type: 'toll_free' });
    expect(parseMsisdn('+78081234567')).toMatchObject({ country: 'shared', type: 'personal' });
    expect(parseMsisdn('+78091234567')).toMatchObject({ country: 'shared', type: 'premium' });
    expect(parseMsisdn('+78851234567')).toMatchObject({ country: 'shared', type: 'unallocated' });
    expect(parseMsisdn('+71001234567')).toMatchObject({ country: 'shared', type: 'unallocated' });
  });

  it('marks Russian and reserve ranges', () => {
    expect(parseMsisdn('+7 916 123-45-67')).toEqual({ ok: true, e164: '+79161234567', nsn: '9161234567', country: 'RU', type: 'foreign' });
    expect(parseMsisdn('8 (495) 123-45-67')).toMatchObject({ country: 'RU', type: 'foreign' });
    expect(parseMsisdn('+7 33622 12345')).toMatchObject({ country: 'RU', type: 'foreign' }); // Baikonur
    expect(parseMsisdn('+78121234567')).toMatchObject({ country: 'RU', type: 'foreign' });
    expect(parseMsisdn('+78191234567')).toMatchObject({ country: 'reserve', type: 'unallocated' });
  });
});

describe('parseMsisdn: other countries', () => {
  it('accepts + and 810 international forms', () => {
    expect(parseMsisdn('+44 20 7946 0958')).toEqual({ ok: true, e164: '+442079460958', nsn: null, country: 'other', type: 'foreign' });
    expect(parseMsisdn('+998 90 123 45 67')).toMatchObject({ e164: '+998901234567', country: 'other' });
    expect(parseMsisdn('810 998 90 123 45 67')).toMatchObject({ e164: '+998901234567', country: 'other' });
    expect(parseMsisdn('8107 701 123 45 67')).toMatchObject({ e164: '+77011234567', country: 'KZ', type: 'mobile' });
    expect(parseMsisdn('+12345678')).toMatchObject({ e164: '+12345678', country: 'other' });
  });
});

describe('parseMsisdn: failures', () => {
  it('reports each reason', () => {
    expect(parseMsisdn('')).toEqual({ ok: false, reason: 'empty' });
    expect(parseMsisdn(' ( ) - . ')).toEqual({ ok: false, reason: 'empty' });
    expect(parseMsisdn('+7 701 ABC 45 67')).toEqual({ ok: false, reason: 'not_digits' });
    expect(parseMsisdn('701+1234567')).toEqual({ ok: false, reason: 'not_digits' });
    expect(parseMsisdn('+7 701 123 45 6')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseMsisdn('+7 701 123 45 678')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseMsisdn('701 123 45 67')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseMsisdn('877011234567')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseMsisdn('+')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseMsisdn('+1234567')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseMsisdn('+1234567890123456')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseMsisdn('97011234567')).toEqual({ ok: false, reason: 'bad_prefix' });
    expect(parseMsisdn('+0441234567')).toEqual({ ok: false, reason: 'bad_prefix' });
  });
});

const kzMobileNsn = fc.tuple(fc.constantFrom(...MOBILE_PREFIXES), fc.stringMatching(/^[0-9]{7}$/)).map(([p, rest]) => p + rest);

function formats(nsn: string): string[] {
  const [a, b, c, d] = [nsn.slice(0, 3), nsn.slice(3, 6), nsn.slice(6, 8), nsn.slice(8)];
  return [
    `+7${nsn}`,
    `7${nsn}`,
    `8${nsn}`,
    `+7 ${a} ${b} ${c} ${d}`,
    `8 (${a}) ${b}-${c}-${d}`,
    `+7 (${a}) ${b}-${c}-${d}`,
    `7-${a}-${b}-${c}-${d}`,
    `8.${a}.${b}.${c}.${d}`,
    ` +7(${a})${b}${c}${d} `,
    `8107${nsn}`,
  ];
}

describe('parseMsisdn: properties', () => {
  it('every formatting variant of a KZ mobile number gives the same E.164', () => {
    fc.assert(
      fc.property(kzMobileNsn, (nsn) =>
        formats(nsn).every((s) => {
          const r = parseMsisdn(s);
          return r.ok && r.e164 === `+7${nsn}` && r.country === 'KZ' && r.type === 'mobile';
        }),
      ),
    );
  });

  it('any 10-digit NSN under +7 keeps its digits and the split-table holder', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{10}$/), (nsn) => {
        const r = parseMsisdn(`+7${nsn}`);
        const trunk = parseMsisdn(`8${nsn}`);
        return r.ok && r.nsn === nsn && r.country === plus7Holder(nsn) && JSON.stringify(trunk) === JSON.stringify(r);
      }),
    );
  });

  it('never throws on arbitrary strings and returns well-formed results', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.stringMatching(/^[+0-9 ()-]{0,20}$/)), (s) => {
        const r = parseMsisdn(s);
        return r.ok ? /^\+[1-9][0-9]{7,14}$/.test(r.e164) : REASONS.includes(r.reason);
      }),
    );
  });
});

describe('maskMsisdn', () => {
  it('keeps the country code + 3 digits and the last 4', () => {
    expect(maskMsisdn('+77011234567')).toBe('+7701***4567');
    expect(maskMsisdn('8 (701) 123-45-67')).toBe('+7701***4567');
    expect(maskMsisdn('+442079460958')).toBe('+4420****0958');
    expect(maskMsisdn('+12345678')).toBe('+1***5678');
  });

  it('masks unparseable input completely', () => {
    expect(maskMsisdn('call me')).toBe('*******');
    expect(maskMsisdn('')).toBe('');
  });

  it('property: hides at least 3 digits of any KZ mobile number', () => {
    fc.assert(fc.property(kzMobileNsn, (nsn) => maskMsisdn(`8${nsn}`) === `+7${nsn.slice(0, 3)}***${nsn.slice(6)}`));
  });
});
