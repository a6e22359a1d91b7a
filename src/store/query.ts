/**
 * Queries over a list of buckets: grouped TopN, ungrouped aggregation (for merging), and Trend.
 * Shared by a collector's store and an aggregator's merged store: both hand over the buckets a
 * window covers and the interners their ids refer to. Aggregation runs into scratch arrays
 * indexed by id (no maps keyed by strings), reused and zeroed between queries; an unfiltered TopN
 * by requests of a dimension of many values keeps its sealed buckets' sums there (`#keptPasses`).
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
 * Scratch arrays indexed by id for a dimension of many values (more than `ONE_PASS_IDS`), reused
 * across queries and zeroed after each. What a query makes resident is 12 bytes an id when it
 * ranks by requests (`order` and `touched`), 13 by bytes or time.
 *
 * (The ranked measure stays a Float64Array whatever it is: counts in a Uint32Array, 4 bytes an id
 * less, made the tie scan's loads polymorphic once a query of another kind had run, and TopN 60m
 * by URI at the caps 47 → 65-80 ms in half the runs.)
 */
interface Accumulators {
  /** The ranked measure per id (pass 1). */
  order: Float64Array;
  /** Pass 1 by bytes or time: the id was touched (the measure may be 0). Pass 2: the id was picked. */
  mark: Uint8Array;
  /** The ids touched by a query, in order (reused: a query allocates no array per id). */
  touched: Int32Array;
}

/**
 * A dimension with at most this many ids is summed in one pass, its three measures at once into
 * arrays of 28 bytes an id with the list of ids touched (2 MiB at most): no second pass over the
 * buckets for the chosen ids.
 */
export const ONE_PASS_IDS = 1 << 16;

/** The one pass's scratch: the three measures per id, and the ids touched. */
interface Totals {
  requests: Float64Array;
  bytes: Float64Array;
  time: Float64Array;
  touched: Int32Array;
}

/**
 * A bucket-like view: sealed buckets, and unsealed tables seen through the same columns
 * (`requests` may then be a Float64Array; entries with 0 requests are skipped).
 */
export type BucketView = Omit<Bucket, 'requests'> & { readonly requests: ArrayLike<number> };

/**
 * The sums by requests of an unfiltered TopN over sealed buckets, kept in the accumulators between
 * queries (`order`, its ids in `touched`): a query over the same window adds the buckets sealed
 * since, and then needs only the live minute (see `#kept`).
 */
interface Kept {
  /** The dimension summed. */
  readonly g: number;
  /**
   * The sealed buckets summed (a sealed bucket is replaced, never changed, while in its ring),
   * and how many: weakly held, so a bucket evicted since is not kept alive by them.
   */
  readonly buckets: WeakSet<BucketView>;
  size: number;
  /** How many ids of `touched` the sums have. */
  count: number;
  /**
   * The top `n` of the sums alone, under `(sum, label)` (the largest `n` asked since they changed:
   * a smaller one's top is its first ids); null once the sums changed.
   */
  top: number[] | null;
  n: number;
  /**
   * The sealed buckets' requests, bytes and time of each id of `top`, then of `OTHER` (three
   * numbers an id, in order), and each one's place there: a query adds the live minute's only
   * (and scans the sealed buckets again only for an id it chose outside `top`).
   */
  sums: Float64Array;
  place: Map<number, number>;
}

export class BucketQueries {
  readonly interners: readonly Interner[];
  #acc: Accumulators = emptyAccumulators(0);
  #kept: Kept | null = null;
  /** The live minute's distinct ids of the group-by dimension (a kept query's candidates). */
  #liveIds = new Int32Array(0);
  #totals: Totals = emptyTotals(0);
  readonly #regexScratch = new RegexScratch();
  /** Whether the last TopN was answered from kept sums (`#keptPasses`). */
  keptAnswer = false;
  /** Sealed buckets summed into kept sums, ever (a test's window on when they are summed). */
  keptSummed = 0;

  constructor(interners: readonly Interner[]) {
    this.interners = interners;
  }

