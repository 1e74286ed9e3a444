import { describe, expect, it } from 'vitest';
import * as identifiers from './index.js';

describe('index', () => {
  it('re-exports the public API', () => {
    const names = [
      'luhnCheckDigit',
      'luhnValid',
      'parseImei',
      'imeiCheckDigit',
      'toImei15',
      'isAllZeroOrTestTac',
      'packImei14',
      'unpackImei14',
      'parseImsi',
      'parsePei',
      'parseSupi',
      'imsiOfSupi',
      'KZ_MNC',
      'KZ_NUMBERING_PLAN',
      'PLUS7_SPLIT',
      'findKzRange',
      'plus7Holder',
      'parseMsisdn',
      'maskMsisdn',
      'validateIin',
      'validateBin',
      'parseIin',
      'maskIin',
      'iinCheckDigit',
      'parseIban',
      'maskIban',
      'ibanCheckDigits',
      'parseCardPan',
      'cardFingerprint',
      'maskCard',
      'keyedHash',
      'maskDigits',
    ];
    for (const name of names) expect(identifiers).toHaveProperty(name);
  });
});
