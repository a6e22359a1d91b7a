/**
 * Queries over a list of buckets: grouped TopN, ungrouped aggregation (for merging), and Trend.
 * Shared by a collector's store and an aggregator's merged store: both hand over the buckets a
 * window covers and the interners their ids refer to. Aggregation runs into scratch arrays
 * indexed by id (no maps keyed by strings), reused and zeroed between queries.
 * @module
 */
import type { Bucket } from './bucket.ts';
import { D, DIM, type Dimension, type Order, OTHER } from './dimensions.ts';
import { type CompiledFilter, compileFilter, type Filter, RegexScratch } from './filter.ts';
import type { Interner } from './interner.ts';
import type { Window } from './windows.ts';

/** One ranked row of a TopN answer. */
export interface TopEntry {
  readonly label: string;
  readonly requests: number;
  readonly bytes: number;
  readonly time: number;
}

/** One point of a Trend answer. */
export interface TrendPoint {
  /** Bucket start, epoch seconds. */
  readonly start: number;
  readonly span: number;
  readonly requests: number;
  readonly bytes: number;
  readonly time: number;
}

export interface TopNQuery {
  filter?: Filter;
  groupBy: Dimension;
  window: Window;
  n: number;
  orderBy?: Order;
}

/**
 * Scratch arrays indexed by id, reused across queries (zeroed after each): a little over 8 bytes
 * an id, so a dimension of millions of values costs tens of MB, not a hundred.
 */
interface Accumulators {
  /** Pass 1: the ranked measure per id. Pass 2: 1 + the place of each chosen id, 0 for the others. */
  order: Float64Array;
  /** Pass 1: one bit an id, set when touched (bytes and time may sum to 0). */
  touched: Uint8Array;
  /**
   * The first `TOUCHED_LIST` ids touched, in order; a query that touches more finds them by a
   * scan of `touched` (in id order, a block at a time).
   */
  list: Int32Array;
}

/** Ids a query lists as it touches them; past this, they are found by a scan of the touched bits. */
const TOUCHED_LIST = 1 << 18;

/**
 * A bucket-like view: sealed buckets, and unsealed tables seen through the same columns
 * (`requests` may then be a Float64Array; entries with 0 requests are skipped).
 */
export type BucketView = Omit<Bucket, 'requests'> & { readonly requests: ArrayLike<number> };

