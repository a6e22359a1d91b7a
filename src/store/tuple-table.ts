/**
 * An open-addressing hash table of integer key tuples (one id per dimension) with three
 * measures each: requests, bytes and time. No object per key and no allocation per add: the
 * live minute and every merge run on it.
 * @module
 */
import { D, folded, isResidual, MAX_RESIDUALS, RESIDUAL, RESIDUAL_TIERS } from './dimensions.ts';

const EMPTY = -1;
/** `add`'s measures, passed on to `addFrom`. */
const measures = new Float64Array(3);

export class TupleTable {
  /** Entry index per slot, -1 when empty. */
  #slots: Int32Array;
  #mask: number;
  /** Key ids, D per entry. */
  ids: Uint32Array;
  requests: Float64Array;
  bytes: Float64Array;
  time: Float64Array;
  /** Number of entries. */
  size = 0;
  /**
   * Entries beyond this are refused by `add`, except residual keys (`isResidual`): those are
   * always taken, and never given to another key by `replaceMin`.
   */
  readonly maxEntries: number;
  /**
   * Once the table is full and `replaceMin` is used: a min-heap of entry indices by requests plus
   * error (`#heapPos` is each entry's place in it, -1 for a residual), kept as counts grow. Null
   * until then.
   */
  #heap: Int32Array | null = null;
  #heapPos: Int32Array | null = null;
  /**
   * Per entry, with the heap: the requests of the key it was given by (Space-Saving's error). An
   * entry's true count since its key first came is between `requests` and `requests + err`.
   */
  #err: Float64Array | null = null;
  /** The largest requests + error an entry had when `replaceMin` gave it away (the error bound). */
  maxReplaced = 0;
  /** Keys that took over an entry. */
  replaced = 0;
  /** Entries that are residuals (`isResidual`). */
  residuals = 0;

  constructor(maxEntries: number, initial = 1024) {
    this.maxEntries = maxEntries;
    const cap = Math.min(Math.max(16, initial), maxEntries || 16);
    this.ids = new Uint32Array(cap * D);
    this.requests = new Float64Array(cap);
    this.bytes = new Float64Array(cap);
    this.time = new Float64Array(cap);
    let slots = 16;
    while (slots < cap * 2) slots *= 2;
    this.#slots = new Int32Array(slots).fill(EMPTY);
    this.#mask = slots - 1;
  }

  static hash(k: ArrayLike<number>, off: number): number {
    let h = 0x811c9dc5 | 0;
    for (let d = 0; d < D; d++) {
      h = Math.imul(h ^ (k[off + d] as number), 0x01000193);
      h ^= h >>> 15;
    }
    return h >>> 0;
  }

  /** Index of the entry with key `k[off..off+D)`, or -1. */
  find(k: ArrayLike<number>, off = 0): number {
    const slots = this.#slots;
    const ids = this.ids;
    let s = TupleTable.hash(k, off) & this.#mask;
    for (;;) {
      const e = slots[s] as number;
      if (e === EMPTY) return -1;
      const b = e * D;
      let same = true;
      for (let d = 0; d < D; d++) {
        if (ids[b + d] !== k[off + d]) {
          same = false;
          break;
        }
      }
      if (same) return e;
      s = (s + 1) & this.#mask;
    }
  }

  /**
   * Adds measures to the key, inserting it when new. Returns the entry index, or -1 when the key
   * is new and the table is full (`maxEntries`) and not a residual: the caller counts the drop.
   * `isNew` (when given) receives whether the key was inserted.
   */
  add(
    k: ArrayLike<number>,
    off: number,
    requests: number,
    bytes: number,
    time: number,
    isNew?: { v: boolean },
  ): number {
    const m = measures;
    m[0] = requests;
    m[1] = bytes;
    m[2] = time;
    return this.addFrom(k, off, m, isNew);
  }

