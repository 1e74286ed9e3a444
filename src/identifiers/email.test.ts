import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskEmail } from './email.js';

describe('maskEmail', () => {
  it('keeps the first character and the domain', () => {
    expect(maskEmail('analyst@qalqan.kz')).toBe('a***@qalqan.kz');
    expect(maskEmail('no-at-sign')).toBe('***');
  });
  it('never reveals the local part beyond its first character', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const at = email.lastIndexOf('@');
        return maskEmail(email) === `${email[0]}***${email.slice(at)}`;
      }),
    );
  });
});
