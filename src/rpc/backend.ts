/**
 * What the RPC server needs from whatever holds the counts: a collector's store, or an
 * aggregator's merged view.
 * @module
 */
import type { Filter } from '../store/filter.ts';
import type { HistoryStats, HistoryWriter } from '../store/history/writer.ts';
import type { TopEntry, TopNQuery, TrendPoint } from '../store/store.ts';
import type { Window } from '../store/windows.ts';
import type { ColumnsData } from './columns.ts';

/** One completed bucket with every kept key. */
export interface SnapshotData {
  readonly source: string;
  readonly start: number;
  readonly span: number;
  readonly entries: readonly {
    readonly labels: readonly string[];
    readonly requests: number;
    readonly bytes: number;
    readonly time: number;
  }[];
  readonly totalRequests: number;
  readonly totalBytes: number;
  readonly totalTime: number;
  /** For a columnar subscriber: the keys in columnar form (and `entries` empty). */
  readonly columns?: ColumnsData;
  /** An amendment: `entries` and totals are an addition to a minute sent before. */
  readonly amend?: boolean;
  /** With `amend`: the counts are to be subtracted. */
  readonly subtract?: boolean;
}

export interface TargetInfo {
  readonly source: string;
  readonly address: string;
  readonly state: 'up' | 'degraded';
  readonly lastSnapshot: number;
  readonly failures: number;
}

export interface FileInfo {
  readonly path: string;
  readonly offset: number;
  readonly lines: number;
  readonly parseErrors: number;
  readonly format: string;
}

export interface StatusInfo {
  readonly source: string;
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly files: readonly FileInfo[];
  readonly linesRead: number;
  readonly parseErrors: number;
  readonly droppedKeys: number;
  readonly malformed: number;
  readonly targets: readonly TargetInfo[];
  readonly syslogDatagrams: number;
  readonly syslogLines: number;
  /** The history sink's state, when there is one. */
  readonly history?: HistoryStats;
  /** The state file's saves, when there is one. */
  readonly state?: { readonly saveFailures: number; readonly lastError: string; readonly lastSaved: number };
  /** Lines older than the rings (in linesRead, in no window). */
  readonly linesTooOld?: number;
}

/** Long-range queries (7d, 30d, from/to), answered from a history sink. */
export type HistoryQueries = Pick<HistoryWriter, 'topN' | 'trend' | 'stats' | 'now'>;

export interface QueryBackend {
  readonly source: string;
  /** The history sink, if the endpoint keeps one. */
  readonly history?: HistoryQueries;
  topN(q: TopNQuery): TopEntry[];
  trend(window: Window, filter: Filter): TrendPoint[];
  /**
   * Completed buckets as they seal; with `backfill`, the ones already held first (those ending
   * after `since`, epoch seconds); with `columnar`, keys in columnar form.
   */
  snapshots(
    backfill: boolean,
    signal: AbortSignal,
    columnar?: boolean,
    since?: number,
  ): AsyncIterable<SnapshotData>;
  targets(): TargetInfo[];
  status(): StatusInfo;
}