  /**
   * As `add`, with the requests, bytes and time in `m[0..3)` (the collector's path for each
   * line: a fraction passed as an argument is a new heap number each call).
   */
  addFrom(k: ArrayLike<number>, off: number, m: Float64Array, isNew?: { v: boolean }): number {
    const requests = m[0] as number;
    const bytes = m[1] as number;
    const time = m[2] as number;
    const slots = this.#slots;
    const ids = this.ids;
    let s = TupleTable.hash(k, off) & this.#mask;
    for (;;) {
      const e = slots[s] as number;
      if (e === EMPTY) break;
      const b = e * D;
      let same = true;
      for (let d = 0; d < D; d++) {
        if (ids[b + d] !== k[off + d]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.requests[e] = (this.requests[e] as number) + requests;
        this.bytes[e] = (this.bytes[e] as number) + bytes;
        this.time[e] = (this.time[e] as number) + time;
        if (isNew) isNew.v = false;
        if (this.#heap !== null) {
          const at = (this.#heapPos as Int32Array)[e] as number;
          if (at >= 0) this.#siftDown(at);
        }
        return e;
      }
      s = (s + 1) & this.#mask;
    }
    const residual = isResidual(k, off);
    if (this.size >= this.maxEntries && !residual) return -1;
    if (residual) this.residuals++;
    const e = this.size++;
    if (e >= this.requests.length) this.#grow();
    if (this.#heap !== null) {
      // Only residuals come once the heap is built (the table was full): never in the heap.
      (this.#heapPos as Int32Array)[e] = -1;
      (this.#err as Float64Array)[e] = 0;
    }
    const b = e * D;
    for (let d = 0; d < D; d++) this.ids[b + d] = k[off + d] as number;
    this.requests[e] = requests;
    this.bytes[e] = bytes;
    this.time[e] = time;
    this.#slots[s] = e;
    if (this.size * 2 > this.#slots.length) this.#rehash();
    if (isNew) isNew.v = true;
    return e;
  }

  /**
   * For a key that `add` could not insert (the table is full): the entry with the fewest
   * requests plus error is given to the key (Space-Saving). The key starts from its own
   * `requests`, with that entry's requests plus error as its error, so every key with more
   * requests than the table's smallest requests plus error is present, and its count is low by
   * at most `maxReplaced`. The old key's ids are copied to `evicted`, its requests, bytes and time
   * to `counts`: the caller adds them to the old key's residual (totals stay whole).
   * Returns the entry index, or -1 when every entry is a residual (nothing to give).
   */
  replaceMin(
    k: ArrayLike<number>,
    off: number,
    m: Float64Array,
    evicted: Uint32Array,
    counts: Float64Array,
  ): number {
    const requests = m[0] as number;
    const bytes = m[1] as number;
    const time = m[2] as number;
    if (this.#heap === null) this.#buildHeap();
    const heap = this.#heap as Int32Array;
    if (heap.length === 0) return -1;
    const err = this.#err as Float64Array;
    const e = heap[0] as number;
    const b = e * D;
    for (let d = 0; d < D; d++) evicted[d] = this.ids[b + d] as number;
    counts[0] = this.requests[e] as number;
    counts[1] = this.bytes[e] as number;
    counts[2] = this.time[e] as number;
    this.#unlink(e);
    for (let d = 0; d < D; d++) this.ids[b + d] = k[off + d] as number;
    let s = TupleTable.hash(this.ids, b) & this.#mask;
    while (this.#slots[s] !== EMPTY) s = (s + 1) & this.#mask;
    this.#slots[s] = e;
    const min = (this.requests[e] as number) + (err[e] as number);
    if (min > this.maxReplaced) this.maxReplaced = min;
    this.replaced++;
    err[e] = min;
    this.requests[e] = requests;
    this.bytes[e] = bytes;
    this.time[e] = time;
    this.#siftDown(0);
    return e;
  }

  /**
   * The residual the key at `k[off..]` goes to in this table (pushed out, or not taken): its own
   * while the table holds fewer than `MAX_RESIDUALS` residuals (or has it already), then folded
   * by `RESIDUAL_TIERS`, so a flood of websites or methods cannot grow a table without bound
   * (at most 3 × `MAX_RESIDUALS` + 1 residuals). Written into `out`.
   */
  residualFor(k: ArrayLike<number>, off: number, out: Uint32Array): Uint32Array {
    folded(k, off, RESIDUAL, out);
    for (let t = 0; t < RESIDUAL_TIERS.length; t++) {
      if (this.residuals < (t + 1) * MAX_RESIDUALS || this.find(out, 0) >= 0) return out;
      folded(out, 0, RESIDUAL_TIERS[t] as number, out);
    }
    return out;
  }

  /** Removes entry `e`'s slot (backward-shift deletion keeps every probe chain whole). */
  #unlink(e: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let s = TupleTable.hash(this.ids, e * D) & mask;
    while (slots[s] !== e) s = (s + 1) & mask;
    let hole = s;
    let j = (s + 1) & mask;
    for (;;) {
      const x = slots[j] as number;
      if (x === EMPTY) break;
      const home = TupleTable.hash(this.ids, x * D) & mask;
      // x may move into the hole when its home is not cyclically within (hole, j].
      if ((j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j)) {
        slots[hole] = x;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    slots[hole] = EMPTY;
  }

  #buildHeap(): void {
    const n = this.size;
    const heap = new Int32Array(n);
    const pos = new Int32Array(this.requests.length).fill(-1);
    let m = 0;
    for (let i = 0; i < n; i++) {
      if (isResidual(this.ids, i * D)) continue;
      heap[m] = i;
      pos[i] = m++;
    }
    this.#heap = heap.subarray(0, m);
    this.#heapPos = pos;
    this.#err = new Float64Array(this.requests.length);
    for (let i = (m >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  #siftDown(i: number): void {
    const heap = this.#heap as Int32Array;
    const pos = this.#heapPos as Int32Array;
    const req = this.requests;
    const err = this.#err as Float64Array;
    const n = heap.length;
    const x = heap[i] as number;
    const v = (req[x] as number) + (err[x] as number);
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let y = heap[c] as number;
      let w = (req[y] as number) + (err[y] as number);
      if (c + 1 < n) {
        const z = heap[c + 1] as number;
        const u = (req[z] as number) + (err[z] as number);
        if (u < w) {
          c++;
          y = z;
          w = u;
        }
      }
      if (w >= v) break;
      heap[i] = y;
      pos[y] = i;
      i = c;
    }
    heap[i] = x;
    pos[x] = i;
  }

  /** Empties the table, keeping its memory. */
  clear(): void {
    this.#slots.fill(EMPTY);
    this.size = 0;
    this.#heap = null;
    this.#heapPos = null;
    this.#err = null;
    this.maxReplaced = 0;
    this.replaced = 0;
    this.residuals = 0;
  }

  #grow(): void {
    const len = this.requests.length;
    let cap = Math.min(len * 2, Math.max(this.maxEntries, 16));
    // Residuals past a full table: a little room at a time.
    if (cap <= len) cap = len + Math.max(64, len >> 4);
    const ids = new Uint32Array(cap * D);
    ids.set(this.ids);
    this.ids = ids;
    for (const k of ['requests', 'bytes', 'time'] as const) {
      const a = new Float64Array(cap);
      a.set(this[k]);
      this[k] = a;
    }
    if (this.#heapPos !== null) {
      const pos = new Int32Array(cap).fill(-1);
      pos.set(this.#heapPos);
      this.#heapPos = pos;
      const err = new Float64Array(cap);
      err.set(this.#err as Float64Array);
      this.#err = err;
    }
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2).fill(EMPTY);
    const mask = slots.length - 1;
    for (let e = 0; e < this.size; e++) {
      let s = TupleTable.hash(this.ids, e * D) & mask;
      while (slots[s] !== EMPTY) s = (s + 1) & mask;
      slots[s] = e;
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}
