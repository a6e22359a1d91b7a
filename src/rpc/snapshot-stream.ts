/**
 * The StreamSnapshots feed of any bucket store (a collector's, or an aggregator's merged one):
 * optionally the buckets already held (see `backfillOrder`), then every bucket as it is sealed
 * (sent as held when the subscriber reads it).
 * A subscriber that stops reading is dropped once it is an hour behind, not buffered forever.
 * @module
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { type Bucket, backfillOrder } from '../store/bucket.ts';
import type { Interner } from '../store/interner.ts';
import type { Amendment } from '../store/merged-store.ts';
import type { SnapshotData } from './backend.ts';
import { ColumnEncoder } from './columns.ts';

/** Buckets sealed more than this many behind a subscriber end its stream. */
export const MAX_QUEUED = 60;
/** Amendments queued for a subscriber beyond this end its stream. */
export const MAX_QUEUED_AMENDMENTS = 4 * MAX_QUEUED;

export interface BucketSource {
  /** Calls `listener` with each bucket as it is sealed; returns an unsubscribe function. */
  onSeal(listener: (b: Bucket) => void): () => void;
  rings(): { coarse: Bucket[]; fine: Bucket[] };
  /**
   * The bucket held now for (start, span), if any: a bucket is read only while held (an evicted
   * bucket's memory is reused), and a rebuilt one is sent as it is now.
   */
  current(start: number, span: number): Bucket | undefined;
  entries(b: Bucket): Iterable<{ labels: string[]; requests: number; bytes: number; time: number }>;
  readonly interners: readonly Interner[];
  /** Late additions to published minutes (a merged store), with the minute's change counter. */
  onAmend?(listener: (a: Amendment) => void): () => void;
  /** The change counter of a bucket as held now (span 60 by default). */
  version?(start: number, span?: number): number;
}

export function bucketSnapshot(
  src: BucketSource,
  source: string,
  b: Bucket,
  encoder?: ColumnEncoder,
): SnapshotData {
  return {
    source,
    start: b.start,
    span: b.span,
    entries: encoder ? [] : [...src.entries(b)],
    ...(encoder ? { columns: encoder.encode(b) } : {}),
    totalRequests: b.totalRequests,
    totalBytes: b.totalBytes,
    totalTime: b.totalTime,
  };
}

export async function* bucketSnapshots(
  src: BucketSource,
  source: string,
  backfill: boolean,
  signal: AbortSignal,
  columnar = false,
  since = 0,
): AsyncIterable<SnapshotData> {
  const encoder = columnar ? new ColumnEncoder(src.interners) : undefined;
  const queue: ({ start: number; span: number; amendment?: undefined } | { amendment: Amendment })[] = [];
  /**
   * Per bucket sent on this stream (by span and start: a five-minute bucket may start where a
   * minute does), its change counter then: amendments it already holds are not resent.
   */
  const sent = new Map<string, number>();
  // The end of the newest minute the subscriber holds from this source: an amendment of a later
  // minute (late lines for a minute before the source's first sealed one: a backfill just after
  // start) waits until a minute after it has gone out, as a receiver takes amendments only of
  // minutes it was sent.
  let sentEnd = since;
  const deferred: Amendment[] = [];
  const send = (b: Bucket): SnapshotData => {
    if (b.span === 60) {
      sentEnd = Math.max(sentEnd, b.start + 60);
      for (let i = 0; i < deferred.length; ) {
        const a = deferred[i] as Amendment;
        if (a.start < sentEnd) {
          deferred.splice(i, 1);
          queue.unshift({ amendment: a });
          amendments++;
        } else i++;
      }
    }
    if (src.version) {
      sent.set(`${b.span}:${b.start}`, src.version(b.start, b.span));
      if (sent.size > 2 * MAX_QUEUED + 300) sent.delete(sent.keys().next().value as string);
    }
    return bucketSnapshot(src, source, b, encoder);
  };
  // Buckets and amendments are bounded apart: a collector back after an hour re-sends up to an
  // hour of minutes, each of which may amend a published minute.
  let buckets = 0;
  let amendments = 0;
  const enqueue = (item: (typeof queue)[number]) => {
    const isAmendment = item.amendment !== undefined;
    if (isAmendment ? amendments >= MAX_QUEUED_AMENDMENTS : buckets >= MAX_QUEUED) {
      overflow = true;
      queue.length = 0;
      buckets = 0;
      amendments = 0;
    } else {
      queue.push(item);
      if (isAmendment) amendments++;
      else buckets++;
    }
    wake?.();
  };
  let wake: (() => void) | undefined;
  let overflow = false;
  const off = src.onSeal((b) => enqueue({ start: b.start, span: b.span }));
  const offAmend = src.onAmend?.((amendment) => enqueue({ amendment }));
  const aborted = new Promise<void>((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  try {
    // Each bucket is read only while the store still holds it (else skipped).
    if (backfill) {
      const { coarse, fine } = src.rings();
      for (const b of backfillOrder(coarse, fine)) {
        const now = b.start + b.span > since ? src.current(b.start, b.span) : undefined;
        if (now) yield send(now);
      }
    }
    while (!signal.aborted) {
      if (overflow) {
        throw new ConnectError(
          `subscriber more than ${MAX_QUEUED} buckets (or ${MAX_QUEUED_AMENDMENTS} amendments) behind; reconnect`,
          Code.ResourceExhausted,
        );
      }
      const next = queue.shift();
      if (next?.amendment) amendments--;
      else if (next) buckets--;
      if (next?.amendment) {
        const a = next.amendment;
        if (a.start >= sentEnd) {
          if (deferred.length >= MAX_QUEUED_AMENDMENTS) overflow = true;
          else deferred.push(a);
          continue;
        }
        const span = a.span ?? 60;
        if ((sent.get(`${span}:${a.start}`) ?? -1) < a.version) {
          yield {
            source,
            start: a.start,
            span,
            entries: a.entries,
            totalRequests: a.totals.requests,
            totalBytes: a.totals.bytes,
            totalTime: a.totals.time,
            amend: true,
            subtract: a.sign < 0,
          };
        }
        continue;
      }
      if (next) {
        const b = src.current(next.start, next.span);
        if (b) yield send(b);
        continue;
      }
      await Promise.race([new Promise<void>((r) => (wake = r)), aborted]);
      wake = undefined;
    }
  } finally {
    off();
    offAmend?.();
  }
}
