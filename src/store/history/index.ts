/**
 * History sinks beside the store: open one from `--history`, feed it from a store, query it.
 * The engines' client libraries are imported only when a sink of theirs is opened.
 * @module
 */
import { HistoryError, type HistorySink, parseHistoryUrl } from './sink.ts';
import { HistoryWriter } from './writer.ts';

export * from './range.ts';
export * from './sink.ts';
export * from './writer.ts';

export interface OpenHistoryOptions {
  /** `--history-cluster`: a ClickHouse cluster name (Distributed table over its shards). */
  cluster?: string;
  log?: (line: string) => void;
}

/** Opens the sink `--history` names, creating its schema; throws HistoryError with a clear message. */
export async function openHistorySink(url: string, o: OpenHistoryOptions = {}): Promise<HistorySink> {
  const u = parseHistoryUrl(url);
  if (u.kind === 'duckdb') {
    if (o.cluster) throw new HistoryError('--history-cluster: only with a clickhouse:// --history');
    const { DuckDBSink } = await import('./duckdb.ts');
    return DuckDBSink.open(u.path);
  }
  const { ClickHouseSink } = await import('./clickhouse.ts');
  return ClickHouseSink.open(u, o.cluster, o.log);
}

export interface StartHistoryOptions extends OpenHistoryOptions {
  source: string;
  log: (line: string) => void;
  retentionSeconds?: number;
  /** Disk queue directory and size (none: memory only). */
  queueDir?: string;
  maxQueueBytes?: number;
  /** Epoch seconds (tests inject the store's clock). */
  now?: () => number;
}

/** Opens the sink and a writer for it (the caller makes it follow its store). */
export async function startHistory(url: string, o: StartHistoryOptions): Promise<HistoryWriter> {
  const sink = await openHistorySink(url, o);
  o.log(
    `history: ${sink.description}, keeping ${Math.round((o.retentionSeconds ?? 30 * 86_400) / 86_400)} day(s)`,
  );
  return new HistoryWriter(sink, {
    source: o.source,
    log: o.log,
    ...(o.retentionSeconds ? { retentionSeconds: o.retentionSeconds } : {}),
    ...(o.now ? { now: o.now } : {}),
    ...(o.queueDir ? { queueDir: o.queueDir } : {}),
    ...(o.maxQueueBytes ? { maxQueueBytes: o.maxQueueBytes } : {}),
  });
}

/** The history flags a program's options carry (`--history`, `--history-retention`, …). */
export interface HistoryFlagOptions {
  /** `--history`: keep every sealed minute in this sink (duckdb:PATH or clickhouse://…). */
  history?: string;
  /** `--history-retention`, seconds (default 30 days). */
  historyRetentionSeconds?: number;
  /** `--history-cluster`: ClickHouse cluster name. */
  historyCluster?: string;
  /** `--history-queue` directory and `--history-queue-max` bytes. */
  historyQueue?: string;
  historyQueueMaxBytes?: number;
}

/** The history the flags ask for (see `startHistory`), or undefined without `--history`. */
export async function historyFromFlags(
  o: HistoryFlagOptions,
  base: Pick<StartHistoryOptions, 'source' | 'log' | 'now'>,
): Promise<HistoryWriter | undefined> {
  if (!o.history) return undefined;
  return startHistory(o.history, {
    ...base,
    ...(o.historyRetentionSeconds ? { retentionSeconds: o.historyRetentionSeconds } : {}),
    ...(o.historyCluster ? { cluster: o.historyCluster } : {}),
    ...(o.historyQueue ? { queueDir: o.historyQueue } : {}),
    ...(o.historyQueueMaxBytes ? { maxQueueBytes: o.historyQueueMaxBytes } : {}),
  });
}
