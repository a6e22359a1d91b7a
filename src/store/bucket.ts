/**
 * A sealed time bucket: the top keys of one minute (fine ring) or five minutes (coarse ring),
 * stored column-wise in typed arrays (40 bytes per key), plus exact totals of everything the
 * bucket saw, kept or not. The keys not kept are folded into residuals (`isResidual`): per
 * website and status, so sums by website and by status stay exact at every cut.
 * @module
 */
import {
  D,
  folded,
  isResidual,
  MAX_RESIDUALS,
  OTHER,
  PREFIX,
  RESIDUAL,
  RESIDUAL_TIERS,
  URI,
} from './dimensions.ts';
import { IntList } from './int-list.ts';
import { TupleTable } from './tuple-table.ts';

export interface Bucket {
  /** Start of the bucket, epoch seconds. */
  readonly start: number;
  /** Length in seconds (60 or 300). */
  readonly span: number;
  readonly size: number;
  readonly ids: Uint32Array;
  readonly requests: Uint32Array;
  readonly bytes: Float64Array;
  readonly time: Float64Array;
  /** Totals over every key the bucket saw, including keys not kept and keys dropped at the cap. */
  readonly totalRequests: number;
  readonly totalBytes: number;
  readonly totalTime: number;
}

export const EMPTY_IDS = new Uint32Array(0);

export function emptyBucket(start: number, span: number): Bucket {
  return {
    start,
    span,
    size: 0,
    ids: EMPTY_IDS,
    requests: new Uint32Array(0),
    bytes: new Float64Array(0),
    time: new Float64Array(0),
    totalRequests: 0,
    totalBytes: 0,
    totalTime: 0,
  };
}

/** Indices of the `k` entries with the most requests (ties: lower index first). */
export function topIndices(requests: ArrayLike<number>, n: number, k: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (n <= k) return idx;
  // Quickselect on requests (descending), then keep the first k.
  let lo = 0;
  let hi = n - 1;
  const key = (i: number) => requests[idx[i] as number] as number;
  while (lo < hi) {
    const pivot = key((lo + hi) >>> 1);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (key(i) > pivot) i++;
      while (key(j) < pivot) j--;
      if (i <= j) {
        const t = idx[i] as number;
        idx[i] = idx[j] as number;
        idx[j] = t;
        i++;
        j--;
      }
    }
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else break;
  }
  return idx.subarray(0, k);
}

/** Column storage for one bucket; pooled so sealing a minute allocates nothing in steady state. */
export interface Columns {
  readonly ids: Uint32Array;
  readonly requests: Uint32Array;
  readonly bytes: Float64Array;
  readonly time: Float64Array;
}

/**
 * Reuses the columns of evicted buckets. Every pooled column set has the pool's capacity, so a
 * ring's memory is allocated once (again only when the capacity grows, a few times at most) and
 * never churns (fragmentation would otherwise keep freed memory in the process's RSS).
 */
