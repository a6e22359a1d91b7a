/**
 * The counting store of the collector (and, merged, of the aggregator): a live table for the
 * current minute (capped), a fine ring of 60 one-minute buckets (top 50 000 keys each), and a
 * coarse ring of 288 five-minute buckets (top 5 000 each). The clock is injected so tests can
 * drive minutes and days deterministically.
 * @module
 */
import { type Bucket, bucketColumns, ColumnPool, emptyBucket, sealBucket } from './bucket.ts';
import { D, DIM, DIMENSIONS, type Dimension, type Order } from './dimensions.ts';
import { type CompiledFilter, compileFilter, type Filter } from './filter.ts';
import { Interner } from './interner.ts';
import { PrefixMasker } from './prefix.ts';
import { TupleTable } from './tuple-table.ts';
import { WINDOW_SPANS, type Window } from './windows.ts';

export interface StoreOptions {
  /** Distinct keys in the live minute before new keys are dropped; default 100 000. */
  liveCap?: number;
  /** Keys kept per fine (1-minute) bucket; default 50 000. */
  fineKeep?: number;
  /** Keys kept per coarse (5-minute) bucket; default 5 000. */
  coarseKeep?: number;
  v4prefix?: number;
  v6prefix?: number;
  /** Current time in epoch seconds; default the wall clock. */
  now?: () => number;
  /**
   * Fed only by `ingestBucket` (an aggregator's copy of a collector): no live minute and no
   * rotation by the clock, so a bucket that arrives late is never mistaken for a duplicate.
   */
  external?: boolean;
}

export const FINE_SLOTS = 60;
export const COARSE_SLOTS = 288;
const MINUTE = 60;
const COARSE = 300;

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

/** Outcome of one `add`. */
export type AddResult = 'counted' | 'dropped' | 'malformed';

/** What `exportState` returns and `importState` takes. */
export interface StoreState {
  liveStart: number;
  /** Per dimension, the value of each id ('' for unused ids). */
  values: string[][];
  fine: Bucket[];
  coarse: Bucket[];
  live: Bucket;
}

export interface StoreStats {
  added: number;
  malformed: number;
  droppedKeys: number;
  liveKeys: number;
  fineBuckets: number;
  coarseBuckets: number;
  internedValues: Record<Dimension, number>;
}

export class Store {
  readonly interners: readonly Interner[] = DIMENSIONS.map(() => new Interner());
  readonly masker: PrefixMasker;
  readonly liveCap: number;
  readonly fineKeep: number;
  readonly coarseKeep: number;
  readonly now: () => number;
  #live: TupleTable;
  #liveStart: number;
  #liveTotals = { requests: 0, bytes: 0, time: 0 };
  readonly #fine: Bucket[] = [];
  readonly #coarse: Bucket[] = [];
  readonly #scratch: TupleTable;
  readonly #finePool: ColumnPool;
  readonly #coarsePool: ColumnPool;
  readonly #key = new Uint32Array(D);
  readonly #isNew = { v: false };
  readonly #statusIds: Int32Array = new Int32Array(1000).fill(-1);
  readonly #listeners = new Set<(bucket: Bucket) => void>();
  #stats = { added: 0, malformed: 0, droppedKeys: 0 };

  constructor(opts: StoreOptions = {}) {
    this.liveCap = opts.liveCap ?? 100_000;
    this.fineKeep = opts.fineKeep ?? 50_000;
    this.coarseKeep = opts.coarseKeep ?? 5_000;
    this.masker = new PrefixMasker(opts.v4prefix ?? 24, opts.v6prefix ?? 48);
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.#live = new TupleTable(this.liveCap, 4096);
    this.#scratch = new TupleTable(this.fineKeep * (COARSE / MINUTE), 4096);
    this.#finePool = new ColumnPool(this.fineKeep);
    this.#coarsePool = new ColumnPool(this.coarseKeep);
    this.#liveStart = Math.floor(this.now() / MINUTE) * MINUTE;
    this.#external = opts.external === true;
  }

