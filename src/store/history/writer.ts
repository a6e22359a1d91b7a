/**
 * Feeds a history sink from a store: every sealed minute (seq 0) and every later change to it
 * (seq 1, 2, …), queued in memory and written in batches (every `flushMs`, or sooner once
 * `batchRows` keys wait), retried with exponential backoff when the sink fails. Ingest never
 * waits for the sink: sealing only converts the minute's kept keys to labels and queues them.
 * With `queueDir`, minutes go to disk while the sink fails (and what is left at shutdown), so
 * a sink that is down across a restart loses nothing; they are written, oldest first, once it is
 * back (also after a restart). Beyond `maxQueuedRows` in memory the oldest minutes move to disk
 * (or, without a disk queue, are dropped), beyond `maxQueueBytes` on disk the oldest are dropped;
 * either is counted and reported.
 * Also answers the long-range queries (after writing what is queued, so an answer includes
 * every sealed minute) and expires data past the retention.
 * @module
 */
import type { Bucket } from '../bucket.ts';
import type { TopEntry, TrendPoint } from '../query.ts';
import { DiskQueue } from './disk-queue.ts';
import type { HistoryEntry, HistorySink, HistoryTopNQuery, HistoryTrendQuery, MinuteWrite } from './sink.ts';

/** A late change to a sealed minute (the MergedStore's amendments have this shape). */
export interface MinuteAmendment {
  readonly start: number;
  readonly sign: 1 | -1;
  readonly entries: readonly HistoryEntry[];
  readonly totals: { readonly requests: number; readonly bytes: number; readonly time: number };
}

/** What a writer follows: a collector's Store or an aggregator's MergedStore. */
export interface HistorySource {
  onSeal(listener: (b: Bucket) => void): () => void;
  onAmend?(listener: (a: MinuteAmendment) => void): () => void;
  entries(b: Bucket): Iterable<HistoryEntry>;
}

export interface HistoryWriterOptions {
  source: string;
  /** Seconds of history kept (older minutes deleted); default 30 days. */
  retentionSeconds?: number;
  flushMs?: number;
  batchRows?: number;
  maxQueuedRows?: number;
  /** Directory of the disk queue (none: memory only). */
  queueDir?: string;
  /** Bytes the disk queue may hold; default 1 GiB. */
  maxQueueBytes?: number;
  /** Backoff after a failed write: first delay and cap, ms. */
  backoff?: { initialMs: number; maxMs: number };
  log: (line: string) => void;
  /** Epoch seconds. */
  now?: () => number;
}

export interface HistoryStats {
  readonly sink: string;
  readonly queuedMinutes: number;
  /** Start of the oldest queued minute, epoch seconds; 0 when the queue is empty. */
  readonly oldestQueued: number;
  readonly writtenMinutes: number;
  readonly writtenRows: number;
  readonly writeErrors: number;
  readonly droppedMinutes: number;
  readonly lastError: string;
}

export class HistoryWriter {
  readonly sink: HistorySink;
  readonly retentionSeconds: number;
  readonly #o: HistoryWriterOptions;
  readonly #now: () => number;
  #queue: MinuteWrite[] = [];
  #queuedRows = 0;
  /** Last seq queued per minute. */
  readonly #seq = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #expireTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #delay: number;
  #retryAt = 0;
  #unsubscribe: (() => void)[] = [];
  #closed = false;
  readonly #disk: DiskQueue | undefined;
  #stats = { writtenMinutes: 0, writtenRows: 0, writeErrors: 0, droppedMinutes: 0, lastError: '' };

  constructor(sink: HistorySink, o: HistoryWriterOptions) {
    this.sink = sink;
    this.#o = o;
    this.#now = o.now ?? (() => Date.now() / 1000);
    this.retentionSeconds = o.retentionSeconds ?? 30 * 86_400;
    this.#delay = o.backoff?.initialMs ?? 1000;
    this.#disk = o.queueDir
      ? new DiskQueue(o.queueDir, o.maxQueueBytes ?? 1024 ** 3, (minute, why) => this.#dropped(minute, why))
      : undefined;
    if (this.#disk && this.#disk.count > 0) {
      o.log(
        `history ${sink.description}: ${this.#disk.count} minute write(s) queued in ${this.#disk.dir} since ${iso(this.#disk.oldest)}; writing them`,
      );
      this.#schedule(0);
    }
  }

  #dropped(minute: number, why: string): void {
    this.#stats.droppedMinutes++;
    if (this.#stats.droppedMinutes === 1 || this.#stats.droppedMinutes % 100 === 0)
      this.#o.log(
        `history ${this.sink.description}: dropped the minute ${iso(minute)}: ${why} (${this.#stats.droppedMinutes} dropped so far)`,
      );
  }