  /**
   * Top `n` values of `groupBy` over `buckets` under the filter, ranked by `orderBy` (ties by
   * label), then the residuals' entry (`OTHER_TEXT`: requests not itemized) when there is one.
   * A dimension of few values is summed in one pass (its three measures per id); one of many in
   * two: the ranked measure summed per id and the top chosen, then the three measures of the
   * chosen ids only.
   */
  topN(buckets: readonly BucketView[], q: Omit<TopNQuery, 'window'>, live?: BucketView): TopEntry[] {
    this.keptAnswer = false;
    if (q.n <= 0) return [];
    const filter = compileFilter(q.filter ?? {}, this.interners, this.#regexScratch);
    if (filter.impossible) return [];
    const g = DIM[q.groupBy];
    const interner = this.interners[g] as Interner;
    const measure = q.orderBy === 'bytes' ? 1 : q.orderBy === 'time' ? 2 : 0;
    const ask: Ask = { filter, g, measure, n: q.n, interner };
    const all = live === undefined ? buckets : [...buckets, live];
    const onePass = interner.capacity <= ONE_PASS_IDS;
    this.keptAnswer = !onePass && live !== undefined && filter.empty && measure === 0;
    const { top, sums } = onePass
      ? this.#onePass(all, ask)
      : this.keptAnswer && live !== undefined
        ? this.#keptPasses(buckets, live, ask)
        : this.#twoPasses(all, ask);
    return top.map((id, i) => ({
      label: interner.value(id),
      requests: sums[3 * i] as number,
      bytes: sums[3 * i + 1] as number,
      time: sums[3 * i + 2] as number,
    }));
  }

  /** The top ids (then `OTHER` when it has requests) and their three sums, from one pass. */
  #onePass(buckets: readonly BucketView[], { filter, g, measure, n, interner }: Ask): Picked {
    const acc = this.#oneTotals(interner.capacity);
    let count = 0;
    let done = false;
    try {
      for (const b of buckets) count = total(b, filter, g, acc, count);
      const touched = acc.touched.subarray(0, count);
      const order = measure === 0 ? acc.requests : measure === 1 ? acc.bytes : acc.time;
      const top = selectTop(touched, order, n, interner);
      // The residuals' entry ("other") is not ranked (not in `touched`): it comes after the top `n`.
      if ((acc.requests[OTHER] as number) > 0) top.push(OTHER);
      const sums = new Float64Array(top.length * 3);
      for (let i = 0; i < top.length; i++) {
        const id = top[i] as number;
        sums[3 * i] = acc.requests[id] as number;
        sums[3 * i + 1] = acc.bytes[id] as number;
        sums[3 * i + 2] = acc.time[id] as number;
      }
      done = true;
      return { top, sums };
    } finally {
      // Clean for the next query: the ids touched and OTHER; everything after a throw (a filter's
      // predicate) in the middle of a bucket, whose touched ids are not all counted (2 MiB at most).
      for (const a of [acc.requests, acc.bytes, acc.time]) {
        if (!done) a.fill(0);
        else {
          a[OTHER] = 0;
          for (let i = 0; i < count; i++) a[acc.touched[i] as number] = 0;
        }
      }
    }
  }

