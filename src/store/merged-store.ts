/**
 * The aggregator's store: one fine ring (60 one-minute buckets, top 50 000 keys each) and one
 * coarse ring (288 five-minute buckets, top 5 000 each) for a whole fleet, fed with the
 * members' (collectors' or other aggregators') completed buckets.
 *
 * - A minute is merged exactly while it is open: every key received is kept (no top-K) until
 *   every member still up has delivered that minute, or a grace time has passed, or newer
 *   minutes push it out; then it is sealed to its top keys. A member's bucket that arrives for
 *   a sealed minute (late, or history from a backfill) is merged into it and the top keys kept.
 * - Coarse buckets are folded from the sealed minutes, as in a collector; a member's own coarse
 *   buckets (backfill of the periods before its fine ring) are merged into them. Once a period
 *   has a coarse bucket, it holds every sealed minute of the period (later ones join as they seal).
 * - Each member's newest minute (its last-known contribution) is kept until it sends the next
 *   one, so `withdraw` can subtract it when the member fails: a dead member's last counts do not
 *   stay in the current view. Its older minutes are history and stay.
 * - Per member, everything received is accepted once: a bucket that starts before the end of
 *   the last one accepted from that member is a duplicate (a reconnect's backfill).
 * @module
 */
import { type Bucket, bucketColumns, ColumnPool, sealBucket } from './bucket.ts';
import { D, DIMENSIONS, FOLD_CHAIN, folded, MAX_RESIDUALS } from './dimensions.ts';
import type { Filter } from './filter.ts';
import { Interner } from './interner.ts';
import { BucketQueries, type BucketView, type TopEntry, type TopNQuery, type TrendPoint } from './query.ts';
import type { RemoteDictionary } from './remote-dictionary.ts';
import { TupleTable } from './tuple-table.ts';
import { WINDOW_SPANS, type Window } from './windows.ts';

const MINUTE = 60;
const COARSE = 300;
export const MERGED_FINE_SLOTS = 60;
export const MERGED_COARSE_SLOTS = 288;

/** One key of a member's bucket, shaped like the gRPC SnapshotEntry. */
export interface SnapshotRow {
  readonly website: string;
  readonly prefix: string;
  readonly uri: string;
  readonly status: string;
  readonly upstream: string;
  readonly method: string;
  readonly count: number;
  readonly bytes: number;
  readonly time: number;
}

export interface Totals {
  requests: number;
  bytes: number;
  time: number;
}

/** A bucket's keys in columnar form: `size` keys, six sender ids each, and their counts. */
export interface ColumnData {
  readonly size: number;
  readonly keys: Uint32Array;
  readonly requests: Float64Array;
  readonly bytes: Float64Array;
  readonly time: Float64Array;
  /** The buffers the arrays are views of, when they came from `MergedStore.columnBuffers`. */
  readonly buffers?: ColumnBuffers;
}

/** Room for the keys (D ids each) and the three counts of a columnar bucket. */
export interface ColumnBuffers {
  readonly keys: Uint32Array;
  readonly counts: Float64Array;
}

/** Keys added to or subtracted from a published minute, with labels, for subscribers. */
export interface Amendment {
  readonly start: number;
  /** 60 (a minute), or 300: lines for a five-minute bucket older than the sender's minutes. Default 60. */
  readonly span?: number;
  /** The minute's change counter after this change. */
  readonly version: number;
  /** 1: counts to add (late data); -1: counts to subtract (a member's minute withdrawn). */
  readonly sign: 1 | -1;
  readonly entries: readonly { labels: string[]; requests: number; bytes: number; time: number }[];
  readonly totals: Totals;
}

export type MergeOutcome = 'added' | 'duplicate' | 'invalid' | 'future' | 'too-old';

export interface MergedStoreOptions {
  fineKeep?: number;
  coarseKeep?: number;
  /** Minutes kept open (exact) at most; older open minutes are sealed. Default 2. */
  openMinutes?: number;
  /** How long a minute stays open waiting for members that are up, ms. Default 15 000. */
  graceMs?: number;
  /**
   * How long a sealed minute waits for members that are up but late before it is published to
   * subscribers (published once: later merges stay here), ms. Default 60 000.
   */
  settleMs?: number;
  /** Clock, ms (grace and the future guard). Default Date.now. */
  now?: () => number;
  /** Largest distinct keys of one open minute (memory bound). Default 4 000 000. */
  openCap?: number;
}

/** Keys as interned ids with their counts: a received bucket, or a member's last contribution. */
interface Batch {
  readonly start: number;
  readonly span: number;
  readonly size: number;
  readonly ids: Uint32Array;
  readonly requests: ArrayLike<number>;
  readonly bytes: ArrayLike<number>;
  readonly time: ArrayLike<number>;
  readonly totals: Totals;
  /** A minute inside a 5-minute bucket received earlier from the same member (see `add`). */
  readonly carved: boolean;
  /** The column buffers the batch lives in (from `columnBuffers`), reused once it is dropped. */
  readonly buffers?: ColumnBuffers;
}

