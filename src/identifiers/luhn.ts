// Luhn (ISO/IEC 7812-1 Annex B) check digit, used by IMEI and card PANs.

const DIGITS = /^[0-9]+$/;

/** Check digit to append to `digits` (one or more ASCII digits). Throws RangeError otherwise. */
export function luhnCheckDigit(digits: string): number {
  if (!DIGITS.test(digits)) throw new RangeError('luhnCheckDigit expects one or more ASCII digits');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    // The rightmost payload digit sits next to the check digit and is doubled.
    const v = i % 2 === 0 ? d * 2 : d;
    sum += v > 9 ? v - 9 : v;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when `digits` (at least 2 ASCII digits) ends with its correct Luhn check digit. */
export function luhnValid(digits: string): boolean {
  if (digits.length < 2 || !DIGITS.test(digits)) return false;
  return luhnCheckDigit(digits.slice(0, -1)) === digits.charCodeAt(digits.length - 1) - 48;
}