  /** The top ids (then `OTHER` when it has requests) and their three sums, from two passes. */
  #twoPasses(buckets: readonly BucketView[], { filter, g, measure, n, interner }: Ask): Picked {
    const acc = this.#accumulators(interner.capacity);
    this.#forget();
    let count = 0;
    for (const b of buckets) count = rank(b, filter, g, measure, acc, count);
    const touched = acc.touched.subarray(0, count);
    const { order, mark } = acc;
    // The residuals' entry ("other") is not ranked (not in `touched`): it comes after the top `n`.
    const other = measure === 0 ? (order[OTHER] as number) > 0 : mark[OTHER] === 1;
    const top = selectTop(touched, order, n, interner);
    if (other) top.push(OTHER);
    order[OTHER] = 0;
    mark[OTHER] = 0;
    for (let i = 0; i < touched.length; i++) order[touched[i] as number] = 0;
    if (measure !== 0) for (let i = 0; i < touched.length; i++) mark[touched[i] as number] = 0;
    return { top, sums: sumChosen(buckets, filter, g, top, mark) };
  }

  /**
   * An unfiltered TopN by requests of a dimension of many values, over sealed buckets and the live
   * minute: the sealed buckets' sums S are kept between queries (`#kept`), the buckets sealed
   * since added; a bucket gone from the window (or replaced by late lines) makes them summed anew.
   * The answer is the top `n` of S + L (L: the live minute's requests) among the top `n` of S alone
   * and the live minute's ids: any other id has L = 0 and n ids above it in S, each at least as
   * high in S + L (or as high, with a smaller label). So the tie scan of a flood of ids at one
   * request runs when S changes (a minute), not at every query. Sums are integers: exact. The
   * three sums of S's top (and of `OTHER`) over the sealed buckets are kept too, so a query reads
   * the live minute, not the whole window, for the chosen ids' sums.
   */
  #keptPasses(sealed: readonly BucketView[], live: BucketView, { filter, g, n, interner }: Ask): Picked {
    const acc = this.#accumulators(interner.capacity);
    const { order, mark } = acc;
    let k = this.#kept;
    // Still valid when every bucket summed is in the list (which has no bucket twice).
    if (k !== null) {
      let held = 0;
      for (const b of sealed) if (k.buckets.has(b)) held++;
      if (k.g !== g || held !== k.size) k = null;
    }
    if (k === null) {
      this.#forget();
      k = { g, buckets: new WeakSet(), size: 0, count: 0, top: null, n, sums: NO_SUMS, place: new Map() };
      this.#kept = k;
    }
    for (const b of sealed) {
      if (k.buckets.has(b)) continue;
      k.count = rank(b, filter, g, 0, acc, k.count);
      this.keptSummed++;
      k.buckets.add(b);
      k.size++;
      k.top = null;
    }
    if (k.top === null || k.n < n) {
      k.top = selectTop(acc.touched.subarray(0, k.count), order, n, interner);
      k.n = n;
      const cached = [...k.top, OTHER];
      k.sums = sumChosen(sealed, filter, g, cached, mark);
      k.place = new Map(cached.map((id, i) => [id, i]));
    }
    const kTop = k.top;
    const candidates = Math.min(n, kTop.length);
    // The live minute's requests added to S for a moment (its ids marked once each, listed with
    // S's own top in `#liveIds`), the top chosen among them, then taken off again.
    const room = live.size + candidates;
    if (this.#liveIds.length < room) this.#liveIds = new Int32Array(room + (room >>> 2));
    const ids = this.#liveIds;
    let m = 0;
    for (let e = 0; e < live.size; e++) {
      const r = live.requests[e] as number;
      if (r === 0) continue;
      const id = live.ids[e * D + g] as number;
      if (mark[id] === 0 && id !== OTHER) {
        mark[id] = 1;
        ids[m++] = id;
      }
      order[id] = (order[id] as number) + r;
    }
    for (let i = 0; i < candidates; i++) {
      const id = kTop[i] as number;
      if (mark[id] === 0) ids[m++] = id;
    }
    const top = selectTop(ids.subarray(0, m), order, n, interner);
    if ((order[OTHER] as number) > 0) top.push(OTHER);
    for (let e = 0; e < live.size; e++) {
      const r = live.requests[e] as number;
      if (r === 0) continue;
      const id = live.ids[e * D + g] as number;
      order[id] = (order[id] as number) - r;
      mark[id] = 0;
    }
    // The chosen ids' sealed sums as kept (those of an id chosen outside S's top summed now),
    // then the live minute's added: in the order a pass over all the buckets adds them.
    const sums = new Float64Array(top.length * 3);
    let missing = false;
    for (let i = 0; i < top.length; i++) {
      const at = k.place.get(top[i] as number);
      if (at === undefined) missing = true;
      else sums.set(k.sums.subarray(3 * at, 3 * at + 3), 3 * i);
    }
    if (missing) sumChosen(sealed, filter, g, top, mark, sums, (id) => !k.place.has(id));
    sumChosen([live], filter, g, top, mark, sums);
    return { top, sums };
  }

  /** Lets go of the kept sums: the accumulators zeroed for another query. */
  #forget(): void {
    const k = this.#kept;
    if (k === null) return;
    this.#kept = null;
    const { order, touched } = this.#acc;
    order[OTHER] = 0;
    for (let i = 0; i < k.count; i++) order[touched[i] as number] = 0;
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

  /** The two passes' scratch arrays indexed by id, reused across queries (zeroed after each). */
  #accumulators(capacity: number): Accumulators {
    if (this.#acc.mark.length < capacity) {
      // An eighth of room to grow into: 13 bytes an id is tens of MB for millions of values.
      this.#acc = emptyAccumulators(Math.max(capacity + (capacity >>> 3), 1024));
      this.#kept = null; // its sums were in the old ones
      if (this.#acc.mark.length >= WARM_FROM) warm(this.#acc, () => this.#acc);
    }
    return this.#acc;
  }

  /** The one pass's scratch arrays (zeroed after each query). */
  #oneTotals(capacity: number): Totals {
    if (this.#totals.touched.length < capacity)
      this.#totals = emptyTotals(Math.max(capacity + (capacity >>> 3), 256));
    return this.#totals;
  }
}