  /** Called with every sealed fine bucket (each completed minute). Returns an unsubscribe function. */
  onMinute(listener: (bucket: Bucket) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The label of an id in a dimension. */
  label(dim: Dimension, id: number): string {
    return (this.interners[DIM[dim]] as Interner).value(id);
  }

  #statusId(status: number): number {
    if (status >= 0 && status < 1000 && Number.isInteger(status)) {
      let id = this.#statusIds[status] as number;
      if (id < 0) {
        id = (this.interners[DIM.status] as Interner).intern(String(status));
        // Status ids are permanent (at most 1000 of them).
        (this.interners[DIM.status] as Interner).acquire(id);
        this.#statusIds[status] = id;
      }
      return id;
    }
    return -1;
  }

  /**
   * Counts one request. `uri` may carry a query string (stripped here); `addr` is the client
   * address (masked to its prefix). A status outside 0–999 or an address that is not an IP
   * address makes the line malformed.
   */
  add(
    website: string,
    addr: string,
    uri: string,
    status: number,
    upstream: string,
    method: string,
    bytes: number,
    time: number,
  ): AddResult {
    this.tick();
    const statusId = this.#statusId(status);
    const prefix = this.#prefixId(addr);
    if (statusId < 0 || prefix < 0) {
      this.#stats.malformed++;
      return 'malformed';
    }
    const q = uri.indexOf('?');
    const path = q === -1 ? uri : uri.slice(0, q);
    const k = this.#key;
    const it = this.interners;
    k[0] = this.#cachedId(0, website);
    k[1] = prefix;
    k[2] = (it[2] as Interner).intern(path);
    k[3] = statusId;
    k[4] = this.#cachedId(4, upstream);
    k[5] = this.#cachedId(5, method);
    const b = Number.isFinite(bytes) && bytes > 0 ? bytes : 0;
    const t = Number.isFinite(time) && time > 0 ? time : 0;
    this.#liveTotals.requests++;
    this.#liveTotals.bytes += b;
    this.#liveTotals.time += t;
    this.#stats.added++;
    const e = this.#live.add(k, 0, 1, b, t, this.#isNew);
    if (e < 0) {
      this.#stats.droppedKeys++;
      return 'dropped';
    }
    if (this.#isNew.v) for (let d = 0; d < D; d++) (it[d] as Interner).acquire(k[d] as number);
    return 'counted';
  }

  /** The last value and id per dimension: consecutive lines often share website and method. */
  readonly #lastValue: string[] = DIMENSIONS.map(() => '');
  readonly #lastId: number[] = DIMENSIONS.map(() => 0);

  #cachedId(d: number, value: string): number {
    if (value === this.#lastValue[d]) return this.#lastId[d] as number;
    const id = (this.interners[d] as Interner).intern(value);
    this.#lastValue[d] = value;
    this.#lastId[d] = id;
    return id;
  }

  /** Drops every per-value cache: ids may have been freed. */
  #forgetCaches(): void {
    this.#lastValue.fill('');
    this.#lastId.fill(0);
    this.#lastAddr = undefined;
    this.#lastPrefixId = -1;
    this.#v4Ids.clear();
    this.#v6Ids.clear();
  }

  /** The last address seen and its prefix id (undefined: none, so no input can match it). */
  #lastAddr: string | undefined = undefined;
  #lastPrefixId = -1;
  #v4Ids = new Map<number, number>();
  /** IPv6 address → prefix id (parsing and printing IPv6 costs more than a lookup). */
  #v6Ids = new Map<number, number>();

