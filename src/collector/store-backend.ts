/**
 * QueryBackend over a collector's Store.
 * @module
 */
import type { FileInfo, QueryBackend, SnapshotData, StatusInfo, TargetInfo } from '../rpc/backend.ts';
import { bucketSnapshots } from '../rpc/snapshot-stream.ts';
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

  snapshots(
    backfill: boolean,
    signal: AbortSignal,
    columnar = false,
    since = 0,
  ): AsyncIterable<SnapshotData> {
    return bucketSnapshots(this.store, this.source, backfill, signal, columnar, since);
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