/** What the ways of answering a TopN are given. */
interface Ask {
  readonly filter: CompiledFilter;
  /** The group-by dimension. */
  readonly g: number;
  /** The ranked measure: 0 requests, 1 bytes, 2 time. */
  readonly measure: number;
  readonly n: number;
  readonly interner: Interner;
}

/** Ids chosen by a TopN, and their requests, bytes and time (three numbers an id, in order). */
interface Picked {
  top: number[];
  sums: Float64Array;
}

const NO_SUMS = new Float64Array(0);

function emptyAccumulators(n: number): Accumulators {
  return { order: new Float64Array(n), mark: new Uint8Array(n), touched: new Int32Array(n) };
}

function emptyTotals(n: number): Totals {
  return {
    requests: new Float64Array(n),
    bytes: new Float64Array(n),
    time: new Float64Array(n),
    touched: new Int32Array(n),
  };
}

/** Accumulators of this many ids or more are touched in the background once made. */
const WARM_FROM = 1 << 16;
/** Bytes touched a turn of the event loop (a few ms where a first touch is slow). */
const WARM_SLICE = 1 << 20;

/**
 * Touches every page of new accumulators that a query by requests writes (`order` and `touched`:
 * 12 bytes an id), a slice a timer turn of the event loop, between queries: a
 * query that sums over most ids (60 minutes of millions of distinct URIs) would otherwise take
 * the page faults of tens of MB at once, and those cost ~10 µs a page on some virtual machines.
 * Stops if they are replaced. The memory is what such a query makes resident anyway. (`mark` is
 * written by such a query only for the ids it picks, and read for every entry of the window: its
 * other pages stay the kernel's zero page. A query by bytes or time writes it for every id it
 * touches: those first faults, one page for 4 096 ids, are not taken ahead.)
 */
function warm(acc: Accumulators, current: () => Accumulators): void {
  const arrays: (Float64Array | Int32Array)[] = [acc.order, acc.touched];
  let a = 0;
  let at = 0;
  const step = () => {
    if (current() !== acc) return;
    let budget = WARM_SLICE;
    while (a < arrays.length && budget > 0) {
      const x = arrays[a] as Float64Array | Int32Array;
      const perPage = 4096 / x.BYTES_PER_ELEMENT;
      const end = Math.min(x.length, at + budget / x.BYTES_PER_ELEMENT);
      // Writing a value a page makes the page resident (the value it holds: kept sums stay).
      for (let i = at; i < end; i += perPage) x[i] = x[i] as number;
      budget -= (end - at) * x.BYTES_PER_ELEMENT;
      at = end;
      if (at >= x.length) {
        a++;
        at = 0;
      }
    }
    if (a < arrays.length) setTimeout(step, 0).unref();
  };
  // Timers, not immediates: an unreferenced immediate waits for the loop's next event.
  setTimeout(step, 0).unref();
}

/**
 * The one pass: adds a bucket's matching keys' three measures into `acc` by their `g` id; returns
 * the new count of touched ids (every matching key has requests: a touched id's are above 0).
 */
function total(b: BucketView, filter: CompiledFilter, g: number, acc: Totals, count: number): number {
  const { ids, requests, bytes, time } = b;
  const { touched } = acc;
  const sumR = acc.requests;
  const sumB = acc.bytes;
  const sumT = acc.time;
  const n = b.size;
  const all = filter.empty;
  for (let e = 0; e < n; e++) {
    const r = requests[e] as number;
    if (r === 0) continue;
    const off = e * D;
    if (!all && !filter.test(ids, off)) continue;
    const id = ids[off + g] as number;
    const o = sumR[id] as number;
    if (o === 0 && id !== OTHER) touched[count++] = id;
    sumR[id] = o + r;
    sumB[id] = (sumB[id] as number) + (bytes[e] as number);
    sumT[id] = (sumT[id] as number) + (time[e] as number);
  }
  return count;
}

