/**
 * The shell query commands: `logtally topn`, `trend`, `stream` and `targets`, against any
 * LogtallyService endpoint (collector or aggregator), several at once.
 * @module
 */
import type { Command } from 'commander';
import type { Io } from '../format-command.ts';
import { type StreamOptions, streamCommand } from './stream.ts';
import { targetsCommand } from './targets.ts';
import { topnCommand } from './topn.ts';
import { trendCommand } from './trend.ts';

export type { StreamOptions } from './stream.ts';
export { escapeLabel, formatCount, sparkline } from './text.ts';

/**
 * The four commands; each action sets `result.code` (0, or 1 when a target failed). Invalid
 * flags throw a LogtallyError naming the flag before any connection. `stream` takes its
 * reconnect backoff and stop signal from `options` (defaults: 5 s, SIGINT/SIGTERM).
 */
export function queryCommands(
  io: Io,
  result: { code: number },
  options: { stream?: StreamOptions } = {},
): Command[] {
  return [
    topnCommand(io, result),
    trendCommand(io, result),
    streamCommand(io, result, options.stream),
    targetsCommand(io, result),
  ];
}
