// In-memory index the EIR answers from. A cache of the devices tables: the database stays the source of truth,
// the service loads a snapshot into `PackedStatusIndex.build` and then applies change events with `set`.
//
// Layout (8 bytes per IMEI in the base, plus 0.5–1 for the bucket table):
// - base: one Float64Array, sorted ascending, each value `imei14 * 4 + code`. 10^14 < 2^47, so the value is
//   below 2^49 and exact in a double; sorting by value sorts by IMEI, and every IMEI appears once.
// - buckets: equal-width key ranges, 32–64 IMEIs each on average, each described by 4 doubles (32 bytes, one
//   read): its start and end in base and its first and last value. Real IMEIs cluster by TAC, so one bucket
//   may hold a popular model's thousands of serials and its neighbours none; the bucket's own first and last
//   value let the search interpolate inside the cluster (serials within a TAC spread fairly evenly), check a
//   cache line beside the guess, repeat at most twice from the values it has read, then bisect what is left.
//   A lookup touches the bucket and one or two places in base; misses outside a bucket's range touch only the
//   bucket; the worst case stays logarithmic.
// - overlay: an open-addressing hash table (linear probing) on a Float64Array holding `imei14 * 4 + code`
//   for every IMEI changed since the last compaction (code 0 = removed). Merged into a new base by
//   `compact()`, automatically once it holds more than max(1024, min(65536, 1% of base)) IMEIs.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { packImei14 } from '../../identifiers/imei.js';

/** Device status codes stored per IMEI (14-digit IMEI proper, no check digit). 0 = not in the index. */
export const STATUS_NONE = 0,
  STATUS_WHITE = 1,
  STATUS_GREY = 2,
  STATUS_BLACK = 3;
export type StatusCode = 0 | 1 | 2 | 3;

type Entry = readonly [number, StatusCode];

const KEY_LIMIT = 1e14; // 14 digits
const EMPTY_SLOT = -1; // overlay slots hold values ≥ 0
const ENTRIES_PER_BUCKET = 32; // at most; 32–64 on average
const BUCKET_STRIDE = 4; // doubles per bucket: start, end, first value, last value
const OVERLAY_MIN_SLOTS = 1024;
const COMPACT_MIN = 1024;
const COMPACT_MAX = 65_536;
/** Build takes the input in chunks (at least this many, or a quarter of the base so far), each sorted and merged. */
const BUILD_CHUNK_MIN = 1 << 20;
/** Ranges at most this long are bisected straight away. */
const SEARCH_SMALL = 16;
/** Interpolation rounds before bisecting, and the step to the entry checked beside each guess (a cache line). */
const INTERPOLATION_ROUNDS = 3;
const INTERPOLATION_WINDOW = 8;

function isKey(key: number): boolean {
  // NaN fails the comparisons; non-integers would alias a neighbour's code.
  return key >= 0 && key < KEY_LIMIT && Math.floor(key) === key;
}

function requireKey(key: number): void {
  if (!isKey(key)) throw new RangeError(`expected a packed 14-digit IMEI (an integer in 0 … 10^14 - 1), got ${key}`);
}

function requireCode(code: number): void {
  if (code !== 0 && code !== 1 && code !== 2 && code !== 3) throw new RangeError(`expected a status code 0 … 3, got ${code}`);
}