/**
 * Pass 1 of two: adds a bucket's matching keys' measure (0 requests, 1 bytes, 2 time) into
 * `order` by their `g` id; returns the new count of touched ids.
 */
function rank(
  b: BucketView,
  filter: CompiledFilter,
  g: number,
  measure: number,
  acc: Accumulators,
  count: number,
): number {
  const { ids, requests } = b;
  const values = measure === 0 ? requests : measure === 1 ? b.bytes : b.time;
  const { order, mark, touched } = acc;
  const n = b.size;
  const all = filter.empty;
  for (let e = 0; e < n; e++) {
    if (requests[e] === 0) continue;
    const off = e * D;
    if (!all && !filter.test(ids, off)) continue;
    const id = ids[off + g] as number;
    const o = order[id] as number;
    // By requests a touched id is above 0; bytes and time may be 0, so those mark it.
    if (measure === 0) {
      if (o === 0 && id !== OTHER) touched[count++] = id;
    } else if (mark[id] === 0) {
      mark[id] = 1;
      if (id !== OTHER) touched[count++] = id;
    }
    order[id] = o + (values[e] as number);
  }
  return count;
}

/**
 * Pass 2: the requests, bytes and time of the chosen ids `top` over the buckets' matching keys (3
 * numbers an id, in order), added into `sums`; with `only`, of the chosen ids it accepts alone.
 * `mark` (all 0) holds 1 + each one's place meanwhile (for at most 254; a map beyond), and is all
 * 0 again after.
 */
function sumChosen(
  buckets: readonly BucketView[],
  filter: CompiledFilter,
  g: number,
  top: readonly number[],
  mark: Uint8Array,
  sums = new Float64Array(top.length * 3),
  only?: (id: number) => boolean,
): Float64Array {
  const place = top.length > 254 ? new Map(top.map((id, i) => [id, i])) : undefined;
  for (let i = 0; i < top.length; i++) {
    const id = top[i] as number;
    if (only === undefined || only(id)) mark[id] = place ? 255 : i + 1;
  }
  for (const b of buckets) sumPicked(b, filter, g, mark, place, sums);
  for (const id of top) mark[id] = 0;
  return sums;
}

/** Adds a bucket's matching keys whose `g` id is marked (chosen) into `sums` (3 per chosen id). */
function sumPicked(
  b: BucketView,
  filter: CompiledFilter,
  g: number,
  mark: Uint8Array,
  place: Map<number, number> | undefined,
  sums: Float64Array,
): void {
  const { ids, requests, bytes, time } = b;
  const n = b.size;
  const all = filter.empty;
  for (let e = 0; e < n; e++) {
    const off = e * D;
    const id = ids[off + g] as number;
    const m = mark[id] as number;
    if (m === 0) continue;
    const r = requests[e] as number;
    if (r === 0) continue;
    if (!all && !filter.test(ids, off)) continue;
    const i = 3 * (place ? (place.get(id) as number) : m - 1);
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
 * first: the interner's byte order of labels). A bounded min-heap: O(m log n) for m candidates;
 * once it is full, `nextAbove` skips the candidates that rank below its weakest (a flood of keys
 * with one request each is millions of ties).
 */
export function selectTop(ids: Int32Array, order: Float64Array, n: number, ties: TieOrder): number[] {
  // worse(a, b): a ranks below b.
  const worse = (a: number, b: number) => {
    const x = order[a] as number;
    const y = order[b] as number;
    if (x !== y) return x < y;
    return ties.compare(a, b) > 0;
  };
  const heap: number[] = [];
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
  const m = ids.length;
  let i = 0;
  for (; i < m && heap.length < n; i++) {
    heap.push(ids[i] as number);
    let c = heap.length - 1;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (!worse(heap[c] as number, heap[p] as number)) break;
      const t = heap[c] as number;
      heap[c] = heap[p] as number;
      heap[p] = t;
      c = p;
    }
  }
  for (; i < m; i++) {
    const top = heap[0] as number;
    i = ties.nextAbove(ids, i, m, order, order[top] as number, top);
    if (i === m) break;
    heap[0] = ids[i] as number;
    down(0);
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
