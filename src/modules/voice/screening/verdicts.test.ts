import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, reasonsFor, screenCall, verdictFor, type NumberFacts, type Policy } from './verdicts.js';
import type { CallToScreen } from './schema.js';

const ROAMING = '+77011234567';
const facts: NumberFacts = {
  isRoaming: (n) => n === ROAMING,
  isDoNotOriginate: (n) => n === '+77172000102' || n === '102',
  isBlocklisted: (n) => n === '+77059998877',
  homeOperator: (n) => (n.startsWith('+7701') ? 'kcell' : null),
};
const policy: Policy = { block: new Set(DEFAULT_POLICY.block), flag: new Set(DEFAULT_POLICY.flag), enabled: true };
const call = (callingNumber: string, ingress: CallToScreen['ingress'] = 'international'): CallToScreen => ({
  callingNumber,
  calledNumber: '+77017654321',
  ingress,
});

describe('screening reasons', () => {
  it('SPOOFED_KZ_MOBILE_FROM_ABROAD: a Kazakh mobile CLI from abroad whose subscriber is not roaming', () => {
    expect(reasonsFor(call('+77019876543'), facts, null)).toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');
    expect(reasonsFor(call(ROAMING), facts, null)).not.toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');
    expect(reasonsFor(call('+77019876543', 'domestic'), facts, null)).not.toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');
    // Same number in the national format: 8 701 …
    expect(reasonsFor(call('8 701 987 65 43'), facts, null)).toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');
  });

  it('a valid full attestation by the number’s own operator vouches for a Kazakh subscriber calling from abroad', () => {
    expect(reasonsFor(call('+77019876543'), facts, { ok: true, attestation: 'A', operatorId: 'kcell' })).not.toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');
    expect(reasonsFor(call('+77019876543'), facts, { ok: true, attestation: 'C', operatorId: 'kcell' })).toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');
    // Another operator's signature, or one for a number whose operator is unknown, vouches for nothing.
    expect(reasonsFor(call('+77019876543'), facts, { ok: true, attestation: 'A', operatorId: 'beeline' })).toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');
    expect(reasonsFor(call('+77059876543'), facts, { ok: true, attestation: 'A', operatorId: 'kcell' })).toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');
  });

  it('puts the reasons that block first, and reports why an identity failed', () => {
    const r = screenCall(call('+77272501234'), { ...facts, isBlocklisted: () => true }, policy, {
      ok: false,
      code: 438,
      reason: 'Invalid Identity Header: the signature does not verify',
    });
    expect(r.reasons).toEqual(['KZ_GEOGRAPHIC_FROM_ABROAD', 'BLOCKLISTED_NUMBER', 'IDENTITY_INVALID']);
    const landlineFlagged: Policy = {
      ...policy,
      block: new Set([...policy.block].filter((reason) => reason !== 'KZ_GEOGRAPHIC_FROM_ABROAD')),
      flag: new Set(['KZ_GEOGRAPHIC_FROM_ABROAD']),
    };
    const flagged = screenCall(call('+77272501234'), { ...facts, isBlocklisted: () => true }, landlineFlagged, {
      ok: false,
      code: 438,
      reason: 'Invalid Identity Header',
    });
    expect(flagged.reasons).toEqual(['BLOCKLISTED_NUMBER', 'IDENTITY_INVALID', 'KZ_GEOGRAPHIC_FROM_ABROAD']);
    expect(r.identityError).toEqual({ code: 438, reason: 'Invalid Identity Header: the signature does not verify' });
  });

  it('KZ_GEOGRAPHIC_FROM_ABROAD: an Almaty landline CLI on an international trunk', () => {
    expect(reasonsFor(call('+77272501234'), facts, null)).toContain('KZ_GEOGRAPHIC_FROM_ABROAD');
    expect(reasonsFor(call('+77272501234', 'domestic'), facts, null)).not.toContain('KZ_GEOGRAPHIC_FROM_ABROAD');
  });

  it('Russian ranges under +7 are foreign: a Moscow CLI from abroad is normal', () => {
    expect(reasonsFor(call('+74951234567'), facts, null)).toEqual([]);
    expect(reasonsFor(call('+79161234567'), facts, null)).toEqual([]);
    expect(reasonsFor(call('+442071234567'), facts, null)).toEqual([]);
  });

  it('INVALID_CLI: unparseable, wrong length, unallocated range', () => {
    for (const bad of ['', 'anonymous', '+7701', '+770112345678', '+77031234567', '123']) {
      expect(reasonsFor(call(bad), facts, null), bad).toContain('INVALID_CLI');
    }
  });

  it('DO_NOT_ORIGINATE: a number or short code that only receives calls', () => {
    expect(reasonsFor(call('+77172000102', 'domestic'), facts, null)).toContain('DO_NOT_ORIGINATE');
    expect(reasonsFor(call('102', 'domestic'), facts, null)).toEqual(['INVALID_CLI', 'DO_NOT_ORIGINATE']);
  });

  it('BLOCKLISTED_NUMBER: published by intel or a confirmed SIM-box', () => {
    expect(reasonsFor(call('+77059998877', 'domestic'), facts, null)).toContain('BLOCKLISTED_NUMBER');
  });

  it('IDENTITY_INVALID and IDENTITY_MISSING', () => {
    expect(reasonsFor(call('+77019876543', 'domestic'), facts, { ok: false, code: 438, reason: 'Invalid Identity Header' })).toContain('IDENTITY_INVALID');
    expect(reasonsFor(call('+77019876543', 'domestic'), facts, null)).toEqual(['IDENTITY_MISSING']);
    expect(reasonsFor(call('+77019876543', 'domestic'), facts, { ok: true, attestation: 'A', operatorId: 'kcell' })).toEqual([]);
    // No Kazakh operator signs a foreign call: its missing identity is not a reason.
    expect(reasonsFor(call('+79161234567', 'domestic'), facts, null)).toEqual([]);
  });
});