interface Slot {
  readonly start: number;
  readonly span: number;
  /** Open (exact, every key): the table. Sealed: undefined. */
  table: TupleTable | undefined;
  /** Sealed: the top keys. */
  bucket: Bucket | undefined;
  readonly totals: Totals;
  /** When the slot was opened (ms), for the grace time. */
  readonly openedAt: number;
  /** Fine slots: already added to the coarse slot of its period. */
  inCoarse: boolean;
  /** Fine slots: when sealed (ms), and whether it was published to subscribers. */
  sealedAt: number;
  published: boolean;
  /** The store's change counter when this slot last changed. */
  version: number;
}

export class MergedStore {
  readonly interners: readonly Interner[] = DIMENSIONS.map(() => new Interner());
  readonly fineKeep: number;
  /** The most keys a received minute may have: its top `fineKeep` and its residuals. */
  readonly maxRows: number;
  readonly coarseKeep: number;
  readonly openMinutes: number;
  readonly graceMs: number;
  readonly settleMs: number;
  readonly openCap: number;
  readonly now: () => number;
  /** Sorted by start. */
  readonly #fine: Slot[] = [];
  readonly #coarse: Slot[] = [];
  readonly #finePool: ColumnPool;
  readonly #coarsePool: ColumnPool;
  readonly #tables: TupleTable[] = [];
  readonly #scratch: TupleTable;
  /** Per member: the end of the last minute accepted, and of the last 5-minute bucket (seconds). */
  readonly #covered = new Map<string, number>();
  readonly #coarseCovered = new Map<string, number>();
  /** Per member: its newest minute, as received. */
  readonly #last = new Map<string, Batch>();
  readonly #listeners = new Set<(b: Bucket) => void>();
  readonly #amendListeners = new Set<(a: Amendment) => void>();
  /** Counts every change to a fine slot (see `version`). */
  #changes = 0;
  readonly #queries: BucketQueries;
  #dropped = 0;
  readonly #residual = new Uint32Array(D);

  constructor(o: MergedStoreOptions = {}) {
    this.fineKeep = o.fineKeep ?? 50_000;
    this.maxRows = this.fineKeep + MAX_RESIDUALS;
    this.coarseKeep = o.coarseKeep ?? 5_000;
    this.openMinutes = Math.max(1, o.openMinutes ?? 2);
    this.graceMs = o.graceMs ?? 15_000;
    this.settleMs = o.settleMs ?? 60_000;
    this.openCap = o.openCap ?? 4_000_000;
    this.now = o.now ?? Date.now;
    this.#finePool = new ColumnPool(this.fineKeep);
    this.#coarsePool = new ColumnPool(this.coarseKeep);
    this.#scratch = new TupleTable(Number.MAX_SAFE_INTEGER, 4096);
    this.#queries = new BucketQueries(this.interners);
  }

