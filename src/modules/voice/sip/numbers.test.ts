import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressNumber, addressUri, callNumber, redirectingNumber, uriNumber } from './numbers.js';

describe('uriNumber', () => {
  it.each([
    ['sip:+77011234567@host;user=phone', '+77011234567'],
    ['sip:87011234567@10.0.0.1:5060', '87011234567'],
    ['sips:+77011234567@host', '+77011234567'],
    ['sip:+7-701-123-45-67@host;user=phone', '+77011234567'],
    ['sip:%2B77011234567@host', '+77011234567'],
    ['sip:+77011234567;isub=12@host;user=phone', '+77011234567'],
    ['sip:alice:secret@host', 'alice'],
    ['tel:+77011234567', '+77011234567'],
    ['tel:+7-701-123-4567;phone-context=+7', '+77011234567'],
    ['sip:host', ''],
    ['mailto:a@b', ''],
    ['garbage', ''],
  ])('%s → %s', (uri, number) => {
    expect(uriNumber(uri)).toBe(number);
  });
});

describe('addressNumber', () => {
  it.each([
    ['<sip:87011234567@x>', '87011234567'],
    ['"Bank <Support>" <sip:+77272500000@x>;tag=1', '+77272500000'],
    ['Alice <tel:+77011234567>', '+77011234567'],
    ['sip:+77011234567@x;tag=abc', '+77011234567'],
    ['tel:+77011234567;tag=abc', '+77011234567'],
    ['"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1', 'anonymous'],
    ['', ''],
  ])('%s → %s', (value, number) => {
    expect(addressNumber(value)).toBe(number);
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        addressNumber(s);
        addressUri(s);
      }),
    );
  });
});

describe('redirectingNumber', () => {
  it('takes the oldest Diversion entry (the last one listed)', () => {
    expect(redirectingNumber(['<sip:+77013333333@x>;reason=unconditional;counter=1, <sip:+77012222222@x>;reason=no-answer'], [])).toBe('+77012222222');
    expect(redirectingNumber(['<sip:+77013333333@x>;reason=busy', '<tel:+77014444444>;reason=unconditional'], [])).toBe('+77014444444');
  });

  it('takes the first History-Info entry by index when the call was retargeted', () => {
    const hi = [
      '<sip:+77015555555@x?Reason=SIP%3Bcause%3D302>;index=1.1, <sip:+77016666666@x>;index=1.1.1',
      '<sip:+77017777777@x?Reason=SIP%3Bcause%3D480>;index=1',
    ];
    expect(redirectingNumber([], hi)).toBe('+77017777777');
    expect(redirectingNumber([], ['<sip:+77015555555@x>;index=1'])).toBeUndefined();
  });

  it('prefers Diversion and is undefined without either', () => {
    expect(redirectingNumber(['<sip:+77013333333@x>'], ['<sip:+77011111111@x>;index=1', '<sip:+77012222222@x>;index=1.1'])).toBe('+77013333333');
    expect(redirectingNumber([], [])).toBeUndefined();
  });
});

describe('callNumber', () => {
  it.each([
    ['7011234567', '+77011234567'],
    ['7272500000', '+77272500000'],
    ['00447700900123', '+447700900123'],
    ['0077011234567', '+77011234567'],
    ['+77011234567', '+77011234567'],
    ['77011234567', '77011234567'],
    ['87011234567', '87011234567'],
    ['8011234567', '8011234567'],
    ['701123456', '701123456'],
    ['00', '00'],
    ['000447700900123', '000447700900123'],
    ['00abc', '00abc'],
    ['anonymous', 'anonymous'],
    ['', ''],
  ])('%s → %s', (number, expected) => {
    expect(callNumber(number)).toBe(expected);
  });
});