/** Slot of a key in a power-of-two table (murmur3-style mix of the key's low 32 and high 15 bits). */
function slotOf(key: number, mask: number): number {
  const lo = key >>> 0; // key mod 2^32
  const hi = (key / 4294967296) | 0; // key < 2^47, so hi < 2^15
  let h = Math.imul(lo ^ Math.imul(hi, 0x27d4eb2f), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h & mask;
}

function powerOfTwoAtLeast(n: number): number {
  let p = OVERLAY_MIN_SLOTS;
  while (p < n) p *= 2;
  return p;
}

function isSyncIterable(x: Iterable<Entry> | AsyncIterable<Entry>): x is Iterable<Entry> {
  return typeof (x as Partial<Iterable<Entry>>)[Symbol.iterator] === 'function';
}

/**
 * First index in (l, r] of the sorted `base` whose value is ≥ `target`, given base[l] = vl < target ≤ vr = base[r].
 * Each round guesses the position by linear interpolation between the two known values, reads it, then reads the
 * entry `INTERPOLATION_WINDOW` further in the direction of the target: a good guess brackets the answer within a
 * cache line, a poor one still narrows the range with known values at both ends. Then bisects what is left.
 */
function searchBetween(base: Float64Array, l: number, vl: number, r: number, vr: number, target: number): number {
  for (let round = 0; round < INTERPOLATION_ROUNDS && r - l > SEARCH_SMALL; round++) {
    // (target - vl) / (vr - vl) is in (0, 1], so l < guess ≤ r; r - 1 at most, so every round narrows.
    const guess = Math.min(r - 1, l + 1 + Math.floor(((target - vl) / (vr - vl)) * (r - l - 1)));
    const v = base[guess]!;
    if (v < target) {
      l = guess;
      vl = v;
      const probe = guess + INTERPOLATION_WINDOW;
      if (probe < r) {
        const w = base[probe]!;
        if (w < target) {
          l = probe;
          vl = w;
        } else {
          r = probe;
          vr = w;
        }
      }
    } else {
      r = guess;
      vr = v;
      const probe = guess - INTERPOLATION_WINDOW;
      if (probe > l) {
        const w = base[probe]!;
        if (w < target) {
          l = probe;
          vl = w;
        } else {
          r = probe;
          vr = w;
        }
      }
    }
  }
  let lo = l + 1;
  let hi = r;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (base[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One build chunk, in arrival order, as sorted values with one per IMEI, the last arrival winning. Sorting
 * numerically orders an IMEI's duplicates by code, not by arrival, so an IMEI that arrived with different codes
 * is looked up again in the arrival order (rare: a database snapshot has none).
 */
function sortedUnique(arrival: Float64Array): Float64Array {
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
function merge(base: Float64Array, changes: Float64Array, out: Float64Array | null, counts: number[]): number {
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

export class PackedStatusIndex {
  // Base: sorted `imei14 * 4 + code`, one per IMEI, and its buckets (BUCKET_STRIDE doubles each).
  private base: Float64Array = new Float64Array(0);
  private buckets: Float64Array = new Float64Array(0);
  private minKey = 1; // min > max: the empty base answers nothing
  private maxKey = 0;
  private bucketScale = 0; // 1 / bucket width (a power of two): bucket = (key - minKey) * bucketScale | 0
  // Overlay: power-of-two open-addressing table of `imei14 * 4 + code`, EMPTY_SLOT where free.
  private overlay: Float64Array = new Float64Array(0);
  private overlayCount = 0;
  private compactAt = COMPACT_MIN;
  /** Live entries per code; index 0 is unused. */
  private readonly tally = [0, 0, 0, 0];

  private constructor() {}

  /**
   * Builds from entries in any order (duplicates: last one wins; code 0 removes an earlier duplicate). Streams:
   * accepts an iterable or async iterable of [imei14 packed number, code]. The input is taken in chunks of 2^20
   * entries, or a quarter of the base built so far once that is larger; each chunk is sorted in place and merged
   * into a new base, so the transient memory stays near twice the final size. Between chunks the build yields to
   * the event loop. `expectedSize` is only a hint that sizes the first chunk. Throws RangeError on an invalid key
   * or code.
   */
  static async build(
    entries: Iterable<Entry> | AsyncIterable<Entry>,
    expectedSize?: number,
  ): Promise<PackedStatusIndex> {
    const index = new PackedStatusIndex();
    const hint = expectedSize !== undefined && Number.isFinite(expectedSize) && expectedSize > 0 ? expectedSize : 0;
    let limit = BUILD_CHUNK_MIN; // entries per chunk
    let chunk = new Float64Array(Math.max(OVERLAY_MIN_SLOTS, Math.min(hint, limit)));
    let used = 0;
    const add = (entry: Entry): boolean => {
      const key = entry[0];
      const code = entry[1];
      requireKey(key);
      requireCode(code);
      if (used === chunk.length) {
        if (used < limit) {
          const bigger = new Float64Array(Math.min(limit, used * 2));
          bigger.set(chunk);
          chunk = bigger;
        } else {
          index.mergeSorted(sortedUnique(chunk));
          used = 0;
          limit = Math.max(BUILD_CHUNK_MIN, Math.floor(index.base.length / 4));
          if (limit > chunk.length) chunk = new Float64Array(limit);
          chunk[used++] = key * 4 + code;
          return true;
        }
      }
      chunk[used++] = key * 4 + code;
      return false;
    };
    if (isSyncIterable(entries)) {
      for (const entry of entries) {
        if (add(entry)) await yieldToEventLoop();
      }
    } else {
      for await (const entry of entries) add(entry);
    }
    index.mergeSorted(sortedUnique(chunk.subarray(0, used)));
    return index;
  }

  /** Status of a packed 14-digit IMEI: overlay first, then the base. 0 for absent or for a non-IMEI number. */
  get(imei14Packed: number): StatusCode {
    const key = imei14Packed;
    if (!(key >= 0 && key < KEY_LIMIT) || Math.floor(key) !== key) return STATUS_NONE;
    const target = key * 4;
    if (this.overlayCount !== 0) {
      const found = this.overlayFind(key, target);
      if (found >= 0) return found as StatusCode;
    }
    if (key < this.minKey || key > this.maxKey) return STATUS_NONE;
    const buckets = this.buckets;
    const at = (((key - this.minKey) * this.bucketScale) | 0) * BUCKET_STRIDE;
    // An empty bucket has first = +Infinity and last = -Infinity, and answers here.
    const first = buckets[at + 2]!;
    if (target <= first) return (first < target + 4 ? first - target : STATUS_NONE) as StatusCode;
    const last = buckets[at + 3]!;
    if (target + 4 <= last) {
      // first < target < last: in between, if anywhere.
      const base = this.base;
      const value = base[searchBetween(base, buckets[at]!, first, buckets[at + 1]! - 1, last, target)]!;
      return (value < target + 4 ? value - target : STATUS_NONE) as StatusCode;
    }
    return (target <= last ? last - target : STATUS_NONE) as StatusCode;
  }

  /** Convenience: packs 14 digits (TAC + SNR) then `get()`. Throws RangeError if it is not 14 digits. */
  getImei(imei14: string): StatusCode {
    return this.get(packImei14(imei14));
  }

  /**
   * Records a change (code 0 = remove) in the overlay; compacts when the overlay passes its threshold.
   * Throws RangeError on an invalid key or code.
   */
  set(imei14Packed: number, code: StatusCode): void {
    requireKey(imei14Packed);
    requireCode(code);
    const previous = this.get(imei14Packed);
    if (previous === code) return;
    this.tally[previous]!--;
    this.tally[code]!++;
    this.overlayPut(imei14Packed, code);
    if (this.overlayCount > this.compactAt) this.compact();
  }

  /**
   * Merges the overlay into new base arrays and swaps them in (nothing reads the old ones afterwards; a lookup
   * never sees a half-merged state, as JavaScript runs this to completion). Called automatically when the
   * overlay exceeds max(1024, min(65536, 1% of the base)) IMEIs; callable by hand.
   */
  compact(): void {
    this.mergeOverlay();
  }

  /** Live entries (base + overlay effects). */
  get size(): number {
    return this.tally[1]! + this.tally[2]! + this.tally[3]!;
  }

  /** Bytes held by the typed arrays (base, bucket table and overlay table; exact, not estimated) ÷ size. 0 when empty. */
  bytesPerEntry(): number {
    const size = this.size;
    if (size === 0) return 0;
    return (this.base.byteLength + this.buckets.byteLength + this.overlay.byteLength) / size;
  }

  counts(): { white: number; grey: number; black: number } {
    return { white: this.tally[1]!, grey: this.tally[2]!, black: this.tally[3]! };
  }

  // --- overlay -------------------------------------------------------------------------------------------

  /** The overlay's code for the key, or -1 when the overlay does not hold it. */
  private overlayFind(key: number, target: number): number {
    const table = this.overlay;
    const mask = table.length - 1;
    let slot = slotOf(key, mask);
    for (;;) {
      const value = table[slot]!;
      if (value === EMPTY_SLOT) return -1;
      if (value >= target && value < target + 4) return value - target;
      slot = (slot + 1) & mask;
    }
  }

  private overlayPut(key: number, code: number): void {
    if ((this.overlayCount + 1) * 2 > this.overlay.length) this.reserveOverlay(this.overlayCount + 1);
    const table = this.overlay;
    const mask = table.length - 1;
    const target = key * 4;
    let slot = slotOf(key, mask);
    for (;;) {
      const value = table[slot]!;
      if (value === EMPTY_SLOT) {
        table[slot] = target + code;
        this.overlayCount++;
        return;
      }
      if (value >= target && value < target + 4) {
        table[slot] = target + code;
        return;
      }
      slot = (slot + 1) & mask;
    }
  }

  /** Grows the overlay table (load ≤ 1/2) so that it holds `entries` keys; rehashes what it holds. */
  private reserveOverlay(entries: number): void {
    const slots = powerOfTwoAtLeast(entries * 2);
    if (slots <= this.overlay.length) return;
    const old = this.overlay;
    const table = new Float64Array(slots).fill(EMPTY_SLOT);
    const mask = slots - 1;
    for (let i = 0; i < old.length; i++) {
      const value = old[i]!;
      if (value === EMPTY_SLOT) continue;
      let slot = slotOf(Math.floor(value * 0.25), mask);
      while (table[slot] !== EMPTY_SLOT) slot = (slot + 1) & mask;
      table[slot] = value;
    }
    this.overlay = table;
  }

  // --- compaction ----------------------------------------------------------------------------------------

  private mergeOverlay(): void {
    if (this.overlayCount === 0) return;
    const table = this.overlay;
    const changes = new Float64Array(this.overlayCount);
    let k = 0;
    for (let i = 0; i < table.length; i++) {
      const value = table[i]!;
      if (value !== EMPTY_SLOT) changes[k++] = value;
    }
    changes.sort(); // numeric for typed arrays, in place; one value per IMEI
    this.overlay = new Float64Array(0); // the next set() allocates a small table
    this.overlayCount = 0;
    this.mergeSorted(changes);
  }

  /** Merges sorted changes, one per IMEI, into a new base and swaps it in with its bucket table and counts. */
  private mergeSorted(changes: Float64Array): void {
    if (changes.length === 0) return;
    const counts = [0, 0, 0, 0];
    const next = new Float64Array(merge(this.base, changes, null, counts));
    merge(this.base, changes, next, counts);
    // The swap: every field a lookup reads is replaced together, before anything can observe the index.
    this.setBase(next);
    for (let code = 1; code <= 3; code++) this.tally[code] = counts[code]!;
  }

  private setBase(base: Float64Array): void {
    const n = base.length;
    this.compactAt = Math.max(COMPACT_MIN, Math.min(COMPACT_MAX, Math.ceil(n / 100)));
    if (n === 0) {
      this.base = base;
      this.buckets = new Float64Array(0);
      this.minKey = 1;
      this.maxKey = 0;
      this.bucketScale = 0;
      return;
    }
    const minKey = Math.floor(base[0]! * 0.25);
    const maxKey = Math.floor(base[n - 1]! * 0.25);
    const span = maxKey - minKey;
    const wanted = Math.max(1, Math.floor(n / ENTRIES_PER_BUCKET));
    // Equal-width buckets of 2^k keys: the smallest power of two giving at most `wanted` buckets.
    let width = 1;
    while (span / width >= wanted) width *= 2;
    const scale = 1 / width; // exact: width is a power of two
    const count = Math.floor(span * scale) + 1;
    const buckets = new Float64Array(count * BUCKET_STRIDE);
    let i = 0;
    for (let b = 0; b < count; b++) {
      const start = i;
      while (i < n && (((Math.floor(base[i]! * 0.25) - minKey) * scale) | 0) === b) i++;
      const at = b * BUCKET_STRIDE;
      buckets[at] = start;
      buckets[at + 1] = i;
      buckets[at + 2] = i > start ? base[start]! : Infinity;
      buckets[at + 3] = i > start ? base[i - 1]! : -Infinity;
    }
    this.base = base;
    this.buckets = buckets;
    this.minKey = minKey;
    this.maxKey = maxKey;
    this.bucketScale = scale;
  }
}

// --- TACs ----------------------------------------------------------------------------------------------------

const TAC_LIMIT = 1e8; // 8 digits

/** The TAC as a number, or -1 if it is not 8 ASCII digits / an integer in 0 … 10^8 - 1. */
function tacNumber(tac: string | number): number {
  if (typeof tac === 'number') return Number.isInteger(tac) && tac >= 0 && tac < TAC_LIMIT ? tac : -1;
  if (tac.length !== 8) return -1;
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const d = tac.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function requireTac(tac: string | number): number {
  const n = tacNumber(tac);
  if (n < 0) throw new RangeError(`expected an 8-digit TAC, got ${JSON.stringify(tac)}`);
  return n;
}

/**
 * Set of 8-digit TACs (type allocation codes) known from the GSMA TAC database. A TAC is 8 ASCII digits or the
 * same value as a number (`'01234567'` and `1234567` are one TAC). Numbers below 2^31 are small integers in V8,
 * so this is a plain Set (~20–40 bytes per TAC; the GSMA database has a few hundred thousand).
 */
export class TacSet {
  private readonly tacs = new Set<number>();

  /** Throws RangeError on a value that is not a TAC. */
  static build(tacs: Iterable<string | number>): TacSet {
    const set = new TacSet();
    for (const tac of tacs) set.add(tac);
    return set;
  }

  /** False for anything that is not a TAC. */
  has(tac: string | number): boolean {
    const n = tacNumber(tac);
    return n >= 0 && this.tacs.has(n);
  }

  /** Throws RangeError on a value that is not a TAC. */
  add(tac: string | number): void {
    this.tacs.add(requireTac(tac));
  }

  /** Throws RangeError on a value that is not a TAC. */
  delete(tac: string | number): void {
    this.tacs.delete(requireTac(tac));
  }

  get size(): number {
    return this.tacs.size;
  }
}
