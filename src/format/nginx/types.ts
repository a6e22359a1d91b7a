/**
 * Value types shared by the nginx renderer and parser.
 * @module
 */
import type { LineParseError } from '../errors.ts';
import type { CompiledFormat, Fields, RenderSource } from '../types.ts';
import type { EscapeMode } from './escape.ts';
import type { UtcOffset } from './time.ts';
import type { Segment } from './tokenize.ts';
import type { VariableInfo } from './variables.ts';

/** One upstream list variable: groups (split on ` : `) of per-server values (split on `, `); `-` is null. */
export type ListValue = ReadonlyArray<ReadonlyArray<string | number | null>>;

/**
 * nginx fields are text (unescaped), numbers (ints, statuses, seconds, epoch seconds for
 * `$time_local`/`$time_iso8601`), a {@link ListValue} for upstream list variables, or null when
 * nginx wrote "not found" (`-` with default escaping; empty for typed variables otherwise).
 * Field names are the variable names, lower-case, without `$`.
 */
export type { Fields, FieldValue, RenderSource, RenderValue } from '../types.ts';

export interface NginxCompileOptions {
  /** `escape=` of the `log_format` directive; default `default`. */
  readonly escape?: EscapeMode;
  /** Time zone for rendering `$time_local`/`$time_iso8601` from numbers or Dates; default the process's. */
  readonly utcOffset?: UtcOffset;
}

/** A compiled nginx `log_format`: compile once, then render and parse many lines. */
export interface CompiledNginxFormat extends CompiledFormat {
  readonly dialect: 'nginx';
  readonly escape: EscapeMode;
  readonly segments: readonly Segment[];
  /** Every variable the format uses, once each, in order of first use. */
  readonly variables: readonly VariableInfo[];
  /** Renders one line (without the trailing newline). */
  render(vars: RenderSource): string;
  /** Parses one line (without its newline) into typed fields, or returns the reason it does not match. */
  parse(line: string): Fields | LineParseError;
  /** Splits one line into the still-escaped text of each variable occurrence, in format order. */
  split(line: string): string[] | LineParseError;
}
