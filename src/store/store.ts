/**
 * The counting store of the collector (and, merged, of the aggregator): a live table for the
 * current minute (capped), a fine ring of 60 one-minute buckets (top 50 000 keys each), and a
 * coarse ring of 288 five-minute buckets (top 5 000 each). The clock is injected so tests can
 * drive minutes and days deterministically.
 * @module
 */
import { latin1 } from '../format/bytes.ts';
import { type Bucket, bucketColumns, ColumnPool, emptyBucket, remapBucket, sealBucket } from './bucket.ts';
import { D, DIM, DIMENSIONS, type Dimension } from './dimensions.ts';
import type { Amendment } from './merged-store.ts';

export { selectTop, type TopEntry, type TopNQuery, type TrendPoint } from './query.ts';

import type { Filter } from './filter.ts';
import { IdCache } from './id-cache.ts';
import { Interner } from './interner.ts';
import { packedIndex } from './packed.ts';
import { PrefixMasker } from './prefix.ts';
import { BucketQueries, type BucketView, type TopEntry, type TopNQuery, type TrendPoint } from './query.ts';
import { detachAll, detachBucket } from './release.ts';
import { TupleTable } from './tuple-table.ts';
import { WINDOW_SPANS, type Window } from './windows.ts';

export interface StoreOptions {
  /**
   * Distinct keys a minute's table holds (the live minute, and each minute receiving late lines);
   * past it a new key replaces the key with the fewest requests. Default 100 000.
   */
  liveCap?: number;
  /** Keys kept per fine (1-minute) bucket; default 50 000. */
  fineKeep?: number;
  /**
   * Default true: each completed five minutes are folded into a five-minute bucket, which also
   * takes late lines of its minutes. False (a worker thread's store, merged by `absorb`): a
   * five-minute bucket holds only the lines of minutes no longer in the fine ring, so each line
   * is in one bucket.
   */
  fold?: boolean;
  /** Keys kept per coarse (5-minute) bucket; default 5 000. */
  coarseKeep?: number;
  v4prefix?: number;
  v6prefix?: number;
  /** Current time in epoch seconds; default the wall clock. */
  now?: () => number;
}

export const FINE_SLOTS = 60;
export const COARSE_SLOTS = 288;
const MINUTE = 60;
const COARSE = 300;
/** A worker id not mapped to ours yet (`absorb`). */
const UNMAPPED = 0xffffffff;

/**
 * Outcome of one `add`. 'old': the line's time is before the coarse ring's 24 hours; it is in
 * the totals (`stats().tooOld`) but in no window.
 */
export type AddResult = 'counted' | 'malformed' | 'old';

/** Late lines waiting to be merged into the sealed bucket (start, span) they belong to. */
interface LateTable {
  start: number;
  span: number;
  readonly table: TupleTable;
  readonly totals: { requests: number; bytes: number; time: number };
}

/** Past buckets receiving late lines at once (a backfill in log order needs one). */
const LATE_TABLES = 4;
/** Seconds after its last ask that a TopN's kept sums are still brought up to date (`refreshKept`). */
const KEEP_WARM = 300;

/**
 * Key parts found in a line's bytes: where each text is (start, end; -1 when the format has none:
 * the fallback website, no upstream) and the numbers converted. Filled by the collector's byte extractor;
 * counted by `Store.addBytes`.
 */
export class ByteParts {
  website = -1;
  websiteEnd = -1;
  addr = 0;
  addrEnd = 0;
  uri = 0;
  uriEnd = 0;
  method = 0;
  methodEnd = 0;
  upstream = -1;
  upstreamEnd = -1;
  status = 0;
  bytes = 0;
  time = 0;
  /** The line's own time, epoch seconds; NaN when the format carries none. */
  at = Number.NaN;
  /** The fallback website (the format has no host, or it is empty/null on this line). */
  fallbackWebsite = '';
}

/** What `exportState` returns and `importState` takes. */
export interface StoreState {
  liveStart: number;
  /** Per dimension, the value of each id, packed (`packed.ts`; empty for unused ids). */
  values: Uint8Array[];
  fine: Bucket[];
  coarse: Bucket[];
  live: Bucket;
}

/**
 * A bucket of a state not read yet (a state file's, while the file is open): what it covers, and
 * `read(own)`, which reads its columns: into arrays of its own, or (`own` false) into arrays the
 * next read reuses. `importState` reads each as it takes it, into the reused arrays, so a restore
 * holds the store's copy of the counts and one bucket more, not the state's whole rings.
 */
export interface PendingBucket {
  readonly start: number;
  readonly span: number;
  readonly size: number;
  readonly totalRequests: number;
  readonly totalBytes: number;
  readonly totalTime: number;
  read(own: boolean): Bucket;
}

/** What `importState` takes: a `StoreState` whose ring buckets may be read only as they are taken. */
export interface ImportedState extends Omit<StoreState, 'fine' | 'coarse'> {
  fine: (Bucket | PendingBucket)[];
  coarse: (Bucket | PendingBucket)[];
}

export interface StoreStats {
  added: number;
  malformed: number;
  /** Keys pushed out of a full minute's table by a new key (Space-Saving); their counts stay in the totals. */
  droppedKeys: number;
  /** The Space-Saving error bound: a kept key's count is low by at most this (the rest is in its residual). */
  maxError: number;
  /** Lines older than the coarse ring (24 hours): counted in totals only. */
  tooOld: number;
  /** Lines counted into a sealed minute or five-minute bucket (by their own time). */
  late: number;
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
  readonly #folding: boolean;
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
  readonly #amendListeners = new Set<(a: Amendment) => void>();
  /** Change counter per fine minute (see `version`). */
  readonly #versions = new Map<number, number>();
  readonly #coarseVersions = new Map<number, number>();
  #changes = 0;
  /** Open late tables, most recently used last; and cleared ones for reuse. */
  readonly #late: LateTable[] = [];
  /** Starts of the buckets sealed or changed since the last `checkpointView` (fine, coarse). */
  readonly #dirtyFine = new Set<number>();
  readonly #dirtyCoarse = new Set<number>();
  readonly #spareLate: TupleTable[] = [];
  #stats = { added: 0, malformed: 0, droppedKeys: 0, tooOld: 0, late: 0, maxError: 0 };

