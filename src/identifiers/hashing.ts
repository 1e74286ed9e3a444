import { createHmac } from 'node:crypto';
import { maskMiddle } from './mask.js';

/**
 * HMAC-SHA256 (hex) of `domain + '\0' + value`. The domain separates identifier kinds,
 * so an IIN and a card number with the same digits hash differently.
 * As with any HMAC, keys that differ only by trailing NUL bytes are equivalent.
 * Throws RangeError for an empty key, an empty domain or a domain containing '\0'.
 */
export function keyedHash(key: Buffer | string, domain: string, value: string): string {
  if (key.length === 0) throw new RangeError('keyedHash needs a non-empty key');
  if (domain.length === 0 || domain.includes('\0')) {
    throw new RangeError('keyedHash domain must be non-empty and must not contain NUL');
  }
  return createHmac('sha256', key).update(`${domain}\0${value}`, 'utf8').digest('hex');
}

/** Mask every run of 9 or more ASCII digits in free text, keeping its first 3 and last 2 digits. */
export function maskDigits(text: string): string {
  return text.replace(/[0-9]{9,}/g, (run) => maskMiddle(run, 3, 2));
}