  #prefixId(addr: string): number {
    if (addr === this.#lastAddr) return this.#lastPrefixId;
    const interner = this.interners[DIM.prefix] as Interner;
    let id: number;
    const n = this.masker.v4Network(addr);
    if (n >= 0) {
      const cached = this.#v4Ids.get(n);
      if (cached !== undefined && interner.value(cached) !== '') id = cached;
      else {
        id = interner.intern(this.masker.v4Label(n));
        if (this.#v4Ids.size > 1 << 20) this.#v4Ids.clear();
        this.#v4Ids.set(n, id);
      }
    } else if (n === -2) {
      id = -1;
    } else {
      // IPv6: key the cache by the masked network (a number) when it fits, else by the address.
      // Only a parsed, masked network (a number) is a cache key: never the attacker's text.
      const net = this.masker.v6Network(addr);
      const cached = net >= 0 ? this.#v6Ids.get(net) : undefined;
      if (cached !== undefined) id = cached;
      else {
        const label = this.masker.label(addr);
        id = label === undefined ? -1 : interner.intern(label);
        if (net >= 0 && id >= 0) {
          if (this.#v6Ids.size > 1 << 16) this.#v6Ids.clear();
          this.#v6Ids.set(net, id);
        }
      }
    }
    this.#lastAddr = addr;
    this.#lastPrefixId = id;
    return id;
  }

  /** Rotates the live minute (and the rings) up to the clock. Called by `add` and by a timer. */
  tick(): void {
    if (this.#external) return;
    const now = this.now();
    if (now < this.#liveStart + MINUTE) return;
    const target = Math.floor(now / MINUTE) * MINUTE;
    this.#sealLive();
    let next = this.#liveStart + MINUTE;
    // A long gap (idle host, clock jump): at most a day of empty buckets matters.
    if (target - next > COARSE_SLOTS * COARSE)
      next = Math.floor((target - COARSE_SLOTS * COARSE) / COARSE) * COARSE;
    while (next < target) {
      this.#pushFine(emptyBucket(next, MINUTE));
      next += MINUTE;
    }
    this.#liveStart = target;
    // Forget interned values only dropped lines referred to.
    for (const i of this.interners) i.sweep();
    this.#forgetCaches();
  }

  #sealLive(): void {
    const live = this.#live;
    const bucket = sealBucket(live, this.#liveStart, MINUTE, this.fineKeep, this.#liveTotals, this.#finePool);
    this.#acquire(bucket);
    // Release the live table's references.
    const it = this.interners;
    for (let e = 0; e < live.size; e++) {
      for (let d = 0; d < D; d++) (it[d] as Interner).release(live.ids[e * D + d] as number);
    }
    live.clear();
    this.#liveTotals = { requests: 0, bytes: 0, time: 0 };
    this.#pushFine(bucket);
  }

  #acquire(b: Bucket): void {
    const it = this.interners;
    for (let i = 0; i < b.size * D; i++) (it[i % D] as Interner).acquire(b.ids[i] as number);
  }

  #evict(b: Bucket, pool: ColumnPool): void {
    this.#release(b);
    const cols = bucketColumns.get(b);
    if (cols) pool.give(cols);
  }

  #release(b: Bucket): void {
    const it = this.interners;
    for (let i = 0; i < b.size * D; i++) (it[i % D] as Interner).release(b.ids[i] as number);
  }

  #pushFine(bucket: Bucket): void {
    this.#fine.push(bucket);
    if (this.#fine.length > FINE_SLOTS) this.#evict(this.#fine.shift() as Bucket, this.#finePool);
    for (const l of this.#listeners) l(bucket);
    if ((bucket.start + MINUTE) % COARSE === 0) {
      const start = bucket.start + MINUTE - COARSE;
      // A coarse bucket received whole (aggregator backfill) is not folded again.
      if (!this.#coarse.some((c) => c.start === start)) this.#fold(start);
    }
  }

  /** True once buckets are fed from outside (`ingestBucket`): the store then has no live minute. */
  #external = false;

  /**
   * Adds a completed bucket received from elsewhere (an aggregator's view of a collector's
   * snapshot): 60-second buckets join the fine ring (gaps become empty minutes; coarse buckets
   * fold as usual), 300-second buckets join the coarse ring. A bucket older than the ring's
   * newest is ignored (duplicates from a reconnect's backfill). Returns whether it was added.
   */
  ingestBucket(
    start: number,
    span: number,
    entries: Iterable<{ labels: readonly string[]; requests: number; bytes: number; time: number }>,
    totals: { requests: number; bytes: number; time: number },
  ): boolean {
    this.#external = true;
    const ring = span === COARSE ? this.#coarse : this.#fine;
    const last = ring.at(-1);
    if (last && start <= last.start) return false;
    // Empty minutes for a gap first: pushing them may fold a coarse bucket, which uses the
    // scratch table the received entries are gathered in below.
    if (span !== COARSE && last && start - last.start > MINUTE) {
      const from = Math.max(last.start + MINUTE, start - FINE_SLOTS * MINUTE);
      for (let m = from; m < start; m += MINUTE) this.#pushFine(emptyBucket(m, MINUTE));
    }
    const t = this.#scratch;
    t.clear();
    const k = new Uint32Array(D);
    for (const e of entries) {
      for (let d = 0; d < D; d++) k[d] = (this.interners[d] as Interner).intern(e.labels[d] ?? '');
      t.add(k, 0, e.requests, e.bytes, e.time);
    }
    if (span === COARSE) {
      const b = sealBucket(t, start, COARSE, this.coarseKeep, totals, this.#coarsePool);
      this.#acquire(b);
      this.#coarse.push(b);
      if (this.#coarse.length > COARSE_SLOTS) this.#evict(this.#coarse.shift() as Bucket, this.#coarsePool);
    } else {
      const b = sealBucket(t, start, MINUTE, this.fineKeep, totals, this.#finePool);
      this.#acquire(b);
      this.#pushFine(b);
    }
    for (const it of this.interners) it.sweep();
    this.#forgetCaches();
    this.#liveStart = Math.max(this.#liveStart, start + span);
    return true;
  }

  /**
   * Whether a bucket is still in a ring. An evicted bucket's columns are reused for a newer one
   * and its ids may be freed: read a bucket (synchronously) only while the store holds it.
   */
  holds(b: Bucket): boolean {
    return this.#fine.includes(b) || this.#coarse.includes(b);
  }

  /** The sealed buckets of both rings (for backfilling a subscriber): coarse first, then fine. */
  rings(): { coarse: Bucket[]; fine: Bucket[] } {
    return { coarse: [...this.#coarse], fine: [...this.#fine] };
  }

  /** Every group of `groupBy` over `window` under `filter`, unsorted (for merging across stores). */
  aggregateAll(q: Omit<TopNQuery, 'n' | 'orderBy'>): TopEntry[] {
    return this.#grouped(q, (touched) => touched);
  }

  /** Builds the coarse bucket for [start, start + 300) from the fine buckets in it. */
  #fold(start: number): void {
    const t = this.#scratch;
    t.clear();
    const totals = { requests: 0, bytes: 0, time: 0 };
    for (const b of this.#fine) {
      if (b.start < start || b.start >= start + COARSE) continue;
      totals.requests += b.totalRequests;
      totals.bytes += b.totalBytes;
      totals.time += b.totalTime;
      for (let e = 0; e < b.size; e++) {
        t.add(b.ids, e * D, b.requests[e] as number, b.bytes[e] as number, b.time[e] as number);
      }
    }
    const coarse = sealBucket(t, start, COARSE, this.coarseKeep, totals, this.#coarsePool);
    this.#acquire(coarse);
    this.#coarse.push(coarse);
    if (this.#coarse.length > COARSE_SLOTS) this.#evict(this.#coarse.shift() as Bucket, this.#coarsePool);
  }

  /** The buckets a window covers, oldest first. The live minute is not included. */
  buckets(window: Window): Bucket[] {
    const span = WINDOW_SPANS[window];
    if (span.ring === 'fine') return this.#fine.slice(-span.buckets);
    const coarse = this.#coarse.slice(-span.buckets);
    const last = coarse.at(-1);
    const after = last ? last.start + COARSE : -Infinity;
    return [...coarse, ...this.#fine.filter((b) => b.start >= after)];
  }

  /** The live minute as a bucket-like view (not sealed, not truncated). */
  #liveView(): Bucket {
    const l = this.#live;
    return {
      start: this.#liveStart,
      span: MINUTE,
      size: l.size,
      ids: l.ids,
      requests: l.requests as unknown as Uint32Array,
      bytes: l.bytes,
      time: l.time,
      totalRequests: this.#liveTotals.requests,
      totalBytes: this.#liveTotals.bytes,
      totalTime: this.#liveTotals.time,
    };
  }

  /**
   * Top `n` values of `groupBy` over `window` (its completed buckets plus the current minute so
   * far), under `filter`, ranked by `orderBy` (requests by default; ties by label).
   */
  topN(q: TopNQuery): TopEntry[] {
    if (q.n <= 0) return [];
    return this.#grouped(q, (touched, acc, interner) => {
      const order = q.orderBy === 'bytes' ? acc.bytes : q.orderBy === 'time' ? acc.time : acc.req;
      return selectTop(touched, order, q.n, (id) => interner.value(id));
    });
  }

  /**
   * Aggregates `groupBy` over the window's buckets and the live minute into the scratch arrays,
   * lets `pick` choose the ids to report, and leaves the arrays zeroed for the next query.
   */
  #grouped(
    q: Omit<TopNQuery, 'n' | 'orderBy'>,
    pick: (touched: number[], acc: Accumulators, interner: Interner) => readonly number[],
  ): TopEntry[] {
    this.tick();
    const filter = compileFilter(q.filter ?? {}, this.interners);
    if (filter.impossible) return [];
    const g = DIM[q.groupBy];
    const interner = this.interners[g] as Interner;
    const acc = this.#accumulators(interner.capacity);
    const touched: number[] = [];
    for (const b of this.buckets(q.window)) aggregate(b, filter, g, acc, touched);
    aggregate(this.#liveView(), filter, g, acc, touched);
    const out = pick(touched, acc, interner).map((id) => ({
      label: interner.value(id),
      requests: acc.req[id] as number,
      bytes: acc.bytes[id] as number,
      time: acc.time[id] as number,
    }));
    for (const id of touched) {
      acc.req[id] = 0;
      acc.bytes[id] = 0;
      acc.time[id] = 0;
      acc.seen[id] = 0;
    }
    return out;
  }

  #acc: Accumulators = {
    req: new Float64Array(0),
    bytes: new Float64Array(0),
    time: new Float64Array(0),
    seen: new Uint8Array(0),
  };

  /** Scratch arrays indexed by id, reused across queries (zeroed after each). */
  #accumulators(capacity: number): Accumulators {
    if (this.#acc.req.length < capacity) {
      const n = Math.max(capacity, this.#acc.req.length * 2, 1024);
      this.#acc = {
        req: new Float64Array(n),
        bytes: new Float64Array(n),
        time: new Float64Array(n),
        seen: new Uint8Array(n),
      };
    }
    return this.#acc;
  }

  /** One point per bucket of `window` (the last point is the current minute so far). */
  trend(window: Window, filterSpec: Filter = {}): TrendPoint[] {
    this.tick();
    const filter = compileFilter(filterSpec, this.interners);
    const all = [...this.buckets(window), this.#liveView()];
    return all.map((b) => {
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

  /**
   * Everything the store holds, for persistence: the value table of each dimension (index = id,
   * '' where unused), the sealed buckets of both rings, and the live minute.
   */
  exportState(): StoreState {
    return {
      liveStart: this.#liveStart,
      values: this.interners.map((it) => {
        const out: string[] = [];
        for (let id = 0; id < it.capacity; id++) out.push(it.value(id));
        return out;
      }),
      fine: [...this.#fine],
      coarse: [...this.#coarse],
      live: this.#liveView(),
    };
  }

  /** Loads a state from `exportState` into this (empty) store; later minutes catch up on tick. */
  importState(state: StoreState): void {
    if (this.#fine.length > 0 || this.#coarse.length > 0 || this.#live.size > 0) {
      throw new Error('importState: the store is not empty');
    }
    const maps = state.values.map((vals, d) => {
      const it = this.interners[d] as Interner;
      const m = new Uint32Array(vals.length);
      vals.forEach((v, id) => {
        m[id] = v === '' ? 0 : it.intern(v);
      });
      return m;
    });
    const remap = (b: Bucket, pool: ColumnPool | undefined): Bucket => {
      const t = new TupleTable(Math.max(b.size, 1), b.size + 16);
      const k = new Uint32Array(D);
      for (let e = 0; e < b.size; e++) {
        for (let d = 0; d < D; d++) k[d] = (maps[d] as Uint32Array)[b.ids[e * D + d] as number] ?? 0;
        t.add(k, 0, b.requests[e] as number, b.bytes[e] as number, b.time[e] as number);
      }
      const totals = { requests: b.totalRequests, bytes: b.totalBytes, time: b.totalTime };
      return sealBucket(t, b.start, b.span, b.size, totals, pool);
    };
    for (const b of state.fine.slice(-FINE_SLOTS)) {
      const nb = remap(b, this.#finePool);
      this.#acquire(nb);
      this.#fine.push(nb);
    }
    for (const b of state.coarse.slice(-COARSE_SLOTS)) {
      const nb = remap(b, this.#coarsePool);
      this.#acquire(nb);
      this.#coarse.push(nb);
    }
    const live = state.live;
    const k = new Uint32Array(D);
    for (let e = 0; e < live.size; e++) {
      for (let d = 0; d < D; d++) k[d] = (maps[d] as Uint32Array)[live.ids[e * D + d] as number] ?? 0;
      const isNew = { v: false };
      if (
        this.#live.add(
          k,
          0,
          live.requests[e] as number,
          live.bytes[e] as number,
          live.time[e] as number,
          isNew,
        ) >= 0 &&
        isNew.v
      ) {
        for (let d = 0; d < D; d++) (this.interners[d] as Interner).acquire(k[d] as number);
      }
    }
    this.#liveTotals = { requests: live.totalRequests, bytes: live.totalBytes, time: live.totalTime };
    this.#liveStart = state.liveStart;
    for (const it of this.interners) it.sweep();
    this.#forgetCaches();
    this.tick();
  }

  /** Every key of a bucket with its labels (for snapshots to an aggregator). */
  *entries(b: Bucket): Generator<{ labels: string[]; requests: number; bytes: number; time: number }> {
    for (let e = 0; e < b.size; e++) {
      const labels: string[] = [];
      for (let d = 0; d < D; d++)
        labels.push((this.interners[d] as Interner).value(b.ids[e * D + d] as number));
      yield {
        labels,
        requests: b.requests[e] as number,
        bytes: b.bytes[e] as number,
        time: b.time[e] as number,
      };
    }
  }

  stats(): StoreStats {
    const internedValues = {} as Record<Dimension, number>;
    DIMENSIONS.forEach((d, i) => {
      internedValues[d] = (this.interners[i] as Interner).size;
    });
    return {
      ...this.#stats,
      liveKeys: this.#live.size,
      fineBuckets: this.#fine.length,
      coarseBuckets: this.#coarse.length,
      internedValues,
    };
  }
}

interface Accumulators {
  req: Float64Array;
  bytes: Float64Array;
  time: Float64Array;
  seen: Uint8Array;
}

function aggregate(b: Bucket, filter: CompiledFilter, g: number, acc: Accumulators, touched: number[]): void {
  const { ids, requests, bytes, time } = b;
  const { req: ar, bytes: ab, time: at, seen } = acc;
  const n = b.size;
  const all = filter.empty;
  for (let e = 0; e < n; e++) {
    const off = e * D;
    if (!all && !filter.test(ids, off)) continue;
    const id = ids[off + g] as number;
    if (seen[id] === 0) {
      seen[id] = 1;
      touched.push(id);
    }
    ar[id] = (ar[id] as number) + (requests[e] as number);
    ab[id] = (ab[id] as number) + (bytes[e] as number);
    at[id] = (at[id] as number) + (time[e] as number);
  }
}

/**
 * The `n` ids with the largest `order` value, largest first; ties broken by label (ascending).
 * A bounded min-heap: O(m log n) for m candidates, labels read only on ties.
 */
export function selectTop(
  ids: readonly number[],
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
    } else if (worse(heap[0] as number, id)) {
      heap[0] = id;
      down(0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
