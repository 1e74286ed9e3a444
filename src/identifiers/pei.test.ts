import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePei } from './pei.js';

describe('parsePei', () => {
  it('reads an IMEI PEI: the first 14 digits identify the device, the 15th is not checked (networks send a spare 0)', () => {
    expect(parsePei('imei-260531793113837')).toEqual({ ok: true, kind: 'imei', imei14: '26053179311383', digits: '260531793113837' });
    expect(parsePei('imei-260531793113830')).toMatchObject({ ok: true, imei14: '26053179311383' });
  });

  it('reads an IMEISV PEI', () => {
    expect(parsePei('imeisv-2605317931138312')).toEqual({ ok: true, kind: 'imeisv', imei14: '26053179311383', digits: '2605317931138312' });
  });

  it('tells a MAC or EUI-64 PEI (no IMEI) from a malformed one', () => {
    expect(parsePei('mac-00-1a-2b-3c-4d-5e')).toEqual({ ok: false, reason: 'unsupported' });
    expect(parsePei('mac-00-1A-2B-3C-4D-5E-untrusted')).toEqual({ ok: false, reason: 'unsupported' });
    expect(parsePei('eui-00-1a-2b-3c-4d-5e-6f-70')).toEqual({ ok: false, reason: 'unsupported' });
    for (const bad of [
      '',
      '260531793113837',
      'imei-26053179311383',
      'imei-2605317931138371',
      'imeisv-260531793113837',
      'IMEI-260531793113837',
      ' imei-260531793113837',
      'imei-26053179311383x',
      'imei-260531793113837\n',
    ]) {
      expect(parsePei(bad), bad).toEqual({ ok: false, reason: 'bad_format' });
    }
  });

  it('property: imei-<15 digits> and imeisv-<16 digits> give back their first 14 digits', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{15,16}$/), (digits) => {
        const r = parsePei(`${digits.length === 15 ? 'imei' : 'imeisv'}-${digits}`);
        return r.ok && r.imei14 === digits.slice(0, 14) && r.digits === digits && r.kind === (digits.length === 15 ? 'imei' : 'imeisv');
      }),
    );
  });

  it('property: never throws, and accepts only the two IMEI forms', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const r = parsePei(s);
        return r.ok === /^(imei-[0-9]{15}|imeisv-[0-9]{16})$/.test(s);
      }),
    );
  });
});