  /** Follows a store's seals (and amendments, if it has them); expires old data now and hourly. */
  follow(store: HistorySource): void {
    this.#unsubscribe.push(store.onSeal((b) => this.#sealed(store, b)));
    if (store.onAmend) this.#unsubscribe.push(store.onAmend((a) => this.amended(a)));
    this.#expire();
    this.#expireTimer = setInterval(() => this.#expire(), 3600_000);
    this.#expireTimer.unref();
  }

  #sealed(store: HistorySource, b: Bucket): void {
    if (b.span !== 60) return;
    if (b.totalRequests === 0 && b.size === 0) return;
    // Labels now: the bucket's ids may be reused once it leaves the ring.
    this.#enqueue(
      b.start,
      [...store.entries(b)],
      { requests: b.totalRequests, bytes: b.totalBytes, time: b.totalTime },
      true,
    );
  }

  /** A change to a minute sealed before: written as delta rows (negative for a subtraction). */
  amended(a: MinuteAmendment): void {
    const s = a.sign;
    const entries =
      s === 1
        ? a.entries
        : a.entries.map((e) => ({ labels: e.labels, requests: -e.requests, bytes: -e.bytes, time: -e.time }));
    this.#enqueue(
      a.start,
      entries,
      { requests: s * a.totals.requests, bytes: s * a.totals.bytes, time: s * a.totals.time },
      false,
    );
  }

  /**
   * Queues a write. The sealed minute is seq 0; a change to it gets the milliseconds since the
   * minute began (strictly increasing per minute), so seqs stay unique across restarts too.
   */
  #enqueue(
    minute: number,
    entries: readonly HistoryEntry[],
    totals: MinuteWrite['totals'],
    seal: boolean,
  ): void {
    if (this.#closed) return;
    const last = this.#seq.get(minute) ?? 0;
    const seq = seal ? 0 : Math.max(last + 1, Math.round(Date.now() - minute * 1000));
    this.#seq.set(minute, Math.max(seq, last));
    // Sequence numbers of minutes past the rings' day are no longer needed.
    if (this.#seq.size > 2000) {
      const horizon = minute - 2 * 86_400;
      for (const m of this.#seq.keys()) if (m < horizon) this.#seq.delete(m);
    }
    const w: MinuteWrite = {
      source: this.#o.source,
      minute,
      seq,
      ...(seal ? { at: Math.round(Date.now() - minute * 1000) } : {}),
      entries,
      totals,
    };
    // While the sink fails, or older minutes wait on disk: to disk (written in order later).
    if (this.#disk && (this.#stats.lastError !== '' || this.#disk.count > 0)) {
      this.#disk.push(w);
      this.#schedule(this.#o.flushMs ?? 10_000);
      return;
    }
    this.#queue.push(w);
    this.#queuedRows += entries.length + 1;
    const max = this.#o.maxQueuedRows ?? 5_000_000;
    while (this.#queuedRows > max && this.#queue.length > 1) {
      const old = this.#queue.shift() as MinuteWrite;
      this.#queuedRows -= old.entries.length + 1;
      if (this.#disk) this.#disk.push(old);
      else this.#dropped(old.minute, `the queue is full (${max} rows)`);
    }
    if (this.#queuedRows >= (this.#o.batchRows ?? 200_000)) void this.flush().catch(() => undefined);
    else this.#schedule(this.#o.flushMs ?? 10_000);
  }

  #schedule(ms: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush().catch(() => undefined);
    }, ms);
    this.#timer.unref();
  }

  #pending(): boolean {
    return this.#queue.length > 0 || (this.#disk?.count ?? 0) > 0;
  }

  /**
   * Writes everything queued, in memory then on disk (one write at a time); rejects if the sink
   * fails (nothing is lost: the writes stay queued, on disk if there is a disk queue).
   */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing.then(() => (this.#pending() ? this.flush() : undefined));
    if (!this.#pending()) return Promise.resolve();
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    if (this.#queue.length > 0) {
      const batch = this.#queue;
      const rows = this.#queuedRows;
      this.#queue = [];
      this.#queuedRows = 0;
      try {
        await this.sink.write(batch);
      } catch (e) {
        if (this.#disk) for (const w of batch) this.#disk.push(w);
        else {
          // Back in front of what was queued meanwhile, in order.
          this.#queue = [...batch, ...this.#queue];
          this.#queuedRows += rows;
        }
        throw this.#failed(e);
      }
      this.#written(batch.length, rows);
    }
    const disk = this.#disk;
    while (disk && disk.count > 0) {
      const { names, writes } = disk.take(this.#o.batchRows ?? 200_000);
      if (writes.length === 0) continue;
      try {
        await this.sink.write(writes);
      } catch (e) {
        throw this.#failed(e);
      }
      disk.remove(names);
      this.#written(
        writes.length,
        writes.reduce((n, w) => n + w.entries.length + 1, 0),
      );
    }
  }

  #written(minutes: number, rows: number): void {
    this.#stats.writtenMinutes += minutes;
    this.#stats.writtenRows += rows - minutes;
    this.#delay = this.#o.backoff?.initialMs ?? 1000;
    if (this.#stats.lastError !== '') {
      this.#o.log(`history ${this.sink.description}: writing again`);
      this.#stats.lastError = '';
    }
  }

  /** Counts a failed write and plans its retry after the backoff. */
  #failed(e: unknown): unknown {
    this.#stats.writeErrors++;
    const msg = (e as Error).message;
    if (msg !== this.#stats.lastError)
      this.#o.log(
        `history ${this.sink.description}: write failed (${msg}); ${this.stats().queuedMinutes} minute write(s) queued${this.#disk ? ` (on disk in ${this.#disk.dir})` : ''}, retrying in ${this.#delay} ms`,
      );
    this.#stats.lastError = msg;
    this.#retryAt = Date.now() + this.#delay;
    // The retry replaces a flush planned for later.
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#schedule(this.#delay);
    this.#delay = Math.min(this.#delay * 2, this.#o.backoff?.maxMs ?? 60_000);
    return e;
  }

  /** Writes what is queued unless the sink is failing (then the answer may lack those minutes). */
  async #settle(): Promise<void> {
    if (Date.now() < this.#retryAt) return;
    await this.flush().catch(() => undefined);
  }

  async topN(q: HistoryTopNQuery): Promise<TopEntry[]> {
    await this.#settle();
    return this.sink.topN(q);
  }

  /** Every bucket of the range, oldest first, with zeros where the sink holds nothing. */
  async trend(q: HistoryTrendQuery): Promise<TrendPoint[]> {
    await this.#settle();
    const held = new Map((await this.sink.trend(q)).map((p) => [p.start, p]));
    const out: TrendPoint[] = [];
    for (let s = Math.floor(q.range.from / q.span) * q.span; s < q.range.to; s += q.span) {
      out.push(held.get(s) ?? { start: s, span: q.span, requests: 0, bytes: 0, time: 0 });
    }
    return out;
  }

  #expire(): void {
    const before = Math.floor((this.#now() - this.retentionSeconds) / 60) * 60;
    this.sink.expire(before).catch((e: unknown) => {
      this.#o.log(
        `history ${this.sink.description}: cannot expire data before ${iso(before)}: ${(e as Error).message}`,
      );
    });
  }

  /** The clock long windows end at (the store's, epoch seconds). */
  now(): number {
    return this.#now();
  }

  stats(): HistoryStats {
    const oldest = [this.#queue[0]?.minute, this.#disk?.count ? this.#disk.oldest : undefined].filter(
      (m): m is number => m !== undefined,
    );
    return {
      sink: this.sink.description,
      queuedMinutes: this.#queue.length + (this.#disk?.count ?? 0),
      oldestQueued: oldest.length > 0 ? Math.min(...oldest) : 0,
      ...this.#stats,
    };
  }

  /** Stops following, writes what is queued (one last attempt), closes the sink. */
  async close(): Promise<void> {
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#expireTimer) clearInterval(this.#expireTimer);
    this.#closed = true;
    try {
      await this.#flushing?.catch(() => undefined);
      await this.flush();
    } catch (e) {
      this.#o.log(
        this.#disk
          ? `history ${this.sink.description}: ${this.#disk.count} minute write(s) left in ${this.#disk.dir} at shutdown (written at the next start): ${(e as Error).message}`
          : `history ${this.sink.description}: ${this.#queue.length} minute write(s) not written at shutdown: ${(e as Error).message}`,
      );
    }
    if (this.#timer) clearTimeout(this.#timer);
    await this.sink.close();
  }
}

function iso(s: number): string {
  return new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ');
}
