// Payment card numbers (PAN): 12–19 digits with a Luhn check digit (ISO/IEC 7812).
import { keyedHash } from './hashing.js';
import { luhnValid } from './luhn.js';
import { maskMiddle } from './mask.js';

export type CardResult = { ok: true; pan: string; last4: string; bin6: string } | { ok: false; reason: 'not_digits' | 'bad_length' | 'bad_check_digit' };

function normalise(input: string): string {
  return input.replace(/[\s-]/gu, '');
}

/** Parse a card number; spaces and dashes are ignored. */
export function parseCardPan(input: string): CardResult {
  const pan = normalise(input);
  if (!/^[0-9]*$/.test(pan)) return { ok: false, reason: 'not_digits' };
  if (pan.length < 12 || pan.length > 19) return { ok: false, reason: 'bad_length' };
  if (!luhnValid(pan)) return { ok: false, reason: 'bad_check_digit' };
  return { ok: true, pan, last4: pan.slice(-4), bin6: pan.slice(0, 6) };
}

export const CARD_HASH_DOMAIN = 'card-pan';

/** Keyed fingerprint (HMAC-SHA256 hex) of a valid PAN. Throws RangeError for an invalid PAN. */
export function cardFingerprint(pan: string, key: Buffer | string): string {
  const parsed = parseCardPan(pan);
  if (!parsed.ok) throw new RangeError(`cardFingerprint: invalid PAN (${parsed.reason})`);
  return keyedHash(key, CARD_HASH_DOMAIN, parsed.pan);
}

/** First 6 and last 4 digits (the most PCI DSS allows to show): '411111******1111'. */
export function maskCard(value: string): string {
  const digits = normalise(value);
  return /^[0-9]{12,19}$/.test(digits) ? maskMiddle(digits, 6, 4) : maskMiddle(value, 0, 0);
}
