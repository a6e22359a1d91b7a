/**
 * The `--history*` flags collector and aggregator share.
 * @module
 */
import type { Command } from 'commander';
import { HistoryError, parseDuration } from './sink.ts';

export interface HistoryFlags {
  history?: string;
  historyRetention: string;
  historyCluster?: string;
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
    );
}

/** The history options of `startCollector`/`startAggregator`, validated (errors name the flag). */
export function historyOptions(f: HistoryFlags): {
  history?: string;
  historyRetentionSeconds?: number;
  historyCluster?: string;
} {
  const retention = parseDuration(f.historyRetention, '--history-retention');
  if (!f.history) {
    if (f.historyCluster) throw new HistoryError('--history-cluster: needs --history clickhouse://…');
    return {};
  }
  return {
    history: f.history,
    historyRetentionSeconds: retention,
    ...(f.historyCluster ? { historyCluster: f.historyCluster } : {}),
  };
}
