/**
 * `logtally topn`: the ranked label → count table of one window, from one or more endpoints.
 * @module
 */
import { Command } from 'commander';
import type { TopNEntry, TopNResponse } from '../../gen/logtally/v1/logtally_pb.ts';
import type { Order } from '../../store/dimensions.ts';
import type { Io } from '../format-command.ts';
import {
  addFilterOptions,
  addTargetOptions,
  addWindowOptions,
  type FilterFlags,
  type RangeFlags,
  type TargetFlags,
} from './flags.ts';
import { formatCount, joinColumns, rightAlign, shownLabel } from './text.ts';

/** Rounds a sum of seconds to microseconds (float sums carry noise like 0.30000000000000004). */
export function roundTime(t: number): number {
  return Math.round(t * 1e6) / 1e6;
}

/**
 * The table: `RANK COUNT LABEL`, counts with a space as thousands separator, labels escaped.
 * Ranked by bytes or time, a BYTES or TIME (seconds) column comes before LABEL.
 */
export function topnTable(entries: readonly TopNEntry[], orderBy: Order = 'requests'): string[] {
  // The "(other)" entry (requests not itemized) comes last and has no rank.
  const rank = ['RANK', ...entries.map((e, i) => (e.other ? '' : String(i + 1)))];
  const count = ['COUNT', ...entries.map((e) => formatCount(e.count))];
  const columns = [rightAlign(rank), rightAlign(count)];
  if (orderBy === 'bytes') columns.push(rightAlign(['BYTES', ...entries.map((e) => formatCount(e.bytes))]));
  if (orderBy === 'time') columns.push(rightAlign(['TIME', ...entries.map((e) => formatCount(e.time, 3))]));
  columns.push(['LABEL', ...entries.map((e) => shownLabel(e.label, e.other))]);
  return joinColumns(columns);
}

/**
 * `{"source","target","entries":[{"label","count","bytes","time"}]}`, with `"truncated":true` when
 * cut, and `"other":true` on the entry of keys not kept one by one (its label is empty).
 */
export function topnJson(r: TopNResponse, target: string): unknown {
  return {
    source: r.source,
    target,
    entries: r.entries.map((e) => ({
      label: e.label,
      ...(e.other ? { other: true } : {}),
      count: e.count,
      bytes: e.bytes,
      time: roundTime(e.time),
    })),
    ...(r.truncated ? { truncated: true } : {}),
  };
}

interface Flags extends TargetFlags, FilterFlags, RangeFlags {
  n: string;
  groupBy: string;
  orderBy: string;
}

export function topnCommand(io: Io, result: { code: number }): Command {
  const cmd = new Command('topn')
    .description('ranked label → count table: the top values of one dimension over a window')
    .option('--n <count>', 'number of entries', '10')
    .option('--group-by <dimension>', 'website, prefix, uri, status, upstream or method', 'website')
    .option(
      '--order-by <measure>',
      'rank by requests, bytes (body bytes sent) or time (request time)',
      'requests',
    );
  addFilterOptions(addTargetOptions(addWindowOptions(cmd), true));
  cmd.addHelpText(
    'after',
    `
Output: a RANK COUNT LABEL table (counts with a space as thousands separator, control characters
in labels escaped as \\xNN); with several targets one "=== source (host:port) ===" section each.
--json prints one object per target:
  {"source":"agg-prod","target":"agg:9091","entries":[{"label":"example.com","count":18432,"bytes":1048576,"time":12.5}]}
A target that fails is reported as "logtally: host:port: reason" and the others still print;
the exit status is 1 if any target failed, 2 for invalid flags.

Examples:
  # Top 20 client prefixes sending 429s right now
  logtally topn --target agg:9091 --window 1m --group-by prefix --status 429 --n 20
  # Same query, pipe to jq for scripting
  logtally topn --target agg:9091 --window 1m --group-by prefix --status 429 --n 20 --json | jq '.entries[0]'
  # Which website has the most 503s over the last 24h?
  logtally topn --target agg:9091 --window 24h --group-by website --status 503
  # Drill: top URIs on one website over the last 60 minutes
  logtally topn --target agg:9091 --window 60m --group-by uri --website api.example.com
  # Server errors, heaviest URIs by bytes, excluding static files
  logtally topn --status '>=500' --group-by uri --order-by bytes --uri-re '\\.(css|js|png)$' --uri-re-neg
  # Compare two collectors side by side in one command
  logtally topn --target nginx1:9090,nginx2:9090 --window 5m
  # Query both a collector and the aggregator at once
  logtally topn --target nginx3:9090,agg:9091 --window 5m --group-by prefix
  # Top websites over 30 days (a target started with --history)
  logtally topn --target agg:9091 --window 30d
  # Top URIs answering 5xx between three and one days ago
  logtally topn --target agg:9091 --from -3d --to -1d --group-by uri --status '>=500'
  # One afternoon, in UTC
  logtally topn --target agg:9091 --from 2026-11-02T12:00Z --to 2026-11-02T18:00Z --group-by prefix

Windows up to 24h are answered from memory (the current minute included); 7d, 30d and
--from/--to from the target's --history sink (completed minutes only). A target without a
sink refuses them ("keeps no history beyond its 24-hour rings").`,
  );
  cmd.action(async (f: Flags) => {
    const [
      { parseN, parseRange, parseGroupBy, parseOrderBy, parseFilter, parseEndpoints },
      { fanOut, printOutcomes },
    ] = await Promise.all([import('./options.ts'), import('./fanout.ts')]);
    const n = parseN(f.n);
    const range = parseRange(f);
    const groupBy = parseGroupBy(f.groupBy);
    const orderBy = parseOrderBy(f.orderBy);
    const { message: filter } = parseFilter(f);
    const ep = parseEndpoints(f);
    const outcomes = await fanOut(ep.targets, ep.security, ep.timeoutMs, (client, options) =>
      client.topN({ filter, n, groupBy, orderBy, ...range }, options),
    );
    result.code = await printOutcomes(io, outcomes, ep.json, {
      source: (r) => r.source,
      json: topnJson,
      table: (r) => [
        ...topnTable(r.entries, orderBy),
        ...(r.truncated
          ? [`(the first ${r.entries.length}: the server cut the answer to keep it under 4 MiB)`]
          : []),
      ],
    });
  });
  return cmd;
}