  constructor(opts: StoreOptions = {}) {
    this.liveCap = opts.liveCap ?? 100_000;
    this.fineKeep = opts.fineKeep ?? 50_000;
    this.coarseKeep = opts.coarseKeep ?? 5_000;
    this.masker = new PrefixMasker(opts.v4prefix ?? 24, opts.v6prefix ?? 48);
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.#folding = opts.fold ?? true;
    this.#live = new TupleTable(this.liveCap, 4096);
    // Folding five minutes, or merging a minute's late table into its bucket: never full (what
    // it takes is bounded by the tables and buckets it merges).
    this.#scratch = new TupleTable(Number.MAX_SAFE_INTEGER, 4096);
    this.#finePool = new ColumnPool(this.fineKeep);
    this.#coarsePool = new ColumnPool(this.coarseKeep);
    this.#liveStart = Math.floor(this.now() / MINUTE) * MINUTE;
  }

  /** Called with every sealed fine bucket (each completed minute). Returns an unsubscribe function. */
  onSeal(listener: (bucket: Bucket) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Called with what late lines added to a bucket already sealed (a minute, or a five-minute
   * bucket older than the fine ring: `start` is then the five-minute start), once they are
   * merged into it. Returns an unsubscribe function.
   */
  onAmend(listener: (a: Amendment) => void): () => void {
    this.#amendListeners.add(listener);
    return () => this.#amendListeners.delete(listener);
  }

  /** The change counter of the bucket (start, span) (0 if none): what a subscriber was sent. */
  version(start: number, span = MINUTE): number {
    return (span === COARSE ? this.#coarseVersions : this.#versions).get(start) ?? 0;
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
   * address makes the line malformed. `at` is the line's own time (epoch seconds): a line from
   * before the current minute is counted in the sealed minute (or five-minute bucket) it
   * belongs to; NaN (the format has no time) or a time ahead counts in the current minute.
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
    at = Number.NaN,
  ): AddResult {
    // The clock is read only for a line without a time or past the current minute: a line of the
    // current minute needs no rotation, and a late one goes to its own bucket either way (the
    // collector also ticks every second).
    if (!(at < this.#liveStart + MINUTE)) this.tick();
    const statusId = this.#statusId(status);
    const prefix = this.#prefixId(addr);
    if (statusId < 0 || prefix < 0) {
      this.#stats.malformed++;
      return 'malformed';
    }
    const q = uri.indexOf('?');
    const path = q === -1 ? uri : uri.slice(0, q);
    const k = this.#key;
    k[0] = this.#cachedId(0, website);
    k[1] = prefix;
    k[2] = (this.interners[2] as Interner).intern(path);
    k[3] = statusId;
    k[4] = this.#cachedId(4, upstream);
    k[5] = this.#cachedId(5, method);
    const m = this.#measures;
    m.bytes = bytes;
    m.time = time;
    m.at = at;
    return this.#addKey(m);
  }

  /**
   * Counts one request whose key parts are ASCII texts in `b` (see {@link ByteParts}), as `add`
   * counts the same texts, without a string per line: each value is found by its bytes, and a
   * string is made only for a value not interned yet.
   */
  addBytes(b: Uint8Array, p: ByteParts): AddResult {
    if (!(p.at < this.#liveStart + MINUTE)) this.tick();
    const statusId = this.#statusId(p.status);
    const n = this.masker.v4NetworkBytes(b, p.addr, p.addrEnd);
    const prefix = n >= 0 ? this.#v4PrefixId(n) : this.#prefixIdOfBytes(b, p.addr, p.addrEnd);
    if (statusId < 0 || prefix < 0) {
      this.#stats.malformed++;
      return 'malformed';
    }
    let q = p.uri;
    while (q < p.uriEnd && b[q] !== 0x3f) q++;
    const k = this.#key;
    k[0] =
      p.website < 0
        ? this.#cachedId(0, p.fallbackWebsite)
        : this.#cachedIdBytes(0, b, p.website, p.websiteEnd);
    k[1] = prefix;
    k[2] = (this.interners[2] as Interner).internBytes(b, p.uri, q);
    k[3] = statusId;
    k[4] = p.upstream < 0 ? this.#cachedId(4, '') : this.#cachedIdBytes(4, b, p.upstream, p.upstreamEnd);
    k[5] = this.#cachedIdBytes(5, b, p.method, p.methodEnd);
    return this.#addKey(p);
  }

  /** The ids of the key counted last (website, prefix, uri, status, upstream, method). */
  get lastKey(): Uint32Array {
    return this.#key;
  }

  /** The measures and time of a line counted by `add` (passed on in an object, as `addBytes`'s). */
  readonly #measures = { bytes: 0, time: 0, at: 0 };

  /**
   * Counts the key in `#key` with its measures at its time (an object, not three arguments: a
   * fraction passed as an argument is a new heap number each line).
   */
  #addKey(m: { readonly bytes: number; readonly time: number; readonly at: number }): AddResult {
    const k = this.#key;
    const bytes = m.bytes;
    const time = m.time;
    const at = m.at;
    const b = Number.isFinite(bytes) && bytes > 0 ? bytes : 0;
    const t = Number.isFinite(time) && time > 0 ? time : 0;
    const c = this.#one;
    c[1] = b;
    c[2] = t;
    if (at < this.#liveStart) {
      c[3] = at;
      return this.#addLate(k);
    }
    this.#liveTotals.requests++;
    this.#liveTotals.bytes += b;
    this.#liveTotals.time += t;
    this.#stats.added++;
    this.#count(this.#live, k, c);
    return 'counted';
  }

  /**
   * One line's requests (1), bytes and time, then its time (for `#addLate`): passed on in an
   * array, not as arguments (a fraction passed as an argument is a new heap number each line).
   */
  readonly #one = Float64Array.of(1, 0, 0, 0);
  /** A bucket entry's requests, bytes and time, as `#one`'s. */
  readonly #entry = new Float64Array(3);

  /** Entry `e`'s requests, bytes and time, in `#entry`. */
  #entryOf(b: BucketView, e: number): Float64Array {
    const m = this.#entry;
    m[0] = b.requests[e] as number;
    m[1] = b.bytes[e] as number;
    m[2] = b.time[e] as number;
    return m;
  }

  readonly #evicted = new Uint32Array(D);
  readonly #evictedCounts = new Float64Array(3);
  readonly #residual = new Uint32Array(D);

  /**
   * Adds requests to a key of a minute's table. When the table is full, a new key takes the
   * entry of the key with the fewest requests (Space-Saving): a heavy key arriving late in a
   * flood of distinct keys is never locked out, and a key's count is low by at most the
   * smallest count in the table (`stats().maxError`). The pushed-out key's counts go to its
   * residual (`TupleTable.residualFor`): totals, and sums by website and status, stay exact.
   */
  #count(table: TupleTable, k: Uint32Array, m: Float64Array): void {
    if (this.#add(table, k, m) >= 0) return;
    this.#stats.droppedKeys++;
    const out = this.#evicted;
    const c = this.#evictedCounts;
    if (table.replaceMin(k, 0, m, out, c) < 0) {
      // Nothing to push out (a table of residuals only): the key's counts go to its residual.
      this.#add(table, table.residualFor(k, 0, this.#residual), m);
      return;
    }
    if (table.maxReplaced > this.#stats.maxError) this.#stats.maxError = table.maxReplaced;
    const it = this.interners;
    // The new key's values first: a value both keys share must not be freed in between; and the
    // residual holds the pushed-out key's values before its own ids let go.
    for (let d = 0; d < D; d++) (it[d] as Interner).acquire(k[d] as number);
    this.#add(table, table.residualFor(out, 0, this.#residual), c);
    for (let d = 0; d < D; d++) (it[d] as Interner).release(out[d] as number);
  }

  /** Adds `m` (requests, bytes, time) to a key of a table, holding its ids when it is new; the entry, or -1 when full. */
  #add(table: TupleTable, k: Uint32Array, m: Float64Array): number {
    const e = table.addFrom(k, 0, m, this.#isNew);
    if (e >= 0 && this.#isNew.v)
      for (let d = 0; d < D; d++) (this.interners[d] as Interner).acquire(k[d] as number);
    return e;
  }

  /** Counts a line from before the current minute (`#one`: its measures and time) into the late table of its bucket. */
  #addLate(k: Uint32Array): AddResult {
    const c = this.#one;
    const minute = Math.floor((c[3] as number) / MINUTE) * MINUTE;
    let start = minute;
    let span = MINUTE;
    if (minute < this.#liveStart - FINE_SLOTS * MINUTE) {
      start = Math.floor(minute / COARSE) * COARSE;
      span = COARSE;
      if (start < this.#coarseFrontier() - COARSE_SLOTS * COARSE) {
        this.#stats.tooOld++;
        return 'old';
      }
    }
    const last = this.#late.at(-1);
    let late: LateTable;
    let held = false;
    if (last !== undefined && last.start === start && last.span === span) late = last;
    else {
      // Opening a table may merge another one, which frees the ids only it held: the key's own
      // ids (looked up already) are held meanwhile, so none of them is freed and reused.
      for (let d = 0; d < D; d++) (this.interners[d] as Interner).acquire(k[d] as number);
      held = true;
      late = this.#lateTable(start, span);
    }
    late.totals.requests++;
    late.totals.bytes += c[1] as number;
    late.totals.time += c[2] as number;
    this.#stats.added++;
    this.#stats.late++;
    this.#count(late.table, k, c);
    if (held) for (let d = 0; d < D; d++) (this.interners[d] as Interner).release(k[d] as number);
    return 'counted';
  }

  /**
   * Adds the counts of another store (a worker thread's, made with `fold: false`, the same other
   * options and clock, that counted other lines) as if its lines had been counted here: each of
   * its minutes, five-minute buckets (lines of minutes no longer in its fine ring) and its
   * current minute is counted into the bucket of the same start through the late-line path
   * (versions moved, amendments sent; the current minute into the current minute, or the minute
   * it now is). A minute of its fine ring that this store has no lines of yet is taken as it was
   * sealed there, its ids mapped to ours (`#install`): the same keys a seal of its lines here
   * keeps. Its drops and errors are added to `stats()`.
   */
  absorb(
    state: StoreState,
    stats: Pick<StoreStats, 'added' | 'late' | 'malformed' | 'tooOld' | 'droppedKeys' | 'maxError'>,
  ): void {
    this.tick();
    this.flushLate();
    const short = () => new Error('absorb: packed values cut short');
    const index = state.values.map((p) => packedIndex(p, short));
    for (let d = 0; d < D; d++) (this.interners[d] as Interner).reserve((index[d]?.length ?? 1) - 1);
    // Their id → ours (UNMAPPED until first asked). A mapped id holds a reference of its own until
    // the end, so it stays valid whatever is pushed out meanwhile.
    const idMaps = index.map((at) => new Uint32Array(at.length - 1).fill(UNMAPPED));
    const idOf = (d: number, w: number): number => {
      const map = idMaps[d] as Uint32Array;
      let id = map[w] as number;
      if (id === UNMAPPED) {
        const it = this.interners[d] as Interner;
        const at = index[d] as Uint32Array;
        id = it.internBytes(state.values[d] as Uint8Array, at[w] as number, (at[w + 1] as number) - 4);
        it.acquire(id);
        map[w] = id;
      }
      return id;
    };
    // An owned state (moved from a worker thread: `ownState`) gives each bucket back once counted.
    const release = owned.has(state);
    // Each bucket is merged as soon as it is counted (no other bucket of the state has its
    // start and span): one late table at a time, not four.
    const take = (b: Bucket, start: number, span: number) => {
      const installed = span === MINUTE && this.#install(b, idOf, release);
      if (!installed) {
        this.#countBucket(b, start, span, idOf);
        this.flushLate();
      }
      // A minute installed from an owned state is kept (its columns mapped in place).
      if (release && !installed) detachBucket(b);
    };
    try {
      for (const b of state.coarse) take(b, b.start, COARSE);
      for (const b of [...state.fine, state.live]) take(b, b.start, MINUTE);
    } finally {
      if (release) detachAll(state.values);
      // The maps' own references let go of (also if a listener threw): values no bucket took are forgotten.
      for (let d = 0; d < D; d++) {
        const it = this.interners[d] as Interner;
        const map = idMaps[d] as Uint32Array;
        for (let w = 0; w < map.length; w++) if (map[w] !== UNMAPPED) it.release(map[w] as number);
      }
    }
    this.#stats.added += stats.added;
    this.#stats.late += stats.late;
    this.#stats.malformed += stats.malformed;
    this.#stats.tooOld += stats.tooOld;
    this.#stats.droppedKeys += stats.droppedKeys;
    this.#stats.maxError = Math.max(this.#stats.maxError, stats.maxError);
  }

  /**
   * Takes a sealed minute of another store (`absorb`) as it is, when this store's bucket of that
   * minute in the fine ring has no lines yet: its ids mapped to ours by `idOf`, then as
   * `#flushLate` takes a minute's late lines (folded into its five-minute bucket when the period
   * was folded; an amendment sent). False when it is not such a minute
   * (the caller counts it as late lines). An `owned` bucket (nothing else reads it) is mapped in
   * place and kept: no copy, no new memory while a worker's hour is merged.
   */
  #install(b: Bucket, idOf: (d: number, id: number) => number, owned: boolean): boolean {
    const start = b.start;
    // More keys than a late table holds, or than a minute keeps: counted, as its lines would be.
    if (
      b.size > Math.min(this.fineKeep, this.liveCap) ||
      start >= this.#liveStart ||
      start < this.#liveStart - FINE_SLOTS * MINUTE
    )
      return false;
    if (b.size === 0) return b.totalRequests === 0; // totals only: counted (no columns to take)
    const i = this.#fineIndex(start);
    const mine = this.#fine[i] as Bucket;
    if (mine.size > 0 || mine.totalRequests !== 0 || mine.totalBytes !== 0 || mine.totalTime !== 0)
      return false;
    // Each id mapped is held by its map until the end of absorb: none is freed before the bucket holds it.
    const nb = remapBucket(b, idOf, owned ? null : this.#finePool);
    this.#acquire(nb);
    this.#evict(mine, this.#finePool);
    this.#fine[i] = nb;
    this.#dirtyFine.add(start);
    this.#versions.set(start, ++this.#changes);
    const totals = { requests: nb.totalRequests, bytes: nb.totalBytes, time: nb.totalTime };
    const period = Math.floor(start / COARSE) * COARSE;
    if (this.#folding && period + COARSE <= this.#coarseFrontier()) this.#mergeCoarse(period, nb, totals);
    this.#emitAmendment(start, MINUTE, nb, totals);
    return true;
  }

  /**
   * Counts the keys of bucket `b` (its ids mapped to ours by `idOf(dimension, id)`) and its totals
   * into (start, span): the current minute, or the late table of that bucket.
   */
  #countBucket(b: BucketView, start: number, span: number, idOf: (d: number, id: number) => number): void {
    if (b.totalRequests === 0 && b.size === 0) return;
    let table = this.#live;
    let totals = this.#liveTotals;
    if (span !== MINUTE || start < this.#liveStart) {
      if (span === COARSE && start < this.#coarseFrontier() - COARSE_SLOTS * COARSE) {
        this.#stats.tooOld += b.totalRequests;
        return;
      }
      const late = this.#lateTable(start, span);
      table = late.table;
      totals = late.totals;
    }
    totals.requests += b.totalRequests;
    totals.bytes += b.totalBytes;
    totals.time += b.totalTime;
    const k = this.#key;
    for (let e = 0; e < b.size; e++) {
      for (let d = 0; d < D; d++) k[d] = idOf(d, b.ids[e * D + d] as number);
      this.#count(table, k, this.#entryOf(b, e));
    }
  }

  /** The end of the last completed five-minute period (the coarse ring ends there). */
  #coarseFrontier(): number {
    return Math.floor(this.#liveStart / COARSE) * COARSE;
  }

  #lateTable(start: number, span: number): LateTable {
    const open = this.#late;
    const last = open.at(-1);
    if (last && last.start === start && last.span === span) return last;
    for (let i = 0; i < open.length - 1; i++) {
      const l = open[i] as LateTable;
      if (l.start === start && l.span === span) {
        open.splice(i, 1);
        open.push(l);
        return l;
      }
    }
    if (open.length >= LATE_TABLES) this.#flushLate(open.shift() as LateTable);
    // Made as large as the largest late table so far: a backfill's minutes are alike in size,
    // and a table that grew as its lines came was copied and rehashed at each doubling.
    const table = this.#spareLate.pop() ?? new TupleTable(this.liveCap, this.#lateEntries);
    const l: LateTable = { start, span, table, totals: { requests: 0, bytes: 0, time: 0 } };
    open.push(l);
    return l;
  }

  /** Merges every late table into its bucket (before a query, an export, a minute's seal). */
  flushLate(): void {
    while (this.#late.length > 0) this.#flushLate(this.#late.shift() as LateTable);
  }

  /** The most entries a late table had when merged (at least 4 096): the size of a new one. */
  #lateEntries = 4096;

  #flushLate(l: LateTable): void {
    const { start, span, table, totals } = l;
    if (table.size > this.#lateEntries) this.#lateEntries = table.size;
    if (span === MINUTE && start >= this.#liveStart - FINE_SLOTS * MINUTE) {
      const i = this.#fineIndex(start);
      this.#fine[i] = this.#merged(this.#fine[i] as Bucket, table, totals, this.fineKeep, this.#finePool);
      this.#dirtyFine.add(start);
      this.#versions.set(start, ++this.#changes);
      // A completed five-minute period was folded already: its coarse bucket takes the lines too.
      const period = Math.floor(start / COARSE) * COARSE;
      if (this.#folding && period + COARSE <= this.#coarseFrontier())
        this.#mergeCoarse(period, table, totals);
      this.#emitAmendment(start, MINUTE, table, totals);
    } else {
      const period = Math.floor(start / COARSE) * COARSE;
      if (period >= this.#coarseFrontier() - COARSE_SLOTS * COARSE) {
        this.#mergeCoarse(period, table, totals);
        this.#emitAmendment(period, COARSE, table, totals);
      } else this.#stats.tooOld += totals.requests;
    }
    this.#release(table);
    table.clear();
    this.#spareLate.push(table);
  }

  #mergeCoarse(period: number, table: TupleTable | Bucket, totals: LateTable['totals']): void {
    const i = this.#coarseIndex(period);
    this.#coarse[i] = this.#merged(
      this.#coarse[i] as Bucket,
      table,
      totals,
      this.coarseKeep,
      this.#coarsePool,
    );
    this.#dirtyCoarse.add(period);
    this.#coarseVersions.set(period, ++this.#changes);
  }

  /** The bucket `b` plus the counts of a table (or a bucket), sealed anew (keeping the top `keep` keys). */
  #merged(
    b: Bucket,
    table: TupleTable | Bucket,
    totals: LateTable['totals'],
    keep: number,
    pool: ColumnPool,
  ): Bucket {
    // A bucket with no keys yet (a backfill's minutes) is sealed from the table itself.
    let t = table;
    if (b.size > 0 || !(t instanceof TupleTable)) {
      t = this.#scratch;
      t.clear();
      for (let e = 0; e < b.size; e++) {
        t.add(b.ids, e * D, b.requests[e] as number, b.bytes[e] as number, b.time[e] as number);
      }
      for (let e = 0; e < table.size; e++) {
        t.add(
          table.ids,
          e * D,
          table.requests[e] as number,
          table.bytes[e] as number,
          table.time[e] as number,
        );
      }
    }
    const sum = {
      requests: b.totalRequests + totals.requests,
      bytes: b.totalBytes + totals.bytes,
      time: b.totalTime + totals.time,
    };
    const nb = sealBucket(t, b.start, b.span, keep, sum, pool);
    this.#acquire(nb);
    this.#evict(b, pool);
    return nb;
  }

  /**
   * The index of the fine bucket for `start` (within the fine ring's hour), creating empty
   * minutes before the ring's first (or up to the current minute when the ring is empty) so the
   * ring stays contiguous.
   */
  #fineIndex(start: number): number {
    const ring = this.#fine;
    const first = ring[0]?.start ?? this.#liveStart;
    if (start < first) {
      const add: Bucket[] = [];
      for (let s = start; s < first; s += MINUTE) add.push(emptyBucket(s, MINUTE));
      ring.unshift(...add);
    }
    // The ring ends at the minute before the live one (tick and importState keep it so).
    return (start - (ring[0] as Bucket).start) / MINUTE;
  }

  /** As `#fineIndex`, for a completed five-minute period within the coarse ring's day. */
  #coarseIndex(period: number): number {
    const ring = this.#coarse;
    const first = ring[0]?.start ?? this.#coarseFrontier();
    if (period < first) {
      const add: Bucket[] = [];
      for (let s = period; s < first; s += COARSE) add.push(emptyBucket(s, COARSE));
      ring.unshift(...add);
    }
    // A store that does not fold (`fold: false`) grows its ring here only: up to the period too.
    if (!this.#folding) {
      for (let s = (ring.at(-1)?.start ?? period - COARSE) + COARSE; s <= period; s += COARSE)
        ring.push(emptyBucket(s, COARSE));
    }
    return (period - (ring[0] as Bucket).start) / COARSE;
  }

  #emitAmendment(start: number, span: number, table: TupleTable | Bucket, totals: LateTable['totals']): void {
    if (this.#amendListeners.size === 0) return;
    // At most the fine ring's keep, as a sealed minute (the receiver refuses more): a bucket is one.
    const top = table instanceof TupleTable ? sealBucket(table, start, MINUTE, this.fineKeep, totals) : table;
    const entries = [...this.#queries.entries(top)];
    const a: Amendment = {
      start,
      span,
      version: this.version(start, span),
      sign: 1,
      entries,
      totals: { ...totals },
    };
    for (const l of this.#amendListeners) l(a);
  }

  /**
   * The last id per dimension (and the string it was found by, when it was): consecutive lines
   * often share website and method. Valid while no id of the dimension was freed (a flush or an
   * eviction mid-minute may).
   */
  readonly #lastValue: (string | undefined)[] = DIMENSIONS.map(() => undefined);
  readonly #lastId: number[] = DIMENSIONS.map(() => 0);
  readonly #lastDrops: number[] = DIMENSIONS.map(() => -1);

  #cachedId(d: number, value: string): number {
    const it = this.interners[d] as Interner;
    if (value === this.#lastValue[d] && it.drops === this.#lastDrops[d]) return this.#lastId[d] as number;
    const id = it.intern(value);
    this.#lastValue[d] = value;
    this.#lastId[d] = id;
    this.#lastDrops[d] = it.drops;
    return id;
  }

  /** As `#cachedId`, for the text `b[s, e)` (compared with the last id's bytes in place). */
  #cachedIdBytes(d: number, b: Uint8Array, s: number, e: number): number {
    const it = this.interners[d] as Interner;
    const last = this.#lastId[d] as number;
    if (it.drops === this.#lastDrops[d] && it.equalsBytes(last, b, s, e)) return last;
    const id = it.internBytes(b, s, e);
    this.#lastValue[d] = undefined;
    this.#lastId[d] = id;
    this.#lastDrops[d] = it.drops;
    return id;
  }

  /** Drops every per-value cache: ids may have been freed. */
  #forgetCaches(): void {
    this.#lastValue.fill(undefined);
    this.#lastId.fill(0);
    this.#lastAddr = undefined;
    this.#lastPrefixId = -1;
    this.#v4Ids.clear();
    this.#v6Ids.clear();
  }

  /** The last address seen and its prefix id (undefined: none, so no input can match it). */
  #lastAddr: string | undefined = undefined;
  #lastPrefixId = -1;
  /** Masked IPv4 network → prefix id. */
  readonly #v4Ids = new IdCache(17);
  /** Masked IPv6 network → prefix id (parsing and printing IPv6 costs more than a lookup). */
  readonly #v6Ids = new IdCache(12);

  /** The prefix interner's `drops` when the prefix caches were filled. */
  #prefixDrops = 0;

  #prefixId(addr: string): number {
    const interner = this.#prefixInterner();
    if (addr === this.#lastAddr) return this.#lastPrefixId;
    let id: number;
    const n = this.masker.v4Network(addr);
    if (n >= 0) {
      id = this.#v4PrefixId(n);
    } else if (n === -2) {
      id = -1;
    } else {
      // IPv6: key the cache by the masked network (a number) when it fits, else by the address.
      // Only a parsed, masked network (a number) is a cache key: never the attacker's text.
      const net = this.masker.v6Network(addr);
      id = net >= 0 ? this.#v6Ids.get(net) : -1;
      if (id < 0) {
        const label = this.masker.label(addr);
        id = label === undefined ? -1 : interner.intern(label);
        if (net >= 0 && id >= 0) this.#v6Ids.set(net, id);
      }
    }
    this.#lastAddr = addr;
    this.#lastPrefixId = id;
    return id;
  }

  /** The prefix interner, with the prefix caches emptied if a prefix id was freed since they were filled. */
  #prefixInterner(): Interner {
    const interner = this.interners[DIM.prefix] as Interner;
    if (interner.drops !== this.#prefixDrops) {
      // A prefix id was freed (a flush or an eviction mid-minute): cached ids may be reused.
      this.#prefixDrops = interner.drops;
      this.#lastAddr = undefined;
      this.#v4Ids.clear();
      this.#v6Ids.clear();
    }
    return interner;
  }

  /**
   * As `#prefixId` for an address in ASCII bytes that is not dotted-quad IPv4: an IPv6 network
   * seen before is found without a string.
   */
  #prefixIdOfBytes(b: Uint8Array, s: number, e: number): number {
    this.#prefixInterner(); // empties the caches if a prefix id was freed
    const net = this.masker.v6NetworkBytes(b, s, e);
    const id = net >= 0 ? this.#v6Ids.get(net) : -1;
    return id >= 0 ? id : this.#prefixId(latin1(b, s, e));
  }

