import { parseMsisdn } from '../../../identifiers/msisdn.js';

/** How the do-not-originate list keys a number: short codes (102, 112, hotlines such as 7111) as digits, others as E.164; null if neither. */
export function dnoKey(number: string): string | null {
  const digits = number.replace(/[\s\-.()]/g, '');
  if (/^[0-9]{3,6}$/.test(digits)) return digits;
  const parsed = parseMsisdn(number);
  return parsed.ok ? parsed.e164 : null;
}

/** A Kazakh number as E.164, or why not. */
export function kazakhNumber(input: string, mobileOnly: boolean): { e164: string } | { error: string } {
  const parsed = parseMsisdn(input);
  if (!parsed.ok) return { error: `not a phone number (${parsed.reason})` };
  if (parsed.country === 'RU' || parsed.country === 'other') return { error: 'not a Kazakh number' };
  if (parsed.type === 'unallocated') return { error: 'not in an allocated Kazakh range' };
  if (mobileOnly && parsed.type !== 'mobile') return { error: 'not a Kazakh mobile number' };
  return { e164: parsed.e164 };
}
