/**
 * `logtally aggregator`: flags and process lifecycle.
 * @module
 */
import { hostname } from 'node:os';
import { Command } from 'commander';
import { daemonLog, runUntilSignal } from '../daemon.ts';
import { LogtallyError } from '../format/errors.ts';
import { parseHostPortList } from '../rpc/address.ts';
import { addSecurityFlags } from '../rpc/flags.ts';
import type { SecurityFlags } from '../rpc/security.ts';
import { addHistoryFlags, type HistoryFlags, historyOptions } from '../store/history/flags.ts';

interface Flags extends SecurityFlags, HistoryFlags {
  listen: string;
  collectors?: string;
  source: string;
}

export function aggregatorCommand(version: string, result: { code: number }): Command {
  return addSecurityFlags(
    addHistoryFlags(new Command('aggregator'))
      .description('merge the counts of many collectors into one view and serve the same gRPC service')
      .option('--listen <addr>', 'gRPC listen address', ':9091')
      .option('--collectors <list>', 'comma-separated host:port of the collectors (required)')
      .option('--source <name>', 'name of this aggregator in query responses', hostname())
      .addHelpText(
        'after',
        `
Each collector is followed independently: its snapshot stream (with backfill of what it holds)
is merged into one view with the collector's ring structure (60 × 1-minute buckets of the top
50 000 keys, 288 × 5-minute buckets of the top 5 000), whatever the number of collectors. A
minute stays exact until every collector that is up has sent it (or 15 s have passed), then it
is sealed to its top keys; the keys cut go to residuals (by website, status, upstream and
method), so sums by website and by status stay exact. On failure a collector is retried with exponential backoff (100 ms,
doubling, up to 30 s); after 3 consecutive failures it is marked degraded and its last-known
contribution (its newest minute) is subtracted from the view; the minutes it reported before
stay in history. Its next snapshot reintegrates it (what it still holds is re-sent, nothing is
counted twice). An aggregator serves the same service as a collector, so aggregators stack.

With --history, every merged minute the aggregator publishes (and every later amendment or
withdrawal, as delta rows) is written to a history sink, which answers the 7d and 30d windows and
--from/--to ranges (see \`logtally collector --help\`). Several aggregators may share one ClickHouse
database or cluster: its tables are a fleet view (each aggregator inserts into its own server's
tables; with --history-cluster, queries read the Distributed tables over every shard).

Examples:
  logtally aggregator --collectors nginx1:9090,nginx2:9090,nginx3:9090 --listen :9091 --source agg-prod
  logtally aggregator --collectors nginx1:9090,nginx2:9090 --history clickhouse://ch1:8123/logtally --history-cluster fleet`,
      ),
  ).action(async (f: Flags) => {
    const collectors = parseHostPortList(f.collectors, '--collectors');
    if (collectors.length === 0) {
      throw new LogtallyError('ERR_FORMAT_OPTION', 'aggregator: --collectors is required (host:port,…)');
    }
    const [{ loadSecurity }, { startAggregator }] = await Promise.all([
      import('../rpc/security.ts'),
      import('./run.ts'),
    ]);
    const log = daemonLog;
    const security = loadSecurity(f);
    const a = await startAggregator({
      listen: f.listen,
      collectors,
      source: f.source,
      version,
      log,
      security,
      ...historyOptions(f),
    });
    log(`aggregator ${f.source}: ${collectors.length} collector(s), gRPC on ${f.listen}`);
    await runUntilSignal(() => a.stop(), log);
    result.code = 0;
  });
}
