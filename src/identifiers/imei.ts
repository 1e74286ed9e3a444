// IMEI per 3GPP TS 23.003 Annex B: TAC (8) + SNR (6) + check digit (1); IMEISV = TAC + SNR + SVN (2).
import { luhnCheckDigit, luhnValid } from './luhn.js';

export type ImeiKind = 'imei' | 'imeisv' | 'imei14';

export type ImeiResult =
  | {
      ok: true;
      /** TAC + SNR, the 14 digits that identify the device. */
      imei14: string;
      tac: string;
      /**
       * For 15-digit input: the check digit computed from the 14 digits (in network mode the
       * transmitted 15th digit may be a spare 0, so it is not reported). Null for 14 and 16 digits.
       */
      checkDigit: number | null;
      /** Software version number, IMEISV only. */
      svn: string | null;
      kind: ImeiKind;
    }
  | { ok: false; reason: 'not_digits' | 'bad_length' | 'bad_check_digit' };

export interface ParseImeiOptions {
  /** Input was captured from the network: the 15th digit is not validated (devices send 0). */
  network?: boolean;
}

const FOURTEEN_DIGITS = /^[0-9]{14}$/;

/** Parse an IMEI (15), IMEISV (16) or bare TAC+SNR (14). Surrounding whitespace is ignored. */
export function parseImei(input: string, options: ParseImeiOptions = {}): ImeiResult {
  const s = input.trim();
  if (!/^[0-9]*$/.test(s)) return { ok: false, reason: 'not_digits' };
  const imei14 = s.slice(0, 14);
  const tac = s.slice(0, 8);
  switch (s.length) {
    case 14:
      return { ok: true, imei14, tac, checkDigit: null, svn: null, kind: 'imei14' };
    case 15:
      if (options.network !== true && !luhnValid(s)) return { ok: false, reason: 'bad_check_digit' };
      return { ok: true, imei14, tac, checkDigit: luhnCheckDigit(imei14), svn: null, kind: 'imei' };
    case 16:
      return { ok: true, imei14, tac, checkDigit: null, svn: s.slice(14), kind: 'imeisv' };
    default:
      return { ok: false, reason: 'bad_length' };
  }
}

function assertImei14(imei14: string): void {
  if (!FOURTEEN_DIGITS.test(imei14)) throw new RangeError('expected 14 ASCII digits (TAC + SNR)');
}

/** Luhn check digit of a 14-digit TAC + SNR. Throws RangeError on other input. */
export function imeiCheckDigit(imei14: string): number {
  assertImei14(imei14);
  return luhnCheckDigit(imei14);
}

/** The 15-digit IMEI: TAC + SNR + check digit. Throws RangeError on other input. */
export function toImei15(imei14: string): string {
  return imei14 + String(imeiCheckDigit(imei14));
}

/**
 * True for the all-zero TAC and for test TACs. The first two TAC digits are the Reporting Body
 * Identifier, and RBI "00" is reserved for test IMEIs (GSMA TS.06 "IMEI Allocation and Approval
 * Process", TAC and Test IMEI sections; Wikipedia "International Mobile Equipment Identity").
 * 00000000 is covered by the same rule.
 */
export function isAllZeroOrTestTac(tac: string): boolean {
  return /^00[0-9]{6}$/.test(tac);
}

const IMEI14_LIMIT = 1e14; // 10^14 < 2^47, so every 14-digit value is a safe integer.

/** Pack 14 digits into a safe integer (47 bits), e.g. for compact storage. Throws RangeError. */
export function packImei14(imei14: string): number {
  assertImei14(imei14);
  return Number(imei14);
}

/** Inverse of packImei14: zero-padded 14 digits. Throws RangeError outside 0 … 10^14 − 1. */
export function unpackImei14(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || n >= IMEI14_LIMIT) {
    throw new RangeError('expected an integer in 0 … 10^14 - 1');
  }
  return String(n).padStart(14, '0');
}
