/**
 * `logtally collector`: flags and process lifecycle.
 * @module
 */
import { availableParallelism, hostname } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { daemonLog, runUntilSignal } from '../daemon.ts';
import { LogtallyError } from '../format/errors.ts';
import { DIALECTS } from '../format/registry.ts';
import type { Dialect } from '../format/types.ts';
import { addSecurityFlags } from '../rpc/flags.ts';
import type { SecurityFlags } from '../rpc/security.ts';
import { addHistoryFlags, type HistoryFlags, historyOptions } from '../store/history/flags.ts';

function intIn(min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

interface Flags extends SecurityFlags, HistoryFlags {
  listen: string;
  logs?: string;
  logsFile?: string;
  nginxConf?: string;
  syslogListen?: string;
  tailFiles?: boolean;
  source: string;
  v4prefix: number;
  v6prefix: number;
  format: string;
  dialect: Dialect;
  escape?: 'default' | 'json' | 'none';
  metricsListen: string;
  maxLineBytes: number;
  fromStart?: boolean;
  stateFile?: string;
  checkpointInterval: number;
  threads: number;
}

export function collectorCommand(version: string, result: { code: number }): Command {
  return addSecurityFlags(
    addHistoryFlags(new Command('collector'))
      .description(
        'tail web server logs (any format the server was configured with), count top-K over 1m…24h windows, serve gRPC and Prometheus',
      )
      .option('--listen <addr>', 'gRPC listen address', ':9090')
      .option('--logs <paths>', 'comma-separated log file paths or glob patterns')
      .option('--logs-file <file>', 'file with one log path or glob per line (# comments)')
      .option(
        '--nginx-conf <file>',
        "read every access_log/upstream_log path and its log_format from nginx's configuration",
      )
      .option(
        '--syslog-listen <addr>',
        'also receive lines that nginx sends with access_log syslog:server=… (UDP, e.g. :5514); with --nginx-conf, only the logs the configuration sends to this address are taken',
      )
      .option(
        '--tail-files',
        'with --syslog-listen and --nginx-conf: also tail the files the configuration names (a server that logs to both is then counted twice)',
      )
      .option('--source <name>', 'name of this collector in query responses', hostname())
      .option('--v4prefix <bits>', 'IPv4 prefix length for client bucketing', intIn(0, 32), 24)
      .option('--v6prefix <bits>', 'IPv6 prefix length for client bucketing', intIn(0, 128), 48)
      .option(
        '--format <name|string>',
        'format of --logs/--logs-file and syslog lines: a preset name or a format string',
        'logtail',
      )
      .addOption(new Option('--dialect <dialect>', 'dialect of --format').choices(DIALECTS).default('nginx'))
      .addOption(
        new Option('--escape <mode>', 'nginx escape= mode of --format').choices(['default', 'json', 'none']),
      )
      .option('--metrics-listen <addr>', 'Prometheus /metrics listen address; empty disables', ':9100')
      .option(
        '--max-line-bytes <n>',
        'longer lines are counted and skipped',
        intIn(1024, 16 * 1024 * 1024),
        65536,
      )
      .option(
        '--from-start',
        'read files that exist at start-up (and that --state-file does not know) from their beginning instead of their end',
      )
      .addOption(
        new Option(
          '--threads <n>',
          'threads that count a large unread part of a log at start (32 MiB or more in one file: --from-start, or a --state-file position far behind) in parallel; live tailing uses one',
        )
          .argParser(intIn(1, 64))
          .default(
            Math.min(availableParallelism(), 8),
            `the CPUs, at most 8: ${Math.min(availableParallelism(), 8)} here`,
          ),
      )
      .option(
        '--state-file <path>',
        "keep the counts and every file's read position here (and in <path>.journal); at start restore them and read each file on from its position, so a restart loses and doubles no line",
      )
      .option(
        '--checkpoint-interval <seconds>',
        'how often --state-file is checkpointed (also at each rotation and at shutdown); a crash re-reads at most this much of the logs',
        intIn(1, 3600),
        10,
      )
      .addHelpText(
        'after',
        `
At least one of --logs, --logs-file, --nginx-conf or --syslog-listen is required.

Windows cover the completed buckets of the window plus the current minute so far; 1m–60m are
served from 1-minute buckets (top 50 000 keys each), 6h and 24h from 5-minute buckets (top 5 000).
A minute counts up to 100 000 distinct keys; past that a new key takes the entry of the lightest
(Space-Saving), so a heavy key is never locked out by a flood; its count is low by at most the
smallest count in the table. A key pushed out, or cut at a bucket's top keys, goes to a residual
of its website, status, upstream and method ("(other)" grouped by prefix or URI): totals and sums
by website and by status stay exact in every window. A cut key first folds into a key keeping its
URI or its client prefix, so a URI asked for by many clients, or a client asking for many URIs,
keeps its whole count in 6h and 24h.
A line is counted in the minute of its own time when its format has one ($msec, $time_local,
$time_iso8601, uWSGI's times, Envoy's START_TIME), so a backfill (--from-start) or lines read late
land in their minutes; a line older than 24 hours is counted in the totals only. A format without
a time counts lines when they are read.

With --threads N (default: the CPUs, at most 8), a file with 32 MiB or more to read at start
(--from-start, or a --state-file position far behind) is counted in N parts, the first by the
collector itself and the others by worker threads, merged at once, then tailed on one thread; the
saved position always matches the counts.

Memory at the caps (every minute of the last hour at 50 000 distinct keys): about 400 MiB
resident, about 420 MiB while a backlog's parts are merged with --threads 2; the whole day at the
caps about 490 MiB. Run as a program, logtally collector starts Node with a young generation of
8 MiB a semi-space and glibc's MALLOC_ARENA_MAX=2, MALLOC_MMAP_THRESHOLD_=131072 and
GLIBC_TUNABLES=glibc.malloc.hugetlb=1, each unless the environment sets it.

With --history, every completed minute (its top 50 000 keys and its exact totals) is also written
to a history sink, in batches (every 10 s), retried with backoff while the sink is down, queued
on disk meanwhile (--history-queue, by default next to --state-file; up to --history-queue-max,
oldest dropped beyond) and written when it is back, also after a restart; later changes to a
minute are written as delta rows. The 7d and 30d windows and --from/--to ranges of topn and trend are answered from it.
  duckdb:PATH                       one embedded file, no server
  clickhouse://HOST:8123/DB         ClickHouse (18.16 or later) over HTTP; user:password@ allowed
  --history-cluster NAME            ClickHouse: insert locally, query a Distributed table over NAME
The schema is created at start; a database from a newer logtally is refused.

Examples:
  logtally collector --nginx-conf /etc/nginx/nginx.conf
  logtally collector --logs '/var/log/nginx/*.log' --format combined --source web3
  logtally collector --logs /var/log/uwsgi/app.log --dialect uwsgi --format apache-combined
  logtally collector --nginx-conf /etc/nginx/nginx.conf --history duckdb:/var/lib/logtally/history.duckdb`,
      ),
  ).action(async (f: Flags) => {
    if (!f.logs && !f.logsFile && !f.nginxConf && !f.syslogListen) {
      throw new LogtallyError(
        'ERR_FORMAT_OPTION',
        'collector: give at least one of --logs, --logs-file, --nginx-conf or --syslog-listen',
      );
    }
    const [{ loadSecurity }, { startCollector }] = await Promise.all([
      import('../rpc/security.ts'),
      import('./run.ts'),
    ]);
    const log = daemonLog;
    const c = await startCollector({
      listen: f.listen,
      ...(f.logs ? { logs: f.logs } : {}),
      ...(f.logsFile ? { logsFile: f.logsFile } : {}),
      ...(f.nginxConf ? { nginxConf: f.nginxConf } : {}),
      ...(f.syslogListen ? { syslogListen: f.syslogListen } : {}),
      ...(f.tailFiles ? { tailFiles: true } : {}),
      source: f.source,
      v4prefix: f.v4prefix,
      v6prefix: f.v6prefix,
      format: { dialect: f.dialect, format: f.format, ...(f.escape ? { escape: f.escape } : {}) },
      metricsListen: f.metricsListen,
      maxLineBytes: f.maxLineBytes,
      ...(f.fromStart ? { fromStart: true } : {}),
      threads: f.threads,
      ...(f.stateFile ? { stateFile: f.stateFile } : {}),
      checkpointIntervalMs: f.checkpointInterval * 1000,
      security: loadSecurity(f),
      version,
      log,
      ...historyOptions(f, f.stateFile),
    });
    log(
      `collector ${f.source}: ${c.inputs.files.length} log pattern(s), gRPC on ${f.listen}` +
        (c.metricsPort ? `, metrics on ${f.metricsListen}` : '') +
        (c.syslogPort ? `, syslog on ${f.syslogListen}` : ''),
    );
    for (const line of c.inputs.plan) log(line);
    await runUntilSignal(() => c.stop(), log);
    result.code = 0;
  });
}
