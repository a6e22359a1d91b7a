/**
 * The `--history*` flags collector and aggregator share.
 * @module
 */
import type { Command } from 'commander';
import { parseSize } from './disk-queue.ts';
import { HistoryError, parseDuration } from './sink.ts';

export interface HistoryFlags {
  history?: string;
  historyRetention: string;
  historyCluster?: string;
  historyQueue?: string;
  historyQueueMax: string;
}

export function addHistoryFlags(cmd: Command): Command {
  return cmd
    .option(
      '--history <url>',
      'keep every completed minute beyond the 24-hour rings and answer 7d, 30d and --from/--to from it: duckdb:PATH (one embedded file) or clickhouse://HOST:8123/DB',
    )
    .option(
      '--history-retention <duration>',
      'delete history older than this (30d, 12w, 48h; ClickHouse drops whole days)',
      '30d',
    )
    .option(
      '--history-cluster <name>',
      'ClickHouse: write to each server local table and query a Distributed table over this cluster',
    )
    .option(
      '--history-queue <dir>',
      'keep minutes the sink has not taken here (while it fails, and at shutdown) and write them when it is back, also after a restart (default: next to --state-file; without either, in memory only)',
    )
    .option(
      '--history-queue-max <size>',
      'largest disk queue; the oldest minutes are dropped beyond it',
      '1GB',
    );
}

/** The history options of `startCollector`/`startAggregator`, validated (errors name the flag). */
export function historyOptions(
  f: HistoryFlags,
  stateFile?: string,
): {
  history?: string;
  historyRetentionSeconds?: number;
  historyCluster?: string;
  historyQueue?: string;
  historyQueueMaxBytes?: number;
} {
  const retention = parseDuration(f.historyRetention, '--history-retention');
  const max = parseSize(f.historyQueueMax);
  if (max === undefined || max < 1024 * 1024)
    throw new HistoryError(
      `--history-queue-max: expected a size of at least 1MB such as 1GB or 500MB, got "${f.historyQueueMax}"`,
    );
  if (!f.history) {
    for (const [flag, v] of [
      ['--history-cluster', f.historyCluster],
      ['--history-queue', f.historyQueue],
    ] as const)
      if (v) throw new HistoryError(`${flag}: needs --history`);
    return {};
  }
  const queue = f.historyQueue ?? (stateFile ? `${stateFile}.history-queue` : undefined);
  return {
    history: f.history,
    historyRetentionSeconds: retention,
    ...(f.historyCluster ? { historyCluster: f.historyCluster } : {}),
    ...(queue ? { historyQueue: queue, historyQueueMaxBytes: max } : {}),
  };
}
