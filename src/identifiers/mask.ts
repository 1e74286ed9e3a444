/**
 * Replace every character of `value` except the first `keepStart` and last `keepEnd`
 * with '*'. When that would hide nothing, every character is hidden instead.
 */
export function maskMiddle(value: string, keepStart: number, keepEnd: number): string {
  const chars = Array.from(value);
  const hiddenCount = chars.length - keepStart - keepEnd;
  if (hiddenCount < 1) return '*'.repeat(chars.length);
  return chars.slice(0, keepStart).join('') + '*'.repeat(hiddenCount) + chars.slice(chars.length - keepEnd).join('');
}
