import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalTn, identityHeader, parseIdentityHeader, readPayload } from './passport.js';

const JWS = 'eyJhbGciOiJFUzI1NiJ9.eyJpYXQiOjF9.c2ln';

describe('Identity header', () => {
  it('round-trips the full form with its info, alg and ppt parameters', () => {
    const header = identityHeader(JWS, 'https://qalqan.kz/api/v1/voice/stir/certificates/a.pem');
    expect(header).toBe(`${JWS};info=<https://qalqan.kz/api/v1/voice/stir/certificates/a.pem>;alg=ES256;ppt=shaken`);
    const parsed = parseIdentityHeader(header)!;
    expect(parsed.jws).toBe(JWS);
    expect(Object.fromEntries(parsed.params)).toEqual({ info: 'https://qalqan.kz/api/v1/voice/stir/certificates/a.pem', alg: 'ES256', ppt: 'shaken' });
  });

  it('accepts spaces, quoted values, case-insensitive names and a ; inside the info URI', () => {
    const parsed = parseIdentityHeader(` ${JWS} ;INFO=<https://x.test/a;b=c> ; ppt="shaken" `)!;
    expect(Object.fromEntries(parsed.params)).toEqual({ info: 'https://x.test/a;b=c', ppt: 'shaken' });
  });

  it('refuses what is not a full-form PASSporT with well-formed parameters', () => {
    for (const bad of ['', 'abc', `${JWS}.x`, 'a..c;info=<u>', `${JWS};info`, `${JWS};;info=<u>`, `${JWS} info=<u>`, `${JWS};info=<u`, 'x'.repeat(9000)]) {
      expect(parseIdentityHeader(bad), bad.slice(0, 40)).toBeNull();
    }
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const parsed = parseIdentityHeader(text);
        if (parsed) expect(text).toContain(parsed.jws);
      }),
    );
  });
});

describe('canonical telephone numbers', () => {
  it('are E.164 digits without +', () => {
    expect(canonicalTn('+7 (701) 123-45-67')).toBe('77011234567');
    expect(canonicalTn('87011234567')).toBe('77011234567');
    expect(canonicalTn('+4915112345678')).toBe('4915112345678');
    expect(canonicalTn('anonymous')).toBeNull();
  });
});

describe('PASSporT claims', () => {
  const good = { attest: 'B', dest: { tn: ['77021234567'] }, iat: 1, orig: { tn: '77011234567' }, origid: 'o' };
  it('reads the SHAKEN claims and refuses any other shape', () => {
    expect(readPayload(good)).toEqual(good);
    for (const bad of [
      null,
      1,
      'x',
      [],
      { ...good, iat: 1.5 },
      { ...good, orig: null },
      { ...good, dest: { tn: '77021234567' } },
      { ...good, origid: '' },
      { ...good, attest: 'a' },
    ]) {
      expect(readPayload(bad)).toBeNull();
    }
  });
});