  /** The prefix id of a masked IPv4 network. */
  #v4PrefixId(n: number): number {
    const interner = this.#prefixInterner();
    let id = this.#v4Ids.get(n);
    if (id < 0) {
      id = interner.intern(this.masker.v4Label(n));
      this.#v4Ids.set(n, id);
    }
    return id;
  }

  /** Rotates the live minute (and the rings) up to the clock. Called by `add` and by a timer. */
  tick(): void {
    const now = this.now();
    if (now < this.#liveStart + MINUTE) return;
    const target = Math.floor(now / MINUTE) * MINUTE;
    this.flushLate();
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

  // A loop per dimension over its ids (not entries × dimensions): called a few times a minute,
  // these run on-stack-replaced code, which an inner loop's every exit would throw away.
  #acquire(b: Bucket): void {
    for (let d = 0; d < D; d++) (this.interners[d] as Interner).acquireStrided(b.ids, d, b.size * D, D);
  }

  #evict(b: Bucket, pool: ColumnPool): void {
    this.#release(b);
    const cols = bucketColumns.get(b);
    if (cols) pool.give(cols);
  }

  /** Lets go of the ids of a bucket's or a table's keys. */
  #release(b: { readonly ids: Uint32Array; readonly size: number }): void {
    for (let d = 0; d < D; d++) (this.interners[d] as Interner).releaseStrided(b.ids, d, b.size * D, D);
  }

  #pushFine(bucket: Bucket): void {
    this.#fine.push(bucket);
    this.#dirtyFine.add(bucket.start);
    this.#versions.set(bucket.start, ++this.#changes);
    if (this.#fine.length > FINE_SLOTS) {
      const old = this.#fine.shift() as Bucket;
      this.#versions.delete(old.start);
      // Not folded: its lines go to its five-minute bucket now.
      if (!this.#folding)
        this.#countBucket(old, Math.floor(old.start / COARSE) * COARSE, COARSE, (_, id) => id);
      this.#evict(old, this.#finePool);
    }
    for (const l of this.#listeners) l(bucket);
    if (this.#folding && (bucket.start + MINUTE) % COARSE === 0) {
      const start = bucket.start + MINUTE - COARSE;
      this.#fold(start);
    }
  }

  /** The sealed bucket held for (start, span), if any (an evicted bucket's memory is reused). */
  current(start: number, span: number): Bucket | undefined {
    const ring = span === COARSE ? this.#coarse : this.#fine;
    for (let i = ring.length - 1; i >= 0; i--) {
      const b = ring[i] as Bucket;
      if (b.start === start) return b;
      if (b.start < start) return undefined;
    }
    return undefined;
  }

  /** The sealed buckets of both rings (for backfilling a subscriber): coarse first, then fine. */
  rings(): { coarse: Bucket[]; fine: Bucket[] } {
    this.flushLate();
    return { coarse: [...this.#coarse], fine: [...this.#fine] };
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
    this.#dirtyCoarse.add(start);
    this.#coarseVersions.set(start, ++this.#changes);
    if (this.#coarse.length > COARSE_SLOTS) {
      const old = this.#coarse.shift() as Bucket;
      this.#coarseVersions.delete(old.start);
      this.#evict(old, this.#coarsePool);
    }
  }

  /** The buckets a window covers, oldest first. The live minute is not included. */
  buckets(window: Window): Bucket[] {
    this.flushLate();
    const span = WINDOW_SPANS[window];
    if (span.ring === 'fine') return this.#fine.slice(-span.buckets);
    const coarse = this.#coarse.slice(-span.buckets);
    const last = coarse.at(-1);
    const after = last ? last.start + COARSE : -Infinity;
    return [...coarse, ...this.#fine.filter((b) => b.start >= after)];
  }

  /** The live minute as a bucket-like view (not sealed, not truncated). */
  #liveView(): BucketView {
    const l = this.#live;
    return {
      start: this.#liveStart,
      span: MINUTE,
      size: l.size,
      ids: l.ids,
      requests: l.requests,
      bytes: l.bytes,
      time: l.time,
      totalRequests: this.#liveTotals.requests,
      totalBytes: this.#liveTotals.bytes,
      totalTime: this.#liveTotals.time,
    };
  }

  /** The window's completed buckets and the current minute so far. */
  #windowViews(window: Window): BucketView[] {
    return [...this.buckets(window), this.#liveView()];
  }

  readonly #queries = new BucketQueries(this.interners);

  /**
   * Top `n` values of `groupBy` over `window` (its completed buckets plus the current minute so
   * far), under `filter`, ranked by `orderBy` (requests by default; ties by label).
   */
  topN(q: TopNQuery): TopEntry[] {
    this.tick();
    this.flushLate();
    // The sealed buckets apart from the live minute: an unfiltered query keeps their sums.
    const top = this.#queries.topN(this.buckets(q.window), q, this.#liveView());
    if (this.#queries.keptAnswer)
      this.#keptQuery = {
        q: { groupBy: q.groupBy, window: q.window, n: q.n },
        at: this.now(),
        changes: this.#changes,
        minute: this.#liveStart,
      };
    return top;
  }

  /** Sealed buckets summed into a TopN's kept sums so far (for tests and diagnostics). */
  get keptSummed(): number {
    return this.#queries.keptSummed;
  }

  /**
   * The last TopN answered from kept sums, when, the buckets' version it saw and the live minute
   * then (`refreshKept`).
   */
  #keptQuery: { q: TopNQuery; at: number; changes: number; minute: number } | null = null;

  /**
   * Brings the kept sums of the last TopN answered from them (an unfiltered TopN by requests of
   * URIs or clients: see `BucketQueries`) up to date once a minute was sealed since and buckets
   * changed, if it was asked within the last five minutes. A seal makes the window's sums summed
   * anew (50-130 ms at the caps): done here, by the collector's timer after `tick`, the next such
   * query (a dashboard's) reads only the live minute. At most once a minute: late lines amending
   * sealed buckets every second (a lagging source) are left to the next query, as before. If the
   * query throws, it is not tried again until asked again (and the error is thrown on).
   */
  refreshKept(): void {
    const k = this.#keptQuery;
    if (k === null) return;
    if (this.now() - k.at > KEEP_WARM) {
      this.#keptQuery = null;
      return;
    }
    if (k.minute === this.#liveStart) return;
    this.flushLate();
    k.minute = this.#liveStart;
    if (k.changes === this.#changes) return;
    k.changes = this.#changes;
    try {
      this.#queries.topN(this.buckets(k.q.window), k.q, this.#liveView());
    } catch (e) {
      this.#keptQuery = null;
      throw e;
    }
  }

  /** One point per bucket of `window` (the last point is the current minute so far). */
  trend(window: Window, filter: Filter = {}): TrendPoint[] {
    this.tick();
    this.flushLate();
    return this.#queries.trend(this.#windowViews(window), filter);
  }

  /**
   * What changed since the last call, for an incremental checkpoint: the sealed buckets sealed or
   * changed since (as held now), and the live minute. Late lines are merged first.
   */
  checkpointView(): { liveStart: number; live: Bucket; fine: Bucket[]; coarse: Bucket[] } {
    this.flushLate();
    const pick = (dirty: Set<number>, span: number) => {
      const out: Bucket[] = [];
      for (const start of [...dirty].sort((a, b) => a - b)) {
        const b = this.current(start, span);
        if (b) out.push(b);
      }
      dirty.clear();
      return out;
    };
    return {
      liveStart: this.#liveStart,
      live: {
        ...this.#liveView(),
        requests: Uint32Array.from(this.#live.requests.subarray(0, this.#live.size)),
      },
      fine: pick(this.#dirtyFine, MINUTE),
      coarse: pick(this.#dirtyCoarse, COARSE),
    };
  }

  /** Forgets what changed (after a full snapshot). */
  clearChanges(): void {
    this.#dirtyFine.clear();
    this.#dirtyCoarse.clear();
  }

  /**
   * Everything the store holds, for a worker thread's hand-over and tests: the values of each
   * dimension packed by id (`Interner.pack`), the sealed buckets of both rings, and the live minute.
   */
  exportState(): StoreState {
    return { ...this.exportBuckets(), values: this.interners.map((it) => it.pack()) };
  }

  /**
   * The buckets of `exportState`, late lines merged first; their ids are the interners' until
   * the store next counts (a state file writes the values itself, `Interner.packTo`).
   */
  exportBuckets(): Omit<StoreState, 'values'> {
    this.flushLate();
    return {
      liveStart: this.#liveStart,
      fine: [...this.#fine],
      coarse: [...this.#coarse],
      live: {
        ...this.#liveView(),
        requests: Uint32Array.from(this.#live.requests.subarray(0, this.#live.size)),
      },
    };
  }

  /**
   * Loads a state from `exportState`, `readState` or `openState` into this (empty) store; later
   * minutes catch up on tick. The state's values and rings are emptied (let go of as they are
   * taken). A pending bucket (`openState`'s) is read as it is taken, into arrays the next one
   * reuses, and copied. A state read from a file (`ownState`: nothing else holds its arrays) has
   * the memory of each array given back as soon as it is taken, not at a later garbage
   * collection: a restore at full caps then holds about one copy of the counts, not two.
   */
  importState(state: ImportedState): void {
    const release = owned.has(state);
    if (this.#fine.length > 0 || this.#coarse.length > 0 || this.#live.size > 0) {
      throw new Error('importState: the store is not empty');
    }
    const maps = state.values.map((p, d) => {
      const it = this.interners[d] as Interner;
      const at = packedIndex(p, () => new Error('importState: packed values cut short'));
      const n = at.length - 1;
      it.reserve(n);
      const m = new Uint32Array(n);
      for (let id = 0; id < n; id++) {
        const s = at[id] as number;
        const e = (at[id + 1] as number) - 4;
        m[id] = s === e ? 0 : it.internBytes(p, s, e);
      }
      return m;
    });
    const idOf = (d: number, id: number): number => (maps[d] as Uint32Array)[id] ?? 0;
    // The values may be parts of one buffer (a state file's): each buffer is given back whole.
    if (release) detachAll(state.values);
    state.values = [];
    // Rings are contiguous: buckets in order, one per start, gaps filled with empty buckets.
    // A ring ends where the live minute's state had it end (the minute before; the five minutes
    // before its period).
    type Taken = Bucket | PendingBucket;
    const ring = (list: readonly Taken[], span: number, slots: number): Taken[] => {
      const end = Math.floor(state.liveStart / span) * span;
      const byStart = new Map<number, Taken>();
      for (const b of list)
        if (b.span === span && b.start % span === 0 && b.start < end) byStart.set(b.start, b);
      const starts = [...byStart.keys()].sort((a, b) => a - b);
      const first = starts[0];
      if (first === undefined) return [];
      const last = end - span;
      const out: Taken[] = [];
      for (let s = Math.max(first, last - (slots - 1) * span); s <= last; s += span)
        out.push(byStart.get(s) ?? emptyBucket(s, span));
      return out;
    };
    // The state's buckets are let go of as they are taken (a restore at full caps holds the
    // state's copy and the store's at once only bucket by bucket).
    const fine: (Taken | undefined)[] = ring(state.fine, MINUTE, FINE_SLOTS);
    const coarse: (Taken | undefined)[] = ring(state.coarse, COARSE, COARSE_SLOTS);
    state.fine = [];
    state.coarse = [];
    for (const [list, ring, pool] of [
      [fine, this.#fine, this.#finePool],
      [coarse, this.#coarse, this.#coarsePool],
    ] as const) {
      for (let i = 0; i < list.length; i++) {
        const taken = list[i] as Taken;
        list[i] = undefined;
        // A pending bucket is read now, into arrays the next one reuses (copied by the remap).
        const pending = 'read' in taken;
        const b = pending ? taken.read(false) : taken;
        const nb = b.size === 0 ? b : remapBucket(b, idOf, pool);
        if (release && !pending && nb !== b) detachBucket(b);
        this.#acquire(nb);
        ring.push(nb);
      }
    }
    const live = state.live;
    const k = new Uint32Array(D);
    for (let e = 0; e < live.size; e++) {
      for (let d = 0; d < D; d++) k[d] = idOf(d, live.ids[e * D + d] as number);
      this.#count(this.#live, k, this.#entryOf(live, e));
    }
    this.#liveTotals = { requests: live.totalRequests, bytes: live.totalBytes, time: live.totalTime };
    if (release && live.size > 0) detachBucket(live);
    this.#liveStart = state.liveStart;
    for (const it of this.interners) it.sweep();
    this.#forgetCaches();
    this.tick();
  }

  /** Every key of a bucket with its labels (for snapshots to an aggregator). */
  entries(b: Bucket): Generator<{ labels: string[]; requests: number; bytes: number; time: number }> {
    return this.#queries.entries(b);
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

/** States whose arrays nothing else holds (`ownState`). */
const owned = new WeakSet<ImportedState>();

/**
 * Marks a state as its arrays' only holder (`readState` and `openState` do: arrays read from the
 * file, the values parts of one buffer), so `importState` gives their memory back as it takes them.
 */
export function ownState<S extends ImportedState>(state: S): S {
  owned.add(state);
  return state;
}
