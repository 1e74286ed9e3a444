import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCertificate } from './certificates.js';
import { readTnAuthList } from './tn-auth-list.js';

const der = (name: string) => parseCertificate(readFileSync(join(import.meta.dirname, 'fixtures', `${name}.pem`), 'utf8'))!.raw;

/** A certificate-shaped DER around the given extensions: SEQUENCE { SEQUENCE { version, [3] { SEQUENCE { … } } } }. */
function certWith(...extensions: Buffer[]): Buffer {
  const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, body.length]), body]);
  const version = tlv(0xa0, tlv(0x02, Buffer.from([2])));
  return tlv(0x30, tlv(0x30, Buffer.concat([version, tlv(0xa3, tlv(0x30, Buffer.concat(extensions)))])));
}
const extension = (value: Buffer, oid = '2b060105050701 1a') => {
  const id = Buffer.from(oid.replace(/ /g, ''), 'hex');
  const body = Buffer.concat([Buffer.from([0x06, id.length]), id, Buffer.from([0x04, value.length]), value]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
};
const hex = (h: string) => Buffer.from(h.replace(/[ :]/g, ''), 'hex');

describe('TNAuthList', () => {
  it('reads the SPC of certificates made by openssl, and says when there is none', () => {
    expect(readTnAuthList(der('operator'))).toEqual({ present: true, malformed: false, spcs: ['1001'], telephoneNumbers: 0 });
    expect(readTnAuthList(der('operator2'))).toEqual({ present: true, malformed: false, spcs: ['1002'], telephoneNumbers: 0 });
    expect(readTnAuthList(der('no-tnauth'))).toEqual({ present: false });
    expect(readTnAuthList(der('anchor'))).toEqual({ present: false });
  });

  it('reads explicit and implicit SPC tags, counts telephone-number entries, refuses malformed lists', () => {
    expect(readTnAuthList(certWith(extension(hex('30 08 A0 06 16 04 37 30 39 4A'))))).toMatchObject({ spcs: ['709J'] });
    expect(readTnAuthList(certWith(extension(hex('30 06 80 04 37 30 39 4A'))))).toMatchObject({ spcs: ['709J'] });
    expect(readTnAuthList(certWith(extension(hex('30 0E A2 0C 16 0A 37 37 30 31 32 33 34 35 36 37'))))).toEqual({
      present: true,
      malformed: false,
      spcs: [],
      telephoneNumbers: 1,
    });
    expect(readTnAuthList(certWith(extension(hex('05 00')), extension(hex('30 08 A0 06 16 04 31 30 30 31'))))).toEqual({ present: true, malformed: true });
    expect(readTnAuthList(certWith(extension(hex('30 00'))))).toEqual({ present: true, malformed: true });
    expect(readTnAuthList(certWith(extension(hex('30 08 A0 06 0C 04 31 30 30 31'))))).toEqual({ present: true, malformed: true });
    expect(readTnAuthList(certWith(extension(hex('30 01 00'), '550 41d')))).toEqual({ present: false });
    expect(readTnAuthList(hex('30 80 00 00'))).toEqual({ present: true, malformed: true });
  });

  it('never throws on arbitrary or mutated DER', () => {
    const real = der('chained');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(typeof readTnAuthList(bytes).present).toBe('boolean');
      }),
    );
    fc.assert(
      fc.property(fc.nat({ max: real.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const copy = Buffer.from(real);
        copy[at] = byte;
        expect(typeof readTnAuthList(copy).present).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
