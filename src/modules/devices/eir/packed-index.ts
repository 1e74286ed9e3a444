// In-memory index the EIR answers from. A cache of the devices tables: the database stays the source of truth,
// the service loads a snapshot into `PackedStatusIndex.build` and then applies change events with `set`.
//
// Layout (8 bytes per IMEI in the base, plus 0.25–0.5 for the bucket table):
// - base: one Float64Array, sorted ascending, each value `imei14 * 4 + code`. 10^14 < 2^47, so the value is
//   below 2^49 and exact in a double; sorting by value sorts by IMEI, and every IMEI appears once. A lookup
//   compares values directly: the IMEI is present iff the first value ≥ imei14 * 4 is below imei14 * 4 + 4.
// - buckets: a Uint32Array of start offsets into base for equal-width key ranges (a power of two wide, 8–16
//   IMEIs per bucket on average), then a binary search inside the bucket. Real IMEIs cluster by TAC, so a
//   popular model's bucket holds thousands and the search there takes more steps, but its upper steps are the
//   same for every lookup into it and stay in cache. (Interpolating inside buckets was tried: no faster here.)
// - overlay: an open-addressing hash table (linear probing) on a Float64Array holding `imei14 * 4 + code`
//   for every IMEI changed since the last compaction (code 0 = removed). Merged into a new base by
//   `compact()`, automatically once it holds more than max(1024, min(65536, 1% of base)) IMEIs.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { packImei14 } from '../../../identifiers/imei.js';
import { KEY_LIMIT, merge, requireCode, requireKey, sortedUnique, type Entry } from './sorted-values.js';
import { STATUS_NONE, type StatusCode } from './status.js';

const EMPTY_SLOT = -1; // overlay slots hold values ≥ 0
const ENTRIES_PER_BUCKET = 8; // at most 1 bucket per 8 IMEIs: 8–16 per bucket on average
const OVERLAY_MIN_SLOTS = 1024;
const COMPACT_MIN = 1024;
const COMPACT_MAX = 65_536;
/** Build takes the input in chunks (at least this many, or as many as the base so far), each sorted and merged. */
const BUILD_CHUNK_MIN = 1 << 20;
const BUILD_CHUNK_FIRST = 1024; // the chunk buffer starts this small and doubles, unless expectedSize says more
const EMPTY_CHUNK = new Float64Array(0);

/**
 * Slot of a key in a power-of-two table: a murmur3-style mix of the key's low 24 and high 23 bits. (Both halves
 * stay inside int32, where V8 truncates inline; `key >>> 0` on a double above 2^31 would take a slow path.)
 */
function slotOf(key: number, mask: number): number {
  const hi = Math.floor(key / 16777216); // key < 2^47, so hi < 2^23
  const lo = key - hi * 16777216;
  let h = Math.imul(lo | 0, 0x9e3779b1) ^ Math.imul(hi | 0, 0x27d4eb2f);
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

export class PackedStatusIndex {
  // Base: sorted `imei14 * 4 + code`, one per IMEI, and where each bucket starts in it (plus the end).
  private base: Float64Array = new Float64Array(0);
  private offsets: Uint32Array = new Uint32Array(0);
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
   * entries, or as many as the base built so far once that is larger (so about log2(n / 2^20) merges); each chunk
   * is sorted (a copy: the arrival order decides between duplicates) and merged into a new base. What is live at
   * once peaks at the old base, the sorted chunk and the new base: at most twice the final size, plus dead
   * buffers until the GC frees them. Between chunks the build yields to the event loop. `expectedSize` is only a
   * hint that sizes the chunk buffers. Throws RangeError on an invalid key or code.
   */
  static async build(entries: Iterable<Entry> | AsyncIterable<Entry>, expectedSize?: number): Promise<PackedStatusIndex> {
    const index = new PackedStatusIndex();
    const hint = expectedSize !== undefined && Number.isFinite(expectedSize) && expectedSize > 0 ? expectedSize : 0;
    let limit = BUILD_CHUNK_MIN; // entries per chunk
    let chunk = new Float64Array(Math.max(BUILD_CHUNK_FIRST, Math.min(hint, limit)));
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
          const changes = sortedUnique(chunk);
          chunk = EMPTY_CHUNK; // not held while the merge allocates the new base
          index.mergeSorted(changes);
          limit = Math.max(BUILD_CHUNK_MIN, index.base.length);
          chunk = new Float64Array(Math.min(limit, Math.max(BUILD_CHUNK_MIN, hint - index.base.length)));
          used = 0;
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
    const changes = sortedUnique(chunk.subarray(0, used));
    chunk = EMPTY_CHUNK;
    index.mergeSorted(changes);
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
    const base = this.base;
    const offsets = this.offsets;
    const bucket = ((key - this.minKey) * this.bucketScale) | 0;
    let lo = offsets[bucket]!;
    let hi = offsets[bucket + 1]!;
    // The first value ≥ target. As key ≤ maxKey one exists, in this bucket or first in a later one.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (base[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    const value = base[lo]!;
    return (value < target + 4 ? value - target : STATUS_NONE) as StatusCode;
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
    return (this.base.byteLength + this.offsets.byteLength + this.overlay.byteLength) / size;
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
      this.offsets = new Uint32Array(0);
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
    const scale = 1 / width; // exact: width is a power of two, so (key - minKey) * scale | 0 is a floor
    const buckets = Math.floor(span * scale) + 1;
    const offsets = new Uint32Array(buckets + 1); // offsets[b] = first index whose bucket is ≥ b
    let bucket = 0;
    for (let i = 0; i < n; i++) {
      const b = ((Math.floor(base[i]! * 0.25) - minKey) * scale) | 0;
      while (bucket < b) offsets[++bucket] = i;
    }
    while (bucket < buckets) offsets[++bucket] = n;
    this.base = base;
    this.offsets = offsets;
    this.minKey = minKey;
    this.maxKey = maxKey;
    this.bucketScale = scale;
  }
}
