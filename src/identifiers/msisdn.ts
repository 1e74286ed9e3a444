// Telephone numbers: Kazakh forms under +7 (DOMAIN-FACTS §1) and international E.164.
import { maskMiddle } from './mask.js';
import { findKzRange, plus7Holder, type NumberType, type ZoneHolder } from './numbering-plan.js';

export type MsisdnType = NumberType | 'foreign' | 'unallocated';

export type MsisdnResult =
  | {
      ok: true;
      e164: string;
      /** The 10 digits after +7. */
      nsn: string;
      country: ZoneHolder;
      /** 'foreign' for Russian ranges; 'unallocated' when no Kazakh range matches. */
      type: MsisdnType;
      operatorHint?: string;
      area?: string;
      areaCode?: string;
      city?: string;
    }
  | {
      ok: true;
      e164: string;
      /** Unknown: the country code is not split off for numbers outside +7. */
      nsn: null;
      country: 'other';
      type: 'foreign';
    }
  | { ok: false; reason: 'empty' | 'not_digits' | 'bad_length' | 'bad_prefix' };

type Failure = Extract<MsisdnResult, { ok: false }>;

function fail(reason: Failure['reason']): Failure {
  return { ok: false, reason };
}

/**
 * Parse a phone number. Spaces, dashes, dots and parentheses are ignored. Accepted forms:
 * +7 plus 10 digits; 11 digits starting with 7 (country code) or 8 (trunk prefix); other
 * countries as + or 810 (the Kazakh international prefix) followed by 8–15 digits.
 */
export function parseMsisdn(input: string): MsisdnResult {
  const s = withoutSeparators(input);
  if (s === '') return fail('empty');
  const plus = s.startsWith('+');
  const digits = plus ? s.slice(1) : s;
  if (!/^[0-9]*$/.test(digits)) return fail('not_digits');
  if (plus) return fromInternational(digits);
  if (digits.length === 11) {
    return digits[0] === '7' || digits[0] === '8' ? fromNsn(digits.slice(1)) : fail('bad_prefix');
  }
  if (digits.startsWith('810')) return fromInternational(digits.slice(3));
  return fail('bad_length');
}

const SEPARATORS = /[\s\-.()]/gu;

/** The input without separators; a number already written as `+` and digits (the common case) is returned as is. */
function withoutSeparators(input: string): string {
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c !== 43 && (c < 48 || c > 57)) return input.replace(SEPARATORS, '');
  }
  return input;
}

/** `digits` is everything after the international prefix: country code + national number. */
function fromInternational(digits: string): MsisdnResult {
  if (digits.startsWith('7')) return digits.length === 11 ? fromNsn(digits.slice(1)) : fail('bad_length');
  if (digits.startsWith('0')) return fail('bad_prefix');
  if (digits.length < 8 || digits.length > 15) return fail('bad_length');
  return { ok: true, e164: `+${digits}`, nsn: null, country: 'other', type: 'foreign' };
}

function fromNsn(nsn: string): MsisdnResult {
  const country = plus7Holder(nsn);
  const e164 = `+7${nsn}`;
  if (country === 'RU') return { ok: true, e164, nsn, country, type: 'foreign' };
  const range = country === 'reserve' ? undefined : findKzRange(nsn);
  if (!range) return { ok: true, e164, nsn, country, type: 'unallocated' };
  // Built field by field, not by spreading: this runs for every screened call.
  const result: MsisdnResult = { ok: true, e164, nsn, country, type: range.type };
  if (range.operatorHint !== undefined) result.operatorHint = range.operatorHint;
  if (range.area !== undefined) result.area = range.area;
  if (range.city !== undefined) {
    result.areaCode = range.prefix;
    result.city = range.city;
  }
  return result;
}

/**
 * Mask a phone number for display or logs: '+7 701 123 4567' → '+7701***4567' (E.164 keeping
 * +7 and 3 digits, or the first 4 digits for other countries, plus the last 4; short foreign
 * numbers keep fewer leading digits so at least 3 are hidden). Unparseable input is fully masked.
 */
export function maskMsisdn(value: string): string {
  const parsed = parseMsisdn(value);
  if (!parsed.ok) return maskMiddle(value, 0, 0);
  return maskMiddle(parsed.e164, Math.min(5, parsed.e164.length - 7), 4);
}
