import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCertificate } from './certificates.js';
import { credentialCipher, keyMatches, parsePrivateKey } from './keys.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const OPERATOR = '3f1c6a52-9d4e-4f7b-8a1e-0c2d5b6e7f80';

describe('credential encryption', () => {
  const pem = fixture('operator-key.pem');
  const cipher = credentialCipher('a-secret-of-at-least-thirty-two-characters');

  it('round-trips, with a fresh IV each time and no trace of the key in the stored text', () => {
    const a = cipher.seal(pem, OPERATOR);
    const b = cipher.seal(pem, OPERATOR);
    expect(a).not.toBe(b);
    expect(a).not.toContain('PRIVATE KEY');
    expect(cipher.open(a, OPERATOR)).toBe(pem);
  });

  it('refuses another operator, another secret and a tampered text', () => {
    const sealed = cipher.seal(pem, OPERATOR);
    expect(() => cipher.open(sealed, '00000000-0000-4000-8000-000000000000')).toThrow();
    expect(() => credentialCipher('another-secret-of-thirty-two-characters').open(sealed, OPERATOR)).toThrow();
    const [iv, tag, body] = sealed.split('.');
    expect(() => cipher.open(`${iv}.${tag}.${body!.slice(1)}`, OPERATOR)).toThrow();
    expect(() => cipher.open('garbage', OPERATOR)).toThrow();
  });
});

describe('private keys', () => {
  it('reads PKCS#8 PEM only and tells whether it matches a certificate', () => {
    const key = parsePrivateKey(fixture('operator-key.pem'))!;
    expect(keyMatches(key, parseCertificate(fixture('operator.pem'))!)).toBe(true);
    expect(keyMatches(key, parseCertificate(fixture('operator2.pem'))!)).toBe(false);
    expect(parsePrivateKey(fixture('operator.pem'))).toBeNull();
    expect(parsePrivateKey('-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----')).toBeNull();
  });
});
