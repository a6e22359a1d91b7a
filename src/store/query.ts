/**
 * Queries over a list of buckets: grouped TopN, ungrouped aggregation (for merging), and Trend.
 * Shared by a collector's store and an aggregator's merged store: both hand over the buckets a
 * window covers and the interners their ids refer to. Aggregation runs into scratch arrays
 * indexed by id (no maps keyed by strings), reused and zeroed between queries.
 * @module
 */
import type { Bucket } from './bucket.ts';
import { D, DIM, type Dimension, type Order } from './dimensions.ts';
import { type CompiledFilter, compileFilter, type Filter } from './filter.ts';
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

interface Accumulators {
  req: Float64Array;
  bytes: Float64Array;
  time: Float64Array;
  seen: Uint8Array;
  /** The ids touched by a query, in order (reused: a query allocates no array per id). */
  touched: Int32Array;
}

/**
 * A bucket-like view: sealed buckets, and unsealed tables seen through the same columns
 * (`requests` may then be a Float64Array; entries with 0 requests are skipped).
 */
export type BucketView = Omit<Bucket, 'requests'> & { readonly requests: ArrayLike<number> };

export class BucketQueries {
  readonly interners: readonly Interner[];
  #acc: Accumulators = {
    req: new Float64Array(0),
    bytes: new Float64Array(0),
    time: new Float64Array(0),
    seen: new Uint8Array(0),
    touched: new Int32Array(0),
  };

  constructor(interners: readonly Interner[]) {
    this.interners = interners;
  }

  /** Top `n` values of `groupBy` over `buckets` under the filter, ranked by `orderBy` (ties by label). */
  topN(buckets: readonly BucketView[], q: Omit<TopNQuery, 'window'>): TopEntry[] {
    if (q.n <= 0) return [];
    return this.#grouped(buckets, q, (touched, acc, interner) => {
      const order = q.orderBy === 'bytes' ? acc.bytes : q.orderBy === 'time' ? acc.time : acc.req;
      return selectTop(touched, order, q.n, (id) => interner.value(id));
    });
  }

  /** Every group of `groupBy` over `buckets` under the filter, unsorted (for merging across stores). */
  aggregateAll(buckets: readonly BucketView[], q: Omit<TopNQuery, 'window' | 'n' | 'orderBy'>): TopEntry[] {
    return this.#grouped(buckets, q, (touched) => Array.from(touched));
  }

  /** One point per bucket: its totals, or with a filter, the sums of the keys it kept that match. */
  trend(buckets: readonly BucketView[], filterSpec: Filter = {}): TrendPoint[] {
    const filter = compileFilter(filterSpec, this.interners);
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
          if (!filter.test(b.ids, e * D)) continue;
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

  /**
   * Aggregates `groupBy` over the buckets into the scratch arrays, lets `pick` choose the ids to
   * report, and leaves the arrays zeroed for the next query.
   */
  #grouped(
    buckets: readonly BucketView[],
    q: Omit<TopNQuery, 'window' | 'n' | 'orderBy'>,
    pick: (touched: Int32Array, acc: Accumulators, interner: Interner) => ArrayLike<number>,
  ): TopEntry[] {
    const filter = compileFilter(q.filter ?? {}, this.interners);
    if (filter.impossible) return [];
    const g = DIM[q.groupBy];
    const interner = this.interners[g] as Interner;
    const acc = this.#accumulators(interner.capacity);
    let count = 0;
    for (const b of buckets) count = aggregate(b, filter, g, acc, count);
    const touched = acc.touched.subarray(0, count);
    const picked = pick(touched, acc, interner);
    const out: TopEntry[] = [];
    for (let i = 0; i < picked.length; i++) {
      const id = picked[i] as number;
      out.push({
        label: interner.value(id),
        requests: acc.req[id] as number,
        bytes: acc.bytes[id] as number,
        time: acc.time[id] as number,
      });
    }
    for (let i = 0; i < count; i++) {
      const id = touched[i] as number;
      acc.req[id] = 0;
      acc.bytes[id] = 0;
      acc.time[id] = 0;
      acc.seen[id] = 0;
    }
    return out;
  }

  /** Scratch arrays indexed by id, reused across queries (zeroed after each). */
  #accumulators(capacity: number): Accumulators {
    if (this.#acc.req.length < capacity) {
      const n = Math.max(capacity, this.#acc.req.length * 2, 1024);
      this.#acc = {
        req: new Float64Array(n),
        bytes: new Float64Array(n),
        time: new Float64Array(n),
        seen: new Uint8Array(n),
        touched: new Int32Array(n),
      };
    }
    return this.#acc;
  }
}

/** Adds a bucket's matching keys into the accumulators; returns the new count of touched ids. */
function aggregate(
  b: BucketView,
  filter: CompiledFilter,
  g: number,
  acc: Accumulators,
  count: number,
): number {
  const { ids, requests, bytes, time } = b;
  const { req: ar, bytes: ab, time: at, seen, touched } = acc;
  const n = b.size;
  const all = filter.empty;
  for (let e = 0; e < n; e++) {
    const r = requests[e] as number;
    if (r === 0) continue;
    const off = e * D;
    if (!all && !filter.test(ids, off)) continue;
    const id = ids[off + g] as number;
    if (seen[id] === 0) {
      seen[id] = 1;
      touched[count++] = id;
    }
    ar[id] = (ar[id] as number) + r;
    ab[id] = (ab[id] as number) + (bytes[e] as number);
    at[id] = (at[id] as number) + (time[e] as number);
  }
  return count;
}

/**
 * The `n` ids with the largest `order` value, largest first; ties broken by label (ascending).
 * A bounded min-heap: O(m log n) for m candidates, labels read only on ties.
 */
export function selectTop(
  ids: ArrayLike<number> & Iterable<number>,
  order: Float64Array,
  n: number,
  label: (id: number) => string,
): number[] {
  // worse(a, b): a ranks below b.
  const worse = (a: number, b: number) => {
    const x = order[a] as number;
    const y = order[b] as number;
    if (x !== y) return x < y;
    return label(a) > label(b);
  };
  const heap: number[] = [];
  let topLabelOf = -1;
  let topLabel = '';
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l] as number, heap[m] as number)) m = l;
      if (r < heap.length && worse(heap[r] as number, heap[m] as number)) m = r;
      if (m === i) return;
      const t = heap[i] as number;
      heap[i] = heap[m] as number;
      heap[m] = t;
      i = m;
    }
  };
  for (const id of ids) {
    if (heap.length < n) {
      heap.push(id);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i] as number, heap[p] as number)) break;
        const t = heap[i] as number;
        heap[i] = heap[p] as number;
        heap[p] = t;
        i = p;
      }
    } else {
      // Most candidates lose to the heap's weakest on the order alone; on a tie (a flood of
      // keys with one request each) the weakest's label is read once, not per comparison.
      const top = heap[0] as number;
      const x = order[id] as number;
      const y = order[top] as number;
      if (x < y) continue;
      if (x === y) {
        if (topLabelOf !== top) {
          topLabelOf = top;
          topLabel = label(top);
        }
        if (!(label(id) < topLabel)) continue;
      }
      heap[0] = id;
      down(0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
