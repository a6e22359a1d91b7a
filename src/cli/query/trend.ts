/**
 * `logtally trend`: requests per time bucket over a window, from one or more endpoints; in a
 * terminal also a one-line sparkline.
 * @module
 */
import { Command } from 'commander';
import type { TrendPoint, TrendResponse } from '../../gen/logtally/v1/logtally_pb.ts';
import type { Io } from '../format-command.ts';
import {
  addFilterOptions,
  addTargetOptions,
  addWindowOptions,
  type FilterFlags,
  type RangeFlags,
  type TargetFlags,
} from './flags.ts';
import { formatCount, isoTime, joinColumns, leftAlign, rightAlign, sparkline } from './text.ts';
import { roundTime } from './topn.ts';

/**
 * The sparkline line: requests per minute of each bucket (the 6h and 24h windows mix 5-minute
 * and 1-minute buckets, so counts are normalised by span) and the peak rate.
 */
export function trendSparkline(points: readonly TrendPoint[]): string {
  const rates = points.map((p) => (p.span > 0 ? (p.count * 60) / p.span : p.count));
  const peak = Math.max(0, ...rates);
  return `${sparkline(rates)}  peak ${formatCount(peak, Number.isInteger(peak) ? 0 : 1)}/min`;
}

/** The table: `TIME COUNT`, one row per bucket (bucket start, UTC), oldest first. */
export function trendTable(points: readonly TrendPoint[], withSparkline: boolean): string[] {
  const lines = joinColumns([
    leftAlign(['TIME', ...points.map((p) => isoTime(p.start))]),
    rightAlign(['COUNT', ...points.map((p) => formatCount(p.count))]),
  ]);
  if (withSparkline && points.length > 0) lines.push(trendSparkline(points));
  return lines;
}

/** `{"source","target","points":[{"ts","span","count","bytes","time"}]}` */
export function trendJson(r: TrendResponse, target: string): unknown {
  return {
    source: r.source,
    target,
    points: r.points.map((p) => ({
      ts: p.start,
      span: p.span,
      count: p.count,
      bytes: p.bytes,
      time: roundTime(p.time),
    })),
  };
}

interface Flags extends TargetFlags, FilterFlags, RangeFlags {
  sparkline?: boolean;
}

/** `isTTY` decides the sparkline when neither --sparkline nor --no-sparkline is given. */
export function trendCommand(io: Io, result: { code: number }): Command {
  const cmd = new Command('trend')
    .description(
      'per-bucket time series: requests per minute (5 minutes for 6h and 24h, hours for 7d and 30d) over a window',
    )
    .option('--sparkline', 'draw the one-line sparkline even when stdout is not a terminal')
    .option('--no-sparkline', 'no sparkline, even in a terminal');
  addFilterOptions(addTargetOptions(addWindowOptions(cmd), true));
  cmd.addHelpText(
    'after',
    `
Output: a TIME COUNT table, one row per bucket (its start, UTC), oldest first; the last row is the
current minute so far. In a terminal a one-line sparkline of requests per minute follows.
With several targets one "=== source (host:port) ===" section each. --json prints one object
per target:
  {"source":"agg-prod","target":"agg:9091","points":[{"ts":1773516180,"span":60,"count":18432,"bytes":1048576,"time":12.5}]}

Examples:
  # Trend of total traffic over 6h (for a quick sparkline in the terminal)
  logtally trend --target agg:9091 --window 6h --json | jq '[.points[] | .count]'
  # 5xx responses per minute over the last hour, on one website
  logtally trend --window 60m --status '>=500' --website api.example.com
  # Two collectors side by side
  logtally trend --target nginx1:9090,nginx2:9090 --window 15m
  # 30 days of 5xx in hourly buckets (a target started with --history)
  logtally trend --target agg:9091 --window 30d --status '>=500'
  # Yesterday afternoon, minute by minute (ranges up to 6 hours come in minutes)
  logtally trend --target agg:9091 --from -30h --to -24h

From the history sink (7d, 30d, --from/--to) points are minutes for ranges up to 6 hours,
5 minutes up to 2 days and hours beyond; only completed minutes are in history.`,
  );
  cmd.action(async (f: Flags) => {
    const [{ parseRange, parseFilter, parseEndpoints }, { fanOut, printOutcomes }] = await Promise.all([
      import('./options.ts'),
      import('./fanout.ts'),
    ]);
    const range = parseRange(f);
    const { message: filter } = parseFilter(f);
    const ep = parseEndpoints(f);
    const tty = (io.stdout.stream as { isTTY?: boolean }).isTTY === true;
    const withSparkline = f.sparkline ?? tty;
    const outcomes = await fanOut(ep.targets, ep.security, ep.timeoutMs, (client, options) =>
      client.trend({ filter, ...range }, options),
    );
    result.code = await printOutcomes(io, outcomes, ep.json, {
      source: (r) => r.source,
      json: trendJson,
      table: (r) => trendTable(r.points, withSparkline),
    });
  });
  return cmd;
}
