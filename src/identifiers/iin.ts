// IIN (individual) and BIN (business) identification numbers: 12 digits, DOMAIN-FACTS §3.
import { maskMiddle } from './mask.js';

const TWELVE_DIGITS = /^[0-9]{12}$/;
const FIRST_WEIGHTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SECOND_WEIGHTS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

function weightedMod11(first11: string, weights: readonly number[]): number {
  let sum = 0;
  weights.forEach((w, i) => {
    sum += (first11.charCodeAt(i) - 48) * w;
  });
  return sum % 11;
}

/**
 * Check digit for the first 11 digits of an IIN or BIN (two-pass mod 11), or null when the
 * second pass also gives 10: such numbers are never issued. Throws RangeError on other input.
 */
export function iinCheckDigit(first11: string): number | null {
  if (!/^[0-9]{11}$/.test(first11)) throw new RangeError('expected 11 ASCII digits');
  const first = weightedMod11(first11, FIRST_WEIGHTS);
  if (first !== 10) return first;
  const second = weightedMod11(first11, SECOND_WEIGHTS);
  return second === 10 ? null : second;
}

function checksumValid(s: string): boolean {
  return iinCheckDigit(s.slice(0, 11)) === s.charCodeAt(11) - 48;
}

export type IinResult =
  | {
      ok: true;
      iin: string;
      /** YYYY-MM-DD from digits 1–7, or null when they do not form a real date. Only a hint. */
      birthDateHint: string | null;
      /** From digit 7 (odd = male), or null when digit 7 is not 1–6. Only a hint. */
      sexHint: 'M' | 'F' | null;
    }
  | { ok: false; reason: 'not_digits' | 'bad_length' | 'bad_check_digit' };

/**
 * Parse an IIN. Only the length and check digit are enforced: since decree No. 853 (2013) the
 * digits need not match personal data, so the date and sex hints never cause rejection.
 */
export function parseIin(input: string): IinResult {
  const iin = input.trim();
  if (!/^[0-9]*$/.test(iin)) return { ok: false, reason: 'not_digits' };
  if (iin.length !== 12) return { ok: false, reason: 'bad_length' };
  if (!checksumValid(iin)) return { ok: false, reason: 'bad_check_digit' };
  const centuryDigit = Number(iin[6]);
  const known = centuryDigit >= 1 && centuryDigit <= 6;
  return {
    ok: true,
    iin,
    birthDateHint: known ? birthDate(iin, 1800 + 100 * Math.floor((centuryDigit - 1) / 2)) : null,
    sexHint: known ? (centuryDigit % 2 === 1 ? 'M' : 'F') : null,
  };
}

function birthDate(iin: string, century: number): string | null {
  const year = century + Number(iin.slice(0, 2));
  const month = Number(iin.slice(2, 4));
  const day = Number(iin.slice(4, 6));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return null;
  }
  return `${year}-${iin.slice(2, 4)}-${iin.slice(4, 6)}`;
}

/** True for a 12-digit IIN with a valid check digit (surrounding whitespace ignored). */
export function validateIin(input: string): boolean {
  return parseIin(input).ok;
}

/**
 * True for a 12-digit BIN (surrounding whitespace ignored) with a valid check digit and the
 * layout checked by python-stdnum: month 01–12 in digits 3–4, entity type 4/5/6 in digit 5,
 * division 0–3 in digit 6.
 */
export function validateBin(input: string): boolean {
  const bin = input.trim();
  if (!TWELVE_DIGITS.test(bin)) return false;
  const month = Number(bin.slice(2, 4));
  return month >= 1 && month <= 12 && '456'.includes(bin.charAt(4)) && '0123'.includes(bin.charAt(5)) && checksumValid(bin);
}

/** '061211600012' → '**********12': only the last 2 digits, never the birth date. */
export function maskIin(value: string): string {
  return maskMiddle(value.trim(), 0, 2);
}