describe('verdicts by policy', () => {
  it('blocks, flags or allows by the receiving operator’s policy; the kill switch allows everything', () => {
    expect(screenCall(call('+77019876543'), facts, policy, null).verdict).toBe('block');
    // A Kazakh landline CLI from abroad is blocked by default; an operator may switch it to flag.
    expect(screenCall(call('+77272501234'), facts, policy, null)).toEqual({ verdict: 'block', reasons: ['KZ_GEOGRAPHIC_FROM_ABROAD', 'IDENTITY_MISSING'] });
    const landlineFlagged: Policy = {
      block: new Set(DEFAULT_POLICY.block.filter((r) => r !== 'KZ_GEOGRAPHIC_FROM_ABROAD')),
      flag: new Set(['KZ_GEOGRAPHIC_FROM_ABROAD']),
      enabled: true,
    };
    expect(screenCall(call('+77272501234'), facts, landlineFlagged, null)).toEqual({
      verdict: 'flag',
      reasons: ['KZ_GEOGRAPHIC_FROM_ABROAD', 'IDENTITY_MISSING'],
    });
    expect(screenCall(call(ROAMING), facts, policy, { ok: true, attestation: 'B' })).toEqual({ verdict: 'allow', reasons: [], attestation: 'B' });
    const lenient: Policy = { block: new Set(), flag: new Set(['SPOOFED_KZ_MOBILE_FROM_ABROAD']), enabled: true };
    expect(screenCall(call('+77019876543'), facts, lenient, null).verdict).toBe('flag');
    expect(verdictFor(['INVALID_CLI'], { ...policy, enabled: false })).toBe('allow');
  });

  it('never throws on any input, and a malformed number is a verdict', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.constantFrom('international' as const, 'domestic' as const), (calling, called, ingress) => {
        const r = screenCall({ callingNumber: calling, calledNumber: called, ingress }, facts, policy, null);
        expect(['allow', 'flag', 'block']).toContain(r.verdict);
      }),
    );
  });
});