export class BucketQueries {
  readonly interners: readonly Interner[];
  #acc: Accumulators = {
    order: new Float64Array(0),
    touched: new Uint8Array(0),
    list: new Int32Array(TOUCHED_LIST),
  };
  readonly #regexScratch = new RegexScratch();

  constructor(interners: readonly Interner[]) {
    this.interners = interners;
  }

  /**
   * Top `n` values of `groupBy` over `buckets` under the filter, ranked by `orderBy` (ties by
   * label), then the residuals' entry (`OTHER_TEXT`: requests not itemized) when there is one.
   * Two passes: the ranked measure summed per id and the top chosen, then the three measures of
   * the chosen ids only.
   */
  topN(buckets: readonly BucketView[], q: Omit<TopNQuery, 'window'>): TopEntry[] {
    if (q.n <= 0) return [];
    const filter = compileFilter(q.filter ?? {}, this.interners, this.#regexScratch);
    if (filter.impossible) return [];
    const g = DIM[q.groupBy];
    const interner = this.interners[g] as Interner;
    const acc = this.#accumulators(interner.capacity);
    const measure = q.orderBy === 'bytes' ? 1 : q.orderBy === 'time' ? 2 : 0;
    const seen = { count: 0, max: -1 };
    for (const b of buckets) rank(b, filter, g, measure, acc, seen);
    const { order, touched, list } = acc;
    // The residuals' entry ("other") is not ranked (not listed): it comes after the top `n`.
    const other = ((touched[OTHER >>> 3] as number) & (1 << (OTHER & 7))) !== 0;
    const heap = new TopHeap(order, q.n, interner);
    if (seen.count <= TOUCHED_LIST) heap.offer(list, seen.count);
    else {
      // Too many to list: the touched ids in id order, a block at a time.
      let k = 0;
      for (let id = 0; id <= seen.max; id++) {
        if (((touched[id >>> 3] as number) & (1 << (id & 7))) === 0 || id === OTHER) continue;
        list[k++] = id;
        if (k === TOUCHED_LIST) {
          heap.offer(list, k);
          k = 0;
        }
      }
      heap.offer(list, k);
    }
    const top = heap.result();
    if (other) top.push(OTHER);
    if (seen.count <= TOUCHED_LIST) {
      for (let i = 0; i < seen.count; i++) order[list[i] as number] = 0;
      order[OTHER] = 0;
    } else {
      // Each touched id: a fill of the whole range instead cost 20 MB more peak RSS (measured).
      for (let id = 0; id <= seen.max; id++) {
        if (((touched[id >>> 3] as number) & (1 << (id & 7))) !== 0) order[id] = 0;
      }
    }
    touched.fill(0, 0, (seen.max >>> 3) + 1);
    // Pass 2: the chosen ids' sums (`order` holds 1 + their place).
    const sums = new Float64Array(top.length * 3);
    for (let i = 0; i < top.length; i++) order[top[i] as number] = i + 1;
    for (const b of buckets) sumPicked(b, filter, g, order, sums);
    for (const id of top) order[id] = 0;
    return top.map((id, i) => ({
      label: interner.value(id),
      requests: sums[3 * i] as number,
      bytes: sums[3 * i + 1] as number,
      time: sums[3 * i + 2] as number,
    }));
  }

  /** One point per bucket: its totals, or with a filter, the sums of the keys it kept that match. */
  trend(buckets: readonly BucketView[], filterSpec: Filter = {}): TrendPoint[] {
    const filter = compileFilter(filterSpec, this.interners, this.#regexScratch);
    return buckets.map((b) => {
      if (filter.empty) {
        return {
          start: b.start,
          span: b.span,
          requests: b.totalRequests,
          bytes: b.totalBytes,
          time: b.totalTime,
        };
      }
      let r = 0;
      let by = 0;
      let t = 0;
      if (!filter.impossible) {
        for (let e = 0; e < b.size; e++) {
          if (b.requests[e] === 0 || !filter.test(b.ids, e * D)) continue;
          r += b.requests[e] as number;
          by += b.bytes[e] as number;
          t += b.time[e] as number;
        }
      }
      return { start: b.start, span: b.span, requests: r, bytes: by, time: t };
    });
  }

  /** Every key of a bucket with its labels (for snapshots to a subscriber). */
  *entries(b: {
    readonly size: number;
    readonly ids: Uint32Array;
    readonly requests: ArrayLike<number>;
    readonly bytes: ArrayLike<number>;
    readonly time: ArrayLike<number>;
  }): Generator<{ labels: string[]; requests: number; bytes: number; time: number }> {
    const it = this.interners;
    for (let e = 0; e < b.size; e++) {
      const labels: string[] = [];
      for (let d = 0; d < D; d++) labels.push((it[d] as Interner).value(b.ids[e * D + d] as number));
      yield {
        labels,
        requests: b.requests[e] as number,
        bytes: b.bytes[e] as number,
        time: b.time[e] as number,
      };
    }
  }

  /** Scratch arrays indexed by id, reused across queries (zeroed after each). */
  #accumulators(capacity: number): Accumulators {
    if (this.#acc.order.length < capacity) {
      // An eighth of room to grow into: 8 bytes an id is tens of MB for millions of values.
      const n = Math.max(capacity + (capacity >>> 3), 1024);
      this.#acc = {
        order: new Float64Array(n),
        touched: new Uint8Array((n >>> 3) + 1),
        list: this.#acc.list,
      };
    }
    return this.#acc;
  }
}

/**
 * Pass 1: adds a bucket's matching keys' measure (0 requests, 1 bytes, 2 time) into
 * `acc.order` by their `g` id, sets their touched bits and lists the ids touched first (OTHER
 * is not listed); counts them in `seen.count`, the largest in `seen.max`.
 */