export class ColumnPool {
  readonly #keep: number;
  /**
   * Keys a pooled column set holds: the top K and room for as many residuals as seals have
   * needed (from a sixty-fourth of K, at least 256; grown on demand up to `#max`).
   */
  #capacity: number;
  /** The most a pooled set holds (the top K and an eighth more, at least 256): more get their own columns. */
  readonly #max: number;
  #free: Columns[] = [];
  constructor(keep: number) {
    this.#keep = keep;
    this.#max = keep + Math.max(256, keep >> 3);
    this.#capacity = Math.min(this.#max, keep + Math.max(256, keep >> 6));
  }
  get capacity(): number {
    return this.#capacity;
  }
  /**
   * Columns for `n` keys (at least; the bucket uses views of them), or undefined when n is more
   * than a pooled set holds at most. A first seal with more residuals than the sets have room
   * for grows them (to twice the residuals, within `#max`): sets of the old size are dropped.
   */
  take(n: number): Columns | undefined {
    if (n > this.#max) return undefined;
    if (n > this.#capacity) {
      this.#capacity = Math.min(this.#max, n + Math.max(256, n - this.#keep));
      this.#free = [];
    }
    return (
      this.#free.pop() ?? {
        ids: new Uint32Array(this.#capacity * D),
        requests: new Uint32Array(this.#capacity),
        bytes: new Float64Array(this.#capacity),
        time: new Float64Array(this.#capacity),
      }
    );
  }
  give(c: Columns): void {
    if (c.requests.length === this.#capacity) this.#free.push(c);
  }
}

/** The pooled columns behind a bucket, if it has any. */
export const bucketColumns = new WeakMap<Bucket, Columns>();

/** Scratch tables of `sealBucket` (one seal at a time per thread). */
const residuals = new TupleTable(Number.MAX_SAFE_INTEGER, 256);
const overflow = new TupleTable(Number.MAX_SAFE_INTEGER, 256);
/** Ids below this have their sums in an array indexed by id (4 MiB at most); above, in a table. */
const DENSE_IDS = 1 << 20;

/**
 * Sums by id (one dimension's values): float32, as they only decide which coarser key a cut key
 * folds into. Ids below `DENSE_IDS` index an array (cleared by the ids touched: fastest, and what
 * an aggregator's vocabulary needs); larger ids (millions of distinct URIs) go to an
 * open-addressing table sized by the ids added, each slot an id and its sum side by side (a dense
 * array over 4.48 M URI ids, doubling, took 33 MB; grown by an eighth, 45 MiB more peak RSS).
 */
class IdSums {
  #dense = new Float32Array(1024);
  /** The dense ids summed since the last clear (reused: truncated, not made anew). */
  readonly #touched = new IntList(1024);
  /** Per slot: the id at 2s (-1: empty), its sum (float32 bits) at 2s + 1. */
  #keys = new Int32Array(0);
  #sums = new Float32Array(0);
  #size = 0;
  /** 32 minus log2 of the slot count: a slot is the top bits of the id's product (Fibonacci hashing). */
  #shift = 22;
  add(id: number, n: number): void {
    if (id === OTHER) return;
    if (id < DENSE_IDS) {
      if (id >= this.#dense.length) {
        const grown = new Float32Array(Math.min(DENSE_IDS, Math.max(id + 1, this.#dense.length * 2)));
        grown.set(this.#dense);
        this.#dense = grown;
      }
      if (this.#dense[id] === 0) this.#touched.push(id);
      this.#dense[id] = (this.#dense[id] as number) + n;
      return;
    }
    if ((this.#size + 1) * 4 > this.#keys.length) this.#grow();
    const s = this.#slot(id);
    if (this.#keys[2 * s] === -1) {
      this.#keys[2 * s] = id;
      this.#sums[2 * s + 1] = n;
      this.#size++;
    } else this.#sums[2 * s + 1] = (this.#sums[2 * s + 1] as number) + n;
  }
  get(id: number): number {
    if (id < DENSE_IDS) return id < this.#dense.length ? (this.#dense[id] as number) : 0;
    if (this.#size === 0) return 0;
    const s = this.#slot(id);
    return this.#keys[2 * s] === id ? (this.#sums[2 * s + 1] as number) : 0;
  }
  clear(): void {
    const touched = this.#touched;
    for (let i = 0; i < touched.length; i++) this.#dense[touched.get(i)] = 0;
    touched.truncate(0);
    if (this.#size === 0) return;
    this.#keys.fill(-1);
    this.#size = 0;
  }
  #slot(id: number): number {
    const keys = this.#keys;
    const mask = (keys.length >>> 1) - 1;
    let s = Math.imul(id, 0x9e3779b1) >>> this.#shift;
    for (;;) {
      const k = keys[2 * s] as number;
      if (k === id || k === -1) return s;
      s = (s + 1) & mask;
    }
  }
  #grow(): void {
    const keys = this.#keys;
    const sums = this.#sums;
    const slots = Math.max(1024, keys.length);
    this.#keys = new Int32Array(2 * slots).fill(-1);
    this.#sums = new Float32Array(this.#keys.buffer);
    this.#shift = 32 - Math.log2(slots);
    for (let i = 0; i < keys.length; i += 2) {
      const id = keys[i] as number;
      if (id === -1) continue;
      const s = this.#slot(id);
      this.#keys[2 * s] = id;
      this.#sums[2 * s + 1] = sums[i + 1] as number;
    }
  }
}
const byUri = new IdSums();
const byPrefix = new IdSums();
/** The top keys and the coarser keys of the cut ones, ranked together for the bucket's places. */
const ranked = new TupleTable(Number.MAX_SAFE_INTEGER, 256);
const rk = new Uint32Array(D);
let chosenMark = new Uint8Array(1024);
let rank = new Float64Array(1024);

/** The entries a `pick` cut, and those the second pick pushed out: reused from seal to seal. */
const cutEntries = new IntList(1024);
const pushedEntries = new IntList(1024);

/**
 * Marks (`chosenMark`) and returns the top `keep` keys of `t` that are not residuals and have
 * requests; adds every other key with requests to `residuals` when `cut` is not given, else
 * appends to `cut` each one that is not a residual (residuals always go to `residuals`).
 */
function pick(t: TupleTable, keep: number, cut?: IntList): Uint32Array {
  const size = t.size;
  const ids = t.ids;
  // Ranked without the table's residuals (they are kept anyway, outside the top `keep`).
  if (rank.length < size) rank = new Float64Array(Math.max(size, rank.length * 2));
  // A coarser key (URI or client prefix OTHER) ranks half a request below a whole key: it takes
  // a place only when heavier, not on a tie (a whole key says more).
  for (let e = 0; e < size; e++) {
    const off = e * D;
    const coarser = ids[off + 1] === OTHER || ids[off + 2] === OTHER;
    rank[e] = isResidual(ids, off) ? -1 : (t.requests[e] as number) - (coarser ? 0.5 : 0);
  }
  const chosen = topIndices(rank, size, keep);
  if (chosenMark.length < size) chosenMark = new Uint8Array(Math.max(size, chosenMark.length * 2));
  const mark = chosenMark;
  mark.fill(0, 0, size);
  let kept = 0;
  for (let i = 0; i < chosen.length; i++) {
    const e = chosen[i] as number;
    if (!((rank[e] as number) > 0)) continue;
    mark[e] = 1;
    chosen[kept++] = e;
  }
  for (let e = 0; e < size; e++) {
    if (mark[e] === 1) continue;
    const r = t.requests[e] as number;
    if (cut && r > 0 && rank[e] !== -1) cut.push(e);
    // Withdrawn keys (no requests) pass on their bytes or time, if any.
    else if (r > 0 || t.bytes[e] !== 0 || t.time[e] !== 0)
      residuals.add(folded(ids, e * D, RESIDUAL, rk), 0, r, t.bytes[e] as number, t.time[e] as number);
  }
  return chosen.subarray(0, kept);
}

/**
 * Seals a table into a bucket holding its top `keep` keys (the most requested; none with 0
 * requests), then the residuals (`isResidual`).
 *
 * A key that is cut is first folded into a coarser key that keeps its URI or its client prefix
 * (the other one OTHER): the one the cut keys add up to more by (over the whole bucket), so a URI
 * requested by many clients, or a client requesting many URIs, is counted whole. Those coarser keys compete with
 * the top keys for the `keep` places; what does not fit goes to the residuals (by website,
 * status, upstream and method; at most `MAX_RESIDUALS`, folded further past that).
 */
export function sealBucket(
  table: TupleTable,
  start: number,
  span: number,
  keep: number,
  totals: { requests: number; bytes: number; time: number },
  pool?: ColumnPool,
): Bucket {
  residuals.clear();
  const tIds = table.ids;
  // What the cut keys add up to by URI and by client prefix.
  const cuts = cutEntries;
  cuts.truncate(0);
  let chosen = pick(table, keep, cuts);
  for (let i = 0; i < cuts.length; i++) {
    const e = cuts.get(i);
    const off = e * D;
    const r = table.requests[e] as number;
    byUri.add(tIds[off + 2] as number, r);
    byPrefix.add(tIds[off + 1] as number, r);
  }
  let src = table;
  if (cuts.length > 0) {
    // The top keys and the coarser keys, ranked together for the `keep` places.
    ranked.clear();
    for (const e of chosen) {
      ranked.add(tIds, e * D, table.requests[e] as number, table.bytes[e] as number, table.time[e] as number);
    }
    const coarser = (ids: Uint32Array, off: number): Uint32Array => {
      const uri = ids[off + 2] as number;
      const prefix = ids[off + 1] as number;
      const u = uri !== OTHER ? byUri.get(uri) : -1;
      const p = prefix !== OTHER ? byPrefix.get(prefix) : -1;
      return folded(ids, off, u >= p ? PREFIX : URI, rk);
    };
    for (let i = 0; i < cuts.length; i++) {
      const e = cuts.get(i);
      const k = coarser(tIds, e * D);
      ranked.add(k, 0, table.requests[e] as number, table.bytes[e] as number, table.time[e] as number);
    }
    // A top key the coarser keys pushed out goes to its coarser key when that one is kept.
    const pushed = pushedEntries;
    pushed.truncate(0);
    chosen = pick(ranked, keep, pushed);
    const rIds = ranked.ids;
    for (let i = 0; i < pushed.length; i++) {
      const e = pushed.get(i);
      const off = e * D;
      const whole = rIds[off + 1] !== OTHER && rIds[off + 2] !== OTHER;
      const x = whole ? ranked.find(coarser(rIds, off), 0) : -1;
      if (x >= 0 && chosenMark[x] === 1) {
        ranked.requests[x] = (ranked.requests[x] as number) + (ranked.requests[e] as number);
        ranked.bytes[x] = (ranked.bytes[x] as number) + (ranked.bytes[e] as number);
        ranked.time[x] = (ranked.time[x] as number) + (ranked.time[e] as number);
      } else {
        residuals.add(
          folded(rIds, off, RESIDUAL, rk),
          0,
          ranked.requests[e] as number,
          ranked.bytes[e] as number,
          ranked.time[e] as number,
        );
      }
    }
    src = ranked;
    byUri.clear();
    byPrefix.clear();
  }
  const kept = chosen.length;
  const from = src.ids;
  const rest = residuals.size > MAX_RESIDUALS ? capResiduals() : residuals;
  const n = kept + rest.size;
  const cols = n > 0 && pool ? pool.take(n) : undefined;
  const ids = cols ? cols.ids.subarray(0, n * D) : new Uint32Array(n * D);
  const requests = cols ? cols.requests.subarray(0, n) : new Uint32Array(n);
  const bytes = cols ? cols.bytes.subarray(0, n) : new Float64Array(n);
  const time = cols ? cols.time.subarray(0, n) : new Float64Array(n);
  for (let i = 0; i < kept; i++) {
    const e = chosen[i] as number;
    for (let d = 0; d < D; d++) ids[i * D + d] = from[e * D + d] as number;
    requests[i] = src.requests[e] as number;
    bytes[i] = src.bytes[e] as number;
    time[i] = src.time[e] as number;
  }
  for (let r = 0; r < rest.size; r++) {
    const i = kept + r;
    for (let d = 0; d < D; d++) ids[i * D + d] = rest.ids[r * D + d] as number;
    requests[i] = rest.requests[r] as number;
    bytes[i] = rest.bytes[r] as number;
    time[i] = rest.time[r] as number;
  }
  const bucket: Bucket = {
    start,
    span,
    size: n,
    ids,
    requests,
    bytes,
    time,
    totalRequests: totals.requests,
    totalBytes: totals.bytes,
    totalTime: totals.time,
  };
  if (cols) bucketColumns.set(bucket, cols);
  return bucket;
}

/**
 * Bucket `b` (a state's: restored from a file, or moved from a worker thread) with each id mapped
 * by `idOf(dimension, id)` to this store's, copied into columns of `pool` (its own past the pool's
 * most), entries in the same order. With no pool, `b`'s own columns are mapped in place and kept
 * (only for a bucket nothing else reads: no copy, no new memory).
 */
export function remapBucket(
  b: Bucket,
  idOf: (d: number, id: number) => number,
  pool: ColumnPool | null,
): Bucket {
  const n = b.size;
  const from = b.ids;
  const cols = pool?.take(n);
  const ids = pool === null ? from : cols ? cols.ids.subarray(0, n * D) : new Uint32Array(n * D);
  for (let e = 0; e < n * D; e += D) for (let d = 0; d < D; d++) ids[e + d] = idOf(d, from[e + d] as number);
  if (pool === null) return b;
  const requests = cols ? cols.requests.subarray(0, n) : new Uint32Array(n);
  const bytes = cols ? cols.bytes.subarray(0, n) : new Float64Array(n);
  const time = cols ? cols.time.subarray(0, n) : new Float64Array(n);
  requests.set(b.requests.subarray(0, n));
  bytes.set(b.bytes.subarray(0, n));
  time.set(b.time.subarray(0, n));
  const bucket: Bucket = { ...b, ids, requests, bytes, time };
  if (cols) bucketColumns.set(bucket, cols);
  return bucket;
}

/**
 * Past `MAX_RESIDUALS`, residuals fold by `RESIDUAL_TIERS`, each as little as brings them under
 * it: the lightest lose their upstream and method; if that is not enough, all do, and the
 * lightest lose their website; then (thousands of distinct statuses) their status too.
 */
function capResiduals(): TupleTable {
  let from = residuals;
  let to = overflow;
  for (let t = 0; t < RESIDUAL_TIERS.length && from.size > MAX_RESIDUALS; t++) {
    const mask = RESIDUAL_TIERS[t] as number;
    // How many there are with the tier applied to all: the rest of the room keeps the heaviest whole.
    foldInto(to, from, 0, mask);
    if (to.size <= MAX_RESIDUALS) foldInto(to, from, MAX_RESIDUALS - to.size, mask);
    [from, to] = [to, from];
  }
  return from;
}

/** Copies `from`'s top `keep` entries into `to`, and the others with the dimensions in `mask` set to OTHER. */
function foldInto(to: TupleTable, from: TupleTable, keep: number, mask: number): void {
  to.clear();
  const mark = new Uint8Array(from.size);
  if (keep > 0) for (const e of topIndices(from.requests, from.size, keep)) mark[e] = 1;
  for (let e = 0; e < from.size; e++) {
    const k = folded(from.ids, e * D, mark[e] === 1 ? 0 : mask, rk);
    to.add(k, 0, from.requests[e] as number, from.bytes[e] as number, from.time[e] as number);
  }
}

/**
 * What a snapshot subscriber's backfill sends, oldest first: the 5-minute buckets that start
 * before the fine ring (the last may overlap its first minutes), then the fine ring. A receiver
 * takes a minute that falls in a 5-minute bucket it was sent out of that bucket (MergedStore).
 */
export function backfillOrder(coarse: readonly Bucket[], fine: readonly Bucket[]): Bucket[] {
  const first = fine[0];
  if (!first) return [...coarse];
  return [...coarse.filter((b) => b.start < first.start), ...fine];
}
