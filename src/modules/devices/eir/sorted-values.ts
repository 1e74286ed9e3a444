// The arithmetic of packed status values (`imei14 * 4 + code`, exact in a double: see packed-index.ts): checks of keys
// and codes, and the sorted, one-per-IMEI arrays the index's base is built and merged from.
import type { StatusCode } from './status.js';

export type Entry = readonly [number, StatusCode];

export const KEY_LIMIT = 1e14; // 14 digits

export function requireKey(key: number): void {
  // NaN fails the comparisons; a fraction would read as a neighbour's code.
  if (!(key >= 0 && key < KEY_LIMIT) || Math.floor(key) !== key) {
    throw new RangeError(`expected a packed 14-digit IMEI (an integer in 0 … 10^14 - 1), got ${key}`);
  }
}

export function requireCode(code: number): void {
  if (code !== 0 && code !== 1 && code !== 2 && code !== 3) throw new RangeError(`expected a status code 0 … 3, got ${code}`);
}

/**
 * One build chunk, in arrival order, as sorted values with one per IMEI, the last arrival winning. Sorting
 * numerically orders an IMEI's duplicates by code, not by arrival, so an IMEI that arrived with different codes
 * is looked up again in the arrival order (rare: a database snapshot has none).
 */
export function sortedUnique(arrival: Float64Array): Float64Array {
  const sorted = arrival.slice();
  sorted.sort(); // numeric for typed arrays, in place
  let w = 0;
  let conflicts: number[] | null = null; // positions in `sorted` of IMEIs that came with different codes
  for (let i = 0; i < sorted.length; i++) {
    const value = sorted[i]!;
    if (w > 0) {
      const previous = sorted[w - 1]!;
      if (value === previous) continue;
      if (Math.floor(value * 0.25) === Math.floor(previous * 0.25)) {
        conflicts ??= [];
        if (conflicts[conflicts.length - 1] !== w - 1) conflicts.push(w - 1);
        continue;
      }
    }
    sorted[w++] = value;
  }
  if (conflicts !== null) {
    const last = new Map<number, number>();
    for (const at of conflicts) last.set(Math.floor(sorted[at]! * 0.25), 0);
    for (let i = 0; i < arrival.length; i++) {
      const value = arrival[i]!;
      const key = Math.floor(value * 0.25);
      if (last.has(key)) last.set(key, value);
    }
    for (const at of conflicts) sorted[at] = last.get(Math.floor(sorted[at]! * 0.25))!;
  }
  return w === sorted.length ? sorted : sorted.subarray(0, w);
}

/**
 * Merges sorted changes (one per IMEI) into the sorted base (a change wins for the same IMEI; code 0 drops it). With
 * `out`, writes the result there and tallies the codes into `counts`; always returns the number of live entries.
 */
export function merge(base: Float64Array, changes: Float64Array, out: Float64Array | null, counts: number[]): number {
  const n = base.length;
  const m = changes.length;
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < n && j < m) {
    const b = base[i]!;
    const c = changes[j]!;
    const kb = Math.floor(b * 0.25);
    const kc = Math.floor(c * 0.25);
    if (kb < kc) {
      if (out) {
        out[o] = b;
        counts[b - kb * 4]!++;
      }
      o++;
      i++;
    } else {
      if (kb === kc) i++;
      const code = c - kc * 4;
      if (code !== 0) {
        if (out) {
          out[o] = c;
          counts[code]!++;
        }
        o++;
      }
      j++;
    }
  }
  for (; i < n; i++) {
    const b = base[i]!;
    if (out) {
      out[o] = b;
      counts[b - Math.floor(b * 0.25) * 4]!++;
    }
    o++;
  }
  for (; j < m; j++) {
    const c = changes[j]!;
    const code = c - Math.floor(c * 0.25) * 4;
    if (code !== 0) {
      if (out) {
        out[o] = c;
        counts[code]!++;
      }
      o++;
    }
  }
  return o;
}