function rank(
  b: BucketView,
  filter: CompiledFilter,
  g: number,
  measure: number,
  acc: Accumulators,
  seen: { count: number; max: number },
): void {
  const { ids, requests } = b;
  const values = measure === 0 ? requests : measure === 1 ? b.bytes : b.time;
  const { order, touched, list } = acc;
  const n = b.size;
  const all = filter.empty;
  let count = seen.count;
  let max = seen.max;
  for (let e = 0; e < n; e++) {
    if (requests[e] === 0) continue;
    const off = e * D;
    if (!all && !filter.test(ids, off)) continue;
    const id = ids[off + g] as number;
    const byte = id >>> 3;
    const bit = 1 << (id & 7);
    const t = touched[byte] as number;
    if ((t & bit) === 0) {
      touched[byte] = t | bit;
      if (id > max) max = id;
      if (id !== OTHER) {
        if (count < TOUCHED_LIST) list[count] = id;
        count++;
      }
    }
    order[id] = (order[id] as number) + (values[e] as number);
  }
  seen.count = count;
  seen.max = max;
}

/** Pass 2: adds a bucket's matching keys whose `g` id is chosen (`place[id]` = 1 + its place) into `sums` (3 per chosen id). */
function sumPicked(
  b: BucketView,
  filter: CompiledFilter,
  g: number,
  place: Float64Array,
  sums: Float64Array,
): void {
  const { ids, requests, bytes, time } = b;
  const n = b.size;
  const all = filter.empty;
  for (let e = 0; e < n; e++) {
    const off = e * D;
    const id = ids[off + g] as number;
    const m = place[id] as number;
    if (m === 0) continue;
    const r = requests[e] as number;
    if (r === 0) continue;
    if (!all && !filter.test(ids, off)) continue;
    const i = 3 * (m - 1);
    sums[i] = (sums[i] as number) + r;
    sums[i + 1] = (sums[i + 1] as number) + (bytes[e] as number);
    sums[i + 2] = (sums[i + 2] as number) + (time[e] as number);
  }
}

/** How `selectTop` breaks ties: the interner's order of values (its `compare` and `nextAbove`). */
export interface TieOrder {
  compare(a: number, b: number): number;
  nextAbove(ids: Int32Array, from: number, to: number, order: Float64Array, y: number, bound: number): number;
}

/**
 * The `n` ids with the largest `order` value, largest first; ties broken by value (the smaller
 * first: the interner's byte order of labels).
 */
export function selectTop(ids: Int32Array, order: Float64Array, n: number, ties: TieOrder): number[] {
  const heap = new TopHeap(order, n, ties);
  heap.offer(ids, ids.length);
  return heap.result();
}

/**
 * A bounded min-heap of the `n` best ids offered (by `order`, ties by value), offered a block of
 * candidates at a time: O(m log n) for m candidates; once it is full, `nextAbove` skips the
 * candidates that rank below its weakest (a flood of keys with one request each is millions of
 * ties).
 */
class TopHeap {
  readonly #order: Float64Array;
  readonly #n: number;
  readonly #ties: TieOrder;
  readonly #heap: number[] = [];

  constructor(order: Float64Array, n: number, ties: TieOrder) {
    this.#order = order;
    this.#n = n;
    this.#ties = ties;
  }

  /** worse(a, b): a ranks below b. */
  #worse(a: number, b: number): boolean {
    const x = this.#order[a] as number;
    const y = this.#order[b] as number;
    if (x !== y) return x < y;
    return this.#ties.compare(a, b) > 0;
  }

  #down(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.#worse(heap[l] as number, heap[m] as number)) m = l;
      if (r < heap.length && this.#worse(heap[r] as number, heap[m] as number)) m = r;
      if (m === i) return;
      const t = heap[i] as number;
      heap[i] = heap[m] as number;
      heap[m] = t;
      i = m;
    }
  }

  /** Offers the candidates `ids[0, m)`. */
  offer(ids: Int32Array, m: number): void {
    const heap = this.#heap;
    const order = this.#order;
    let i = 0;
    for (; i < m && heap.length < this.#n; i++) {
      heap.push(ids[i] as number);
      let c = heap.length - 1;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!this.#worse(heap[c] as number, heap[p] as number)) break;
        const t = heap[c] as number;
        heap[c] = heap[p] as number;
        heap[p] = t;
        c = p;
      }
    }
    for (; i < m; i++) {
      const top = heap[0] as number;
      i = this.#ties.nextAbove(ids, i, m, order, order[top] as number, top);
      if (i === m) break;
      heap[0] = ids[i] as number;
      this.#down(0);
    }
  }

  /** The ids kept, best first. */
  result(): number[] {
    return this.#heap.sort((a, b) => (this.#worse(a, b) ? 1 : this.#worse(b, a) ? -1 : 0));
  }
}