  /** Called with every fine bucket as it is sealed. Returns an unsubscribe function. */
  onSeal(listener: (b: Bucket) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Called with what is added to a minute after it was published (late data), so subscribers
   * can add it too. Returns an unsubscribe function.
   */
  onAmend(listener: (a: Amendment) => void): () => void {
    this.#amendListeners.add(listener);
    return () => this.#amendListeners.delete(listener);
  }

  /** The change counter of the fine minute at `start` (0 if none): what a subscriber was sent. */
  version(start: number): number {
    return this.#find(this.#fine, start)?.version ?? 0;
  }

  /**
   * Adds a member's late addition to a minute it sent before (an amendment from a stacked
   * aggregator): merged like a late bucket, without moving the member's watermark.
   */
  amend(
    member: string,
    start: number,
    rows: readonly SnapshotRow[],
    totals: Totals,
    sign: 1 | -1 = 1,
    span = MINUTE,
  ): MergeOutcome {
    if (!Number.isSafeInteger(start) || start % span !== 0 || rows.length > this.maxRows) return 'invalid';
    if (span !== MINUTE && span !== COARSE) return 'invalid';
    if (start >= this.covered(member)) return 'invalid'; // not a minute it sent
    const newestCoarse = this.#coarse.at(-1)?.start ?? -Infinity;
    const period = Math.floor(start / COARSE) * COARSE;
    if (period <= newestCoarse - MERGED_COARSE_SLOTS * COARSE) return 'too-old';
    const batch = this.#batch(start, MINUTE, rows, totals, false);
    this.#acquire(batch.ids, batch.size);
    // A five-minute amendment (lines older than the sender's minutes) goes to the period only.
    let slot = span === MINUTE ? this.#find(this.#fine, start) : undefined;
    if (!slot && span === MINUTE && !this.#olderThanFineRing(start)) slot = this.#open(start);
    if (slot) this.#mergeFine(slot, batch, sign);
    else this.#mergeCoarse(period, batch, sign);
    this.#evict();
    // An amendment of the member's last minute is part of what a withdrawal must subtract.
    const last = this.#last.get(member);
    if (last?.start === start) this.#last.set(member, this.#combine(last, batch, sign));
    else this.#forgetBatch(batch);
    for (const it of this.interners) it.sweep();
    return 'added';
  }

  /** Keys dropped because an open minute reached `openCap`. */
  get droppedKeys(): number {
    return this.#dropped;
  }

  /** Where a reconnecting member's backfill can start: the end of the last bucket taken from it. */
  resumeFrom(member: string): number {
    return Math.max(this.covered(member), this.#coarseCovered.get(member) ?? 0);
  }

  /** The end of the last minute accepted from `member` (0: none). */
  covered(member: string): number {
    return this.#covered.get(member) ?? 0;
  }

  /**
   * Merges one completed bucket of `member`: a minute (span 60) or a 5-minute period (span 300),
   * aligned to its span. Returns what happened; only 'added' changed the store.
   */
  add(
    member: string,
    start: number,
    span: number,
    rows: Iterable<SnapshotRow>,
    totals: Totals,
  ): MergeOutcome {
    const refused = this.#refuse(member, start, span);
    if (refused) return refused;
    const list = Array.isArray(rows) ? (rows as readonly SnapshotRow[]) : [...rows];
    if (list.length > this.maxRows) return 'invalid';
    return this.#place(member, this.#batch(start, span, list, totals, this.#carved(member, start, span)));
  }

  /**
   * Like `add`, for a bucket in columnar form: keys as the sender's ids, resolved through the
   * dictionary of the member's stream (already updated with this snapshot's deltas). A key with
   * an id the sender never defined makes the bucket 'invalid'. The store takes `columns` over
   * (resolves the ids in place and may keep the arrays).
   */
  addColumns(
    member: string,
    dictionary: RemoteDictionary,
    start: number,
    span: number,
    columns: ColumnData,
    totals: Totals,
  ): MergeOutcome {
    const refused =
      this.#refuse(member, start, span) ?? (columns.size > this.maxRows ? 'invalid' : undefined);
    if (refused) {
      this.#recycle(columns.buffers);
      return refused;
    }
    let n = columns.size;
    if (
      columns.keys.length < n * D ||
      columns.requests.length < n ||
      columns.bytes.length < n ||
      columns.time.length < n
    ) {
      return 'invalid';
    }
    // The columns are the caller's to give: ids are resolved in place and the counts kept as
    // they are (a batch may stay as the member's last contribution).
    const keys = columns.keys;
    if (!dictionary.resolve(keys, n, keys)) {
      this.#recycle(columns.buffers);
      return 'invalid';
    }
    // Keys without requests (0, negative, NaN) are left out; counts that are not finite are 0.
    const { requests, bytes, time } = columns;
    let w = 0;
    for (let i = 0; i < n; i++) {
      const r = requests[i] as number;
      if (!(r > 0) || !Number.isFinite(r)) continue;
      const b = bytes[i] as number;
      const t = time[i] as number;
      if (w !== i) {
        for (let d = 0; d < D; d++) keys[w * D + d] = keys[i * D + d] as number;
        requests[w] = r;
      }
      bytes[w] = b > 0 && Number.isFinite(b) ? b : 0;
      time[w] = t > 0 && Number.isFinite(t) ? t : 0;
      w++;
    }
    n = w;
    const ids = keys.subarray(0, n * D);
    const batch: Batch = {
      start,
      span,
      size: n,
      ids,
      requests: requests.subarray(0, n),
      bytes: bytes.subarray(0, n),
      time: time.subarray(0, n),
      totals: finiteTotals(totals),
      carved: this.#carved(member, start, span),
      ...(columns.buffers ? { buffers: columns.buffers } : {}),
    };
    return this.#place(member, batch);
  }

  /** Why a bucket is not taken, or undefined when it is. */
  #refuse(member: string, start: number, span: number): MergeOutcome | undefined {
    if (
      (span !== MINUTE && span !== COARSE) ||
      !Number.isSafeInteger(start) ||
      start % span !== 0 ||
      start < 0
    ) {
      return 'invalid';
    }
    if (start > this.now() / 1000 + 600) return 'future';
    const coarseEnd = this.#coarseCovered.get(member) ?? 0;
    if (start < this.covered(member) || (span === COARSE && start < coarseEnd)) return 'duplicate';
    const newestCoarse = this.#coarse.at(-1)?.start ?? -Infinity;
    if (Math.floor(start / COARSE) * COARSE <= newestCoarse - MERGED_COARSE_SLOTS * COARSE) return 'too-old';
    return undefined;
  }

  /**
   * A member's backfill sends the 5-minute period its fine ring starts in whole, then that
   * ring's minutes: such a minute moves from the period to the minute (carved), so the minutes
   * are exact and nothing is counted twice when the period is folded.
   */
  #carved(member: string, start: number, span: number): boolean {
    return span === MINUTE && start < (this.#coarseCovered.get(member) ?? 0);
  }

  #place(member: string, batch: Batch): MergeOutcome {
    const { start, span } = batch;
    // The batch holds its ids from here on: merging may release the last other reference to one.
    this.#acquire(batch.ids, batch.size);
    const periodStart = Math.floor(start / COARSE) * COARSE;
    if (span === COARSE) {
      this.#coarseCovered.set(member, start + span);
      this.#mergeCoarse(periodStart, batch, 1);
      this.#forgetBatch(batch);
    } else {
      this.#covered.set(member, start + span);
      if (batch.carved) this.#mergeCoarse(periodStart, batch, -1);
      if (this.#olderThanFineRing(start)) {
        // Older than the fine ring: straight into its period.
        this.#mergeCoarse(periodStart, batch, 1);
      } else {
        let slot = this.#find(this.#fine, start);
        if (!slot) slot = this.#open(start);
        this.#mergeFine(slot, batch, 1);
      }
      this.#keepLast(member, batch);
      this.#evict();
    }
    for (const it of this.interners) it.sweep();
    return 'added';
  }

  /**
   * Subtracts `member`'s last-known contribution (its newest minute) from the view, and lets
   * it be delivered again. Returns the start of that minute, or undefined if there was none.
   */
  withdraw(member: string): number | undefined {
    const last = this.#last.get(member);
    if (!last) return undefined;
    this.#last.delete(member);
    const period = Math.floor(last.start / COARSE) * COARSE;
    const slot = this.#find(this.#fine, last.start);
    if (slot) this.#mergeFine(slot, last, -1);
    else this.#mergeCoarse(period, last, -1);
    // A carved minute goes back to the member's 5-minute bucket it came from.
    if (last.carved) this.#mergeCoarse(period, last, 1);
    this.#forgetBatch(last);
    this.#covered.set(member, Math.min(this.covered(member), last.start));
    for (const it of this.interners) it.sweep();
    return last.start;
  }

  /**
   * Seals the open minutes that every member in `up` has delivered, that have waited longer
   * than the grace time, or beyond the newest `openMinutes`. Returns the buckets sealed.
   */
  seal(up: readonly string[]): Bucket[] {
    const open = this.#fine.filter((s) => s.table);
    const sealed: Bucket[] = [];
    const now = this.now();
    // Sealing one minute seals every older open minute first (buckets publish in order).
    // Minutes older than the newest `openMinutes` (by the anchor, not by a fast clock) are sealed.
    const oldest = (this.#anchor() ?? -Infinity) - (this.openMinutes - 1) * MINUTE;
    let upTo = -1;
    open.forEach((s, i) => {
      const delivered = up.every((m) => this.covered(m) >= s.start + MINUTE);
      if (delivered || now - s.openedAt >= this.graceMs || s.start < oldest) upTo = i;
    });
    for (let i = 0; i <= upTo; i++) sealed.push(this.#sealFine(open[i] as Slot));
    this.#publish(up);
    if (sealed.length > 0) for (const it of this.interners) it.sweep();
    return sealed;
  }

  /** Start of the newest minute published (minutes are published once, in order). */
  #publishedUpTo = -Infinity;

  /**
   * Publishes sealed minutes to subscribers, in order, once every member that is up has
   * delivered them or `settleMs` has passed since they were sealed. A minute sealed behind one
   * already published (late history) cannot be sent in order and stays here.
   */
  #publish(up: readonly string[], force = false): void {
    const now = this.now();
    for (const s of this.#fine) {
      if (s.published || !s.bucket) {
        if (!s.published) break; // open: later minutes wait for it
        continue;
      }
      if (s.start <= this.#publishedUpTo) {
        s.published = true;
        continue;
      }
      // Never a minute that has not ended on this host's clock (a member's clock runs ahead).
      if (!force && (s.start + MINUTE) * 1000 > now) break;
      const ready =
        force || now - s.sealedAt >= this.settleMs || up.every((m) => this.covered(m) >= s.start + MINUTE);
      if (!ready) break;
      s.published = true;
      this.#publishedUpTo = s.start;
      for (const l of this.#listeners) l(s.bucket);
    }
  }

  /** The sealed bucket now held for (start, span), if any (it is rebuilt when late data joins). */
  current(start: number, span: number): Bucket | undefined {
    return this.#find(span === COARSE ? this.#coarse : this.#fine, start)?.bucket;
  }

  /**
   * The sealed buckets of both rings, oldest first. A period's coarse bucket holds every sealed
   * minute of it, so a backfill of both can be taken apart by the receiver (see `backfillOrder`).
   */
  rings(): { coarse: Bucket[]; fine: Bucket[] } {
    const sealed = (r: Slot[]) => r.flatMap((s) => (s.bucket ? [s.bucket] : []));
    // Minutes from the first one not yet published come through publishing (a receiver takes
    // minutes in order, and late data for a published minute as amendments).
    const pending = this.#fine.find((x) => !x.published)?.start ?? Infinity;
    return { coarse: sealed(this.#coarse), fine: sealed(this.#fine.filter((x) => x.start < pending)) };
  }

  /**
   * The buckets (sealed, and open minutes as views) a window covers, oldest first: the newest
   * minutes for windows up to an hour; above, the 5-minute periods and the minutes not yet in one.
   */
  buckets(window: Window): BucketView[] {
    const w = WINDOW_SPANS[window];
    const anchor = this.#anchor();
    if (anchor === undefined) return [];
    const newestCoarse = this.#coarse.at(-1);
    if (w.ring === 'fine') {
      const from = anchor + MINUTE - w.buckets * MINUTE;
      return this.#fine.filter((s) => s.start >= from && s.start <= anchor).map((s) => this.#view(s));
    }
    const end = Math.max(
      anchor + MINUTE,
      newestCoarse ? Math.min(newestCoarse.start + COARSE, anchor + MINUTE) : -Infinity,
    );
    const from = end - w.buckets * COARSE;
    const slots = [
      ...this.#coarse.filter((s) => s.start >= from && s.start < end),
      ...this.#fine.filter((s) => !s.inCoarse && s.start >= from && s.start < end),
    ].sort((a, b) => a.start - b.start || b.span - a.span);
    return slots.map((s) => this.#view(s));
  }

  /**
   * The newest minute the windows end with: the newest received, unless that is ahead of this
   * host's clock (a member with a fast clock does not hide the others' current minutes).
   */
  #anchor(): number | undefined {
    const newest = this.#fine.at(-1)?.start;
    if (newest === undefined) {
      const c = this.#coarse.at(-1);
      return c ? c.start + COARSE - MINUTE : undefined;
    }
    const wall = Math.floor(this.now() / 1000 / MINUTE) * MINUTE - MINUTE;
    if (newest <= wall) return newest;
    // Ahead of the clock: the newest minute not ahead of it, else the clock's.
    let best: number | undefined;
    for (const s of this.#fine) if (s.start <= wall) best = s.start;
    return best ?? wall;
  }

  topN(q: TopNQuery): TopEntry[] {
    return this.#queries.topN(this.buckets(q.window), q);
  }

  trend(window: Window, filter: Filter = {}): TrendPoint[] {
    return this.#queries.trend(this.buckets(window), filter);
  }

  /** Every key of a bucket with its labels. */
  entries(b: Bucket): Generator<{ labels: string[]; requests: number; bytes: number; time: number }> {
    return this.#queries.entries(b);
  }

  // --- internals -------------------------------------------------------------------------

  #lastValue: string[] = DIMENSIONS.map(() => '');
  #lastId: number[] = DIMENSIONS.map(() => 0);

  #intern(d: number, value: string): number {
    if (value === this.#lastValue[d]) return this.#lastId[d] as number;
    const id = (this.interners[d] as Interner).intern(value);
    this.#lastValue[d] = value;
    this.#lastId[d] = id;
    return id;
  }

  /** Interns a received bucket's keys (ids stay valid until the next sweep unless acquired). */
  #batch(start: number, span: number, list: readonly SnapshotRow[], totals: Totals, carved: boolean): Batch {
    const n = list.length;
    const ids = new Uint32Array(n * D);
    const requests = new Float64Array(n);
    const bytes = new Float64Array(n);
    const time = new Float64Array(n);
    let size = 0;
    // Ids from an earlier call may have been freed since: the per-dimension caches start over.
    this.#lastValue.fill('');
    this.#lastId.fill(0);
    for (let i = 0; i < n; i++) {
      const r = list[i] as SnapshotRow;
      const c = r.count;
      if (!(c > 0) || !Number.isFinite(c)) continue;
      const o = size * D;
      ids[o] = this.#intern(0, r.website);
      ids[o + 1] = this.#intern(1, r.prefix);
      ids[o + 2] = (this.interners[2] as Interner).intern(r.uri);
      ids[o + 3] = this.#intern(3, r.status);
      ids[o + 4] = this.#intern(4, r.upstream);
      ids[o + 5] = this.#intern(5, r.method);
      requests[size] = c;
      bytes[size] = Number.isFinite(r.bytes) && r.bytes > 0 ? r.bytes : 0;
      time[size] = Number.isFinite(r.time) && r.time > 0 ? r.time : 0;
      size++;
    }
    return { start, span, size, ids, requests, bytes, time, totals: finiteTotals(totals), carved };
  }

  /**
   * Keeps a member's newest minute (minutes are accepted in order, so this one is newer), with
   * the reference its ids hold since `#place`.
   */
  #keepLast(member: string, batch: Batch): void {
    const prev = this.#last.get(member);
    this.#last.set(member, batch);
    if (prev) this.#forgetBatch(prev);
  }

  /**
   * One batch of `a` and `b` (b's counts negated for sign -1), holding the references both held.
   * Negative counts are subtracted as such when the batch is withdrawn (that is, added back).
   */
  #combine(a: Batch, b: Batch, sign: 1 | -1): Batch {
    const size = a.size + b.size;
    const ids = new Uint32Array(size * D);
    ids.set(a.ids.subarray(0, a.size * D));
    ids.set(b.ids.subarray(0, b.size * D), a.size * D);
    const join = (x: ArrayLike<number>, y: ArrayLike<number>) => {
      const out = new Float64Array(size);
      for (let i = 0; i < a.size; i++) out[i] = x[i] as number;
      for (let i = 0; i < b.size; i++) out[a.size + i] = sign * (y[i] as number);
      return out;
    };
    const combined: Batch = {
      start: a.start,
      span: a.span,
      size,
      ids,
      requests: join(a.requests, b.requests),
      bytes: join(a.bytes, b.bytes),
      time: join(a.time, b.time),
      totals: {
        requests: a.totals.requests + sign * b.totals.requests,
        bytes: a.totals.bytes + sign * b.totals.bytes,
        time: a.totals.time + sign * b.totals.time,
      },
      carved: a.carved,
    };
    // The combined batch takes over both references; a's buffers can be reused.
    this.#recycle(a.buffers);
    return combined;
  }

  /** Lets a batch go: its ids' references, and its buffers for reuse. */
  #forgetBatch(b: Batch): void {
    this.#release(b.ids, b.size);
    this.#recycle(b.buffers);
  }

  #recycle(buffers: ColumnBuffers | undefined): void {
    if (buffers && (!this.#spare || this.#spare.keys.length < buffers.keys.length)) this.#spare = buffers;
  }

  #spare: ColumnBuffers | undefined;

  /**
   * Buffers to decode a columnar bucket of `n` keys into (for `addColumns`): the store reuses
   * those of the contributions it lets go of, so steady snapshots allocate nothing.
   */
  columnBuffers(n: number): ColumnBuffers {
    const spare = this.#spare;
    if (spare && spare.keys.length >= n * D) {
      this.#spare = undefined;
      return spare;
    }
    // Room for a full minute, so the buffers can serve the next one too.
    const cap = n > this.coarseKeep ? Math.max(n, this.fineKeep) : n;
    return { keys: new Uint32Array(cap * D), counts: new Float64Array(cap * 3) };
  }

  /** Acquires the ids of keys [from, to) (key-major, D ids per key). */
  #acquire(ids: Uint32Array, size: number, from = 0): void {
    for (let d = 0; d < D; d++)
      (this.interners[d] as Interner).acquireStrided(ids, from * D + d, size * D, D);
  }

  #release(ids: Uint32Array, size: number): void {
    for (let d = 0; d < D; d++) (this.interners[d] as Interner).releaseStrided(ids, d, size * D, D);
  }

  #find(ring: Slot[], start: number): Slot | undefined {
    for (let i = ring.length - 1; i >= 0; i--) {
      const s = ring[i] as Slot;
      if (s.start === start) return s;
      if (s.start < start) return undefined;
    }
    return undefined;
  }

