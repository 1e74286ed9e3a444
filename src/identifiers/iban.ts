// Kazakh IBAN (ИИК): KZ + 2 check digits + 3-digit bank code + 13 alphanumerics, DOMAIN-FACTS §4.
import { maskMiddle } from './mask.js';

const KZ_IBAN = /^KZ[0-9]{2}[0-9]{3}[A-Z0-9]{13}$/;

/** ISO 7064 MOD 97-10 remainder of an upper-case alphanumeric string (A = 10 … Z = 35). */
function mod97(s: string): number {
  let r = 0;
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    r = code >= 65 ? (r * 100 + code - 55) % 97 : (r * 10 + code - 48) % 97;
  }
  return r;
}

/** The two check digits for `country` (2 letters) + `bban` (upper-case alphanumerics). */
export function ibanCheckDigits(country: string, bban: string): string {
  if (!/^[A-Z]{2}$/.test(country) || !/^[A-Z0-9]+$/.test(bban)) {
    throw new RangeError('expected a 2-letter country code and an upper-case alphanumeric BBAN');
  }
  return String(98 - mod97(`${bban}${country}00`)).padStart(2, '0');
}

export type IbanResult = { ok: true; iban: string; bankCode: string } | { ok: false; reason: 'not_kz' | 'bad_length' | 'bad_format' | 'bad_check_digits' };

function normalise(input: string): string {
  return input.replace(/\s/gu, '').toUpperCase();
}

/** Parse a Kazakh IBAN; lower case and whitespace are accepted and normalised away. */
export function parseIban(input: string): IbanResult {
  const iban = normalise(input);
  if (/^[A-Z]{2}/.test(iban) && !iban.startsWith('KZ')) return { ok: false, reason: 'not_kz' };
  if (iban.length !== 20) return { ok: false, reason: 'bad_length' };
  if (!KZ_IBAN.test(iban)) return { ok: false, reason: 'bad_format' };
  if (mod97(iban.slice(4) + iban.slice(0, 4)) !== 1) return { ok: false, reason: 'bad_check_digits' };
  return { ok: true, iban, bankCode: iban.slice(4, 7) };
}

/** 'KZ86125KZT5004100100' → 'KZ86************0100'. */
export function maskIban(value: string): string {
  return maskMiddle(normalise(value), 4, 4);
}
