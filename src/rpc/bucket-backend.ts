/**
 * The part of a QueryBackend that any bucket store answers the same way: TopN and Trend from
 * the store, StreamSnapshots from its sealed buckets. A collector's and an aggregator's backends
 * extend it with their Status and ListTargets.
 * @module
 */
import type { Filter } from '../store/filter.ts';
import type { TopEntry, TopNQuery, TrendPoint } from '../store/query.ts';
import type { Window } from '../store/windows.ts';
import type { HistoryQueries, QueryBackend, SnapshotData, StatusInfo, TargetInfo } from './backend.ts';
import { type BucketSource, bucketSnapshots } from './snapshot-stream.ts';

export interface QueryableStore extends BucketSource {
  topN(q: TopNQuery): TopEntry[];
  trend(window: Window, filter: Filter): TrendPoint[];
}

export abstract class BucketStoreBackend<S extends QueryableStore> implements QueryBackend {
  readonly source: string;
  readonly version: string;
  readonly store: S;
  readonly started = Date.now();
  readonly history?: HistoryQueries;

  constructor(store: S, source: string, version: string, history?: HistoryQueries) {
    this.store = store;
    this.source = source;
    this.version = version;
    if (history) this.history = history;
  }

  topN(q: TopNQuery): TopEntry[] {
    return this.store.topN(q);
  }

  trend(window: Window, filter: Filter): TrendPoint[] {
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

  abstract targets(): TargetInfo[];
  abstract status(): StatusInfo;
}
