/**
 * QueryBackend over a collector's Store.
 * @module
 */
import type { FileInfo, QueryBackend, SnapshotData, StatusInfo, TargetInfo } from '../rpc/backend.ts';
import type { Bucket } from '../store/bucket.ts';
import type { Filter } from '../store/filter.ts';
import type { Store, TopNQuery } from '../store/store.ts';
import type { Window } from '../store/windows.ts';

export interface IngestCounters {
  files(): FileInfo[];
  linesRead: number;
  parseErrors: number;
  syslogDatagrams: number;
  syslogLines: number;
}

export function bucketSnapshot(store: Store, source: string, b: Bucket): SnapshotData {
  return {
    source,
    start: b.start,
    span: b.span,
    entries: [...store.entries(b)],
    totalRequests: b.totalRequests,
    totalBytes: b.totalBytes,
    totalTime: b.totalTime,
  };
}

export class StoreBackend implements QueryBackend {
  readonly source: string;
  readonly store: Store;
  readonly version: string;
  readonly ingest: IngestCounters;
  readonly #started = Date.now();

  constructor(store: Store, source: string, version: string, ingest: IngestCounters) {
    this.store = store;
    this.source = source;
    this.version = version;
    this.ingest = ingest;
  }

  topN(q: TopNQuery) {
    return this.store.topN(q);
  }

  trend(window: Window, filter: Filter) {
    return this.store.trend(window, filter);
  }

  async *snapshots(backfill: boolean, signal: AbortSignal): AsyncIterable<SnapshotData> {
    const queue: Bucket[] = [];
    let wake: (() => void) | undefined;
    const off = this.store.onMinute((b) => {
      queue.push(b);
      if (queue.length > 60) queue.shift(); // older ones left the fine ring anyway
      wake?.();
    });
    const aborted = new Promise<void>((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    try {
      // A subscriber more than an hour behind would read buckets whose memory was reused for
      // newer minutes: each bucket is read only while the store still holds it (else skipped).
      if (backfill) {
        // Everything held: the 5-minute buckets (24h), then the 1-minute buckets (60m).
        const { coarse, fine } = this.store.rings();
        for (const b of [...coarse, ...fine]) {
          if (this.store.holds(b)) yield bucketSnapshot(this.store, this.source, b);
        }
      }
      while (!signal.aborted) {
        const b = queue.shift();
        if (b) {
          if (this.store.holds(b)) yield bucketSnapshot(this.store, this.source, b);
          continue;
        }
        await Promise.race([new Promise<void>((r) => (wake = r)), aborted]);
        wake = undefined;
      }
    } finally {
      off();
    }
  }

  targets(): TargetInfo[] {
    return [{ source: this.source, address: '', state: 'up', lastSnapshot: 0, failures: 0 }];
  }

  status(): StatusInfo {
    const st = this.store.stats();
    return {
      source: this.source,
      version: this.version,
      uptimeSeconds: (Date.now() - this.#started) / 1000,
      files: this.ingest.files(),
      linesRead: this.ingest.linesRead,
      parseErrors: this.ingest.parseErrors,
      droppedKeys: st.droppedKeys,
      malformed: st.malformed,
      targets: this.targets(),
      syslogDatagrams: this.ingest.syslogDatagrams,
      syslogLines: this.ingest.syslogLines,
    };
  }
}