  #insert(ring: Slot[], slot: Slot): void {
    let i = ring.length;
    while (i > 0 && (ring[i - 1] as Slot).start > slot.start) i--;
    ring.splice(i, 0, slot);
  }

  #open(start: number): Slot {
    const table = this.#tables.pop() ?? new TupleTable(this.openCap, 4096);
    const slot: Slot = {
      start,
      span: MINUTE,
      table,
      bucket: undefined,
      totals: { requests: 0, bytes: 0, time: 0 },
      openedAt: this.now(),
      inCoarse: false,
      sealedAt: 0,
      // Behind a published minute it cannot be published in order: its content goes out as
      // amendments from the first key on.
      published: start <= this.#publishedUpTo,
      version: 0,
    };
    this.#insert(this.#fine, slot);
    return slot;
  }

  /** Adds (sign 1) or subtracts (sign -1) a batch in a fine slot, and in its period if it is there. */
  #mergeFine(slot: Slot, batch: Batch, sign: 1 | -1): void {
    addTotals(slot.totals, batch.totals, sign);
    slot.version = ++this.#changes;
    // A change to a published minute goes to subscribers as an amendment: late data to add, or
    // a withdrawn member's minute to subtract.
    if (slot.published && this.#amendListeners.size > 0 && batch.size > 0) {
      const amendment: Amendment = {
        start: slot.start,
        version: slot.version,
        sign,
        entries: [...this.#queries.entries(batch)],
        totals: { ...batch.totals },
      };
      for (const l of this.#amendListeners) l(amendment);
    }
    const table = slot.table;
    if (table) {
      const before = table.size;
      for (let e = 0; e < batch.size; e++) {
        if (sign < 0) subtractAt(table, batch, e);
        else {
          const r = batch.requests[e] as number;
          const b = batch.bytes[e] as number;
          const t = batch.time[e] as number;
          if (table.add(batch.ids, e * D, r, b, t) < 0) {
            // Full: the key's counts go to its residual (sums by website and status stay exact).
            table.add(table.residualFor(batch.ids, e * D, this.#residual), 0, r, b, t);
            this.#dropped++;
          }
        }
      }
      // The keys new to the table are its last entries: they hold their ids.
      this.#acquire(table.ids, table.size, before);
    } else {
      this.#reseal(slot, batch, sign, this.fineKeep, this.#finePool);
    }
    if (slot.inCoarse) this.#mergeCoarse(Math.floor(slot.start / COARSE) * COARSE, batch, sign);
  }

  /**
   * Adds or subtracts a batch in the coarse slot of a period. A slot created here takes in every
   * sealed minute of its period at once: a period's slot always holds all of its sealed minutes.
   */
  #mergeCoarse(start: number, batch: Batch, sign: 1 | -1): void {
    let slot = this.#find(this.#coarse, start);
    if (!slot) {
      if (sign < 0) return;
      slot = {
        start,
        span: COARSE,
        table: undefined,
        bucket: undefined,
        totals: { requests: 0, bytes: 0, time: 0 },
        openedAt: this.now(),
        inCoarse: false,
        sealedAt: 0,
        published: true,
        version: 0,
      };
      this.#insert(this.#coarse, slot);
      while (this.#coarse.length > 0) {
        const oldest = this.#coarse[0] as Slot;
        const newest = this.#coarse.at(-1) as Slot;
        if (oldest.start > newest.start - MERGED_COARSE_SLOTS * COARSE) break;
        this.#coarse.shift();
        this.#drop(oldest, this.#coarsePool);
      }
      if (!this.#coarse.includes(slot)) return;
      this.#absorb(slot, this.#sealedMinutes(start));
    }
    addTotals(slot.totals, batch.totals, sign);
    this.#reseal(slot, batch, sign, this.coarseKeep, this.#coarsePool);
  }

  /** The sealed minutes of a period not yet in its coarse slot. */
  #sealedMinutes(period: number): Slot[] {
    return this.#fine.filter(
      (s) => s.bucket && !s.inCoarse && s.start >= period && s.start < period + COARSE,
    );
  }

  /** Adds sealed minutes to their period's coarse slot (one reseal). */
  #absorb(coarse: Slot, slots: Slot[]): void {
    if (slots.length === 0) return;
    const batches = slots.map((s) => bucketBatch(s.bucket as Bucket, s.totals));
    for (const b of batches) addTotals(coarse.totals, b.totals, 1);
    this.#reseal(coarse, batches, 1, this.coarseKeep, this.#coarsePool);
    for (const s of slots) s.inCoarse = true;
  }

  /** Replaces a sealed slot's bucket by the top keys of (bucket ± batches). */
  #reseal(slot: Slot, batch: Batch | readonly Batch[], sign: 1 | -1, keep: number, pool: ColumnPool): void {
    const t = this.#scratch;
    t.clear();
    const old = slot.bucket;
    if (old) {
      for (let e = 0; e < old.size; e++) {
        t.add(old.ids, e * D, old.requests[e] as number, old.bytes[e] as number, old.time[e] as number);
      }
    }
    for (const b of Array.isArray(batch) ? (batch as readonly Batch[]) : [batch as Batch]) {
      for (let e = 0; e < b.size; e++) {
        if (sign > 0) {
          t.add(b.ids, e * D, b.requests[e] as number, b.bytes[e] as number, b.time[e] as number);
        } else subtractAt(t, b, e);
      }
    }
    const bucket = sealBucket(t, slot.start, slot.span, keep, slot.totals, pool);
    this.#acquire(bucket.ids, bucket.size);
    if (old) this.#dropBucket(old, pool);
    slot.bucket = bucket;
  }

  #dropBucket(b: Bucket, pool: ColumnPool): void {
    this.#release(b.ids, b.size);
    const cols = bucketColumns.get(b);
    if (cols) pool.give(cols);
  }

  /** Releases whatever a slot holds. */
  #drop(slot: Slot, pool: ColumnPool): void {
    if (slot.bucket) this.#dropBucket(slot.bucket, pool);
    slot.bucket = undefined;
    const t = slot.table;
    if (t) this.#giveTable(t);
    slot.table = undefined;
  }

  #giveTable(t: TupleTable): void {
    this.#release(t.ids, t.size);
    t.clear();
    if (this.#tables.length < this.openMinutes + 1) this.#tables.push(t);
  }

  /** Seals an open minute: its top keys become the bucket; then its period folds if complete. */
  #sealFine(slot: Slot): Bucket {
    const t = slot.table as TupleTable;
    const bucket = sealBucket(t, slot.start, MINUTE, this.fineKeep, slot.totals, this.#finePool);
    this.#acquire(bucket.ids, bucket.size);
    this.#giveTable(t);
    slot.table = undefined;
    slot.bucket = bucket;
    // Into its period when the period has a slot, or when this is the period's last minute
    // (which creates the slot with every sealed minute of the period).
    const period = Math.floor(slot.start / COARSE) * COARSE;
    if (slot.start + MINUTE === period + COARSE || this.#find(this.#coarse, period)) this.#toCoarse(slot);
    slot.sealedAt = this.now();
    return bucket;
  }

  /** Puts a sealed minute into its period's coarse slot (created with the period's other minutes). */
  #toCoarse(slot: Slot): void {
    if (slot.inCoarse) return;
    const period = Math.floor(slot.start / COARSE) * COARSE;
    const coarse = this.#find(this.#coarse, period);
    if (coarse) this.#absorb(coarse, [slot]);
    else this.#mergeCoarse(period, emptyBatch(period), 1);
  }

  /** Whether a minute is older than the fine ring keeps (by the anchor, as eviction does). */
  #olderThanFineRing(start: number): boolean {
    const anchor = this.#anchor();
    return anchor !== undefined && start < anchor - (MERGED_FINE_SLOTS - 1) * MINUTE;
  }

  /** Keeps the fine ring to an hour: older minutes are sealed and put in their period first. */
  #evict(): void {
    const anchor = this.#anchor();
    if (anchor === undefined) return;
    const from = anchor - (MERGED_FINE_SLOTS - 1) * MINUTE;
    while (this.#fine.length > 0 && (this.#fine[0] as Slot).start < from) {
      const s = this.#fine[0] as Slot;
      if (s.table) this.#sealFine(s);
      if (!s.published) this.#publish([], true);
      // Its period holds it from now on.
      this.#toCoarse(s);
      this.#fine.shift();
      this.#drop(s, this.#finePool);
    }
  }

  #view(s: Slot): BucketView {
    if (s.bucket) return s.bucket;
    const t = s.table as TupleTable;
    return {
      start: s.start,
      span: s.span,
      size: t.size,
      ids: t.ids,
      requests: t.requests,
      bytes: t.bytes,
      time: t.time,
      totalRequests: s.totals.requests,
      totalBytes: s.totals.bytes,
      totalTime: s.totals.time,
    };
  }
}

