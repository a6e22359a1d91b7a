/**
 * A sealed time bucket: the top keys of one minute (fine ring) or five minutes (coarse ring),
 * stored column-wise in typed arrays (40 bytes per key), plus exact totals of everything the
 * bucket saw, kept or not.
 * @module
 */
import { D } from './dimensions.ts';
import type { TupleTable } from './tuple-table.ts';

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
 * Reuses the columns of evicted buckets. Every pooled column set has the ring's full capacity,
 * so a ring's memory is allocated once and never churns (fragmentation would otherwise keep
 * freed memory in the process's RSS).
 */
export class ColumnPool {
  readonly capacity: number;
  readonly #free: Columns[] = [];
  constructor(capacity: number) {
    this.capacity = capacity;
  }
  take(): Columns {
    return (
      this.#free.pop() ?? {
        ids: new Uint32Array(this.capacity * D),
        requests: new Uint32Array(this.capacity),
        bytes: new Float64Array(this.capacity),
        time: new Float64Array(this.capacity),
      }
    );
  }
  give(c: Columns): void {
    if (c.requests.length === this.capacity) this.#free.push(c);
  }
}

/** The pooled columns behind a bucket, if it has any. */
export const bucketColumns = new WeakMap<Bucket, Columns>();

/** Seals a table into a bucket holding at most `keep` keys (the most requested; none with 0 requests). */
export function sealBucket(
  table: TupleTable,
  start: number,
  span: number,
  keep: number,
  totals: { requests: number; bytes: number; time: number },
  pool?: ColumnPool,
): Bucket {
  let chosen = topIndices(table.requests, table.size, keep);
  // Keys whose counts were withdrawn (0 requests) are not kept.
  if (chosen.some((e) => table.requests[e] === 0)) chosen = chosen.filter((e) => table.requests[e] !== 0);
  const n = chosen.length;
  const cols = n > 0 && pool && pool.capacity >= n ? pool.take() : undefined;
  const ids = cols ? cols.ids.subarray(0, n * D) : new Uint32Array(n * D);
  const requests = cols ? cols.requests.subarray(0, n) : new Uint32Array(n);
  const bytes = cols ? cols.bytes.subarray(0, n) : new Float64Array(n);
  const time = cols ? cols.time.subarray(0, n) : new Float64Array(n);
  const from = table.ids;
  for (let i = 0; i < n; i++) {
    const e = chosen[i] as number;
    for (let d = 0; d < D; d++) ids[i * D + d] = from[e * D + d] as number;
    requests[i] = table.requests[e] as number;
    bytes[i] = table.bytes[e] as number;
    time[i] = table.time[e] as number;
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
 * What a snapshot subscriber's backfill sends, oldest first: the 5-minute buckets that start
 * before the fine ring (the last may overlap its first minutes), then the fine ring. A receiver
 * takes a minute that falls in a 5-minute bucket it was sent out of that bucket (MergedStore).
 */
export function backfillOrder(coarse: readonly Bucket[], fine: readonly Bucket[]): Bucket[] {
  const first = fine[0];
  if (!first) return [...coarse];
  return [...coarse.filter((b) => b.start < first.start), ...fine];
}
