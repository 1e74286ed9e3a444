import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameToken } from './keys.js';

describe('sameToken', () => {
  it('is true exactly for equal strings', () => {
    expect(sameToken('qk_abc_def', 'qk_abc_def')).toBe(true);
    expect(sameToken('qk_abc_def', 'qk_abc_deg')).toBe(false);
    expect(sameToken('qk_abc_def', 'qk_abc_de')).toBe(false);
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => sameToken(a, b) === (a === b)));
  });
});