function finiteTotals(t: Totals): Totals {
  const f = (x: number) => (Number.isFinite(x) && x > 0 ? x : 0);
  return { requests: f(t.requests), bytes: f(t.bytes), time: f(t.time) };
}

function addTotals(to: Totals, from: Totals, sign: 1 | -1): void {
  to.requests = Math.max(0, to.requests + sign * from.requests);
  to.bytes = Math.max(0, to.bytes + sign * from.bytes);
  to.time = Math.max(0, to.time + sign * from.time);
}

const subtractKey = new Uint32Array(D);

/**
 * Subtracts a batch's key from a table: from the key as far as it holds, and the rest from the
 * keys its counts may have gone to in part (a coarser key or a residual: cut at a reseal, pushed
 * out, or folded past MAX_RESIDUALS), so sums by website and status stay exact.
 */
function subtractAt(t: TupleTable, b: Batch, e: number): void {
  let r = b.requests[e] as number;
  let by = b.bytes[e] as number;
  let tm = b.time[e] as number;
  const k = subtractKey;
  if (r < 0) {
    // A negative row (a withdrawal relayed as an amendment, combined into the member's minute):
    // withdrawn, it is added back, to its key (or, in a full table, its residual).
    if (t.add(b.ids, e * D, -r, -by, -tm) < 0) t.add(t.residualFor(b.ids, e * D, k), 0, -r, -by, -tm);
    return;
  }
  // Along the keys its counts can have gone to (FOLD_CHAIN), taking what each holds.
  for (let step = 0; step < FOLD_CHAIN.length && (r > 0 || by > 0 || tm > 0); step++) {
    folded(b.ids, e * D, FOLD_CHAIN[step] as number, k);
    const x = t.find(k, 0);
    if (x < 0) continue;
    const tr = Math.min(t.requests[x] as number, r);
    const tb = Math.min(t.bytes[x] as number, by);
    const tt = Math.min(t.time[x] as number, tm);
    t.requests[x] = (t.requests[x] as number) - tr;
    t.bytes[x] = (t.bytes[x] as number) - tb;
    t.time[x] = (t.time[x] as number) - tt;
    r -= tr;
    by -= tb;
    tm -= tt;
  }
}

function bucketBatch(b: Bucket, totals: Totals): Batch {
  return {
    start: b.start,
    span: b.span,
    size: b.size,
    ids: b.ids,
    requests: b.requests,
    bytes: b.bytes,
    time: b.time,
    totals: { ...totals },
    carved: false,
  };
}

function emptyBatch(start: number): Batch {
  return {
    start,
    span: COARSE,
    size: 0,
    ids: new Uint32Array(0),
    requests: new Float64Array(0),
    bytes: new Float64Array(0),
    time: new Float64Array(0),
    totals: { requests: 0, bytes: 0, time: 0 },
    carved: false,
  };
}
