/**
 * Types of the uWSGI dialect's compiled formats.
 * @module
 */
import type { LineParseError } from '../errors.ts';
import type { CompiledFormat, Fields, RenderSource } from '../types.ts';
import type { UwsgiLogvarInfo } from './logvars.ts';
import type { UtcOffset } from './time.ts';
import type { UwsgiSegment } from './tokenize.ts';

/**
 * uWSGI fields are text (raw: uWSGI escapes nothing), numbers (integers; `secs` in seconds;
 * `time`/`epoch` epoch seconds; `tmsecs`/`tmicros` epoch milliseconds/microseconds; `ltime`,
 * `ctime` and a parseable `ftime` as epoch seconds), or null when uWSGI wrote "empty" (`-` in a
 * logformat; nothing in the built-in line). Field names are the logvar names as written inside
 * `%( )`: `addr`, `var.HTTP_X_TEST`, `metric.foo`, a user-defined name.
 */
export type { Fields, FieldValue, RenderSource, RenderValue } from '../types.ts';

export interface UwsgiCompileOptions {
  /**
   * The strftime format of `%(ftime)`: uWSGI's `--logdate=FORMAT` (alias `--log-date`), which
   * `ftime` uses only together with `--logformat-strftime`. Without it `ftime` is written like
   * `ltime`, as uWSGI does. An empty string makes every `ftime` `-`, as in uWSGI.
   */
  readonly logdate?: string;
  /**
   * The zone uWSGI ran in (its `localtime()`): minutes east of UTC, or `'local'` for this
   * process's zone (default). Used to render `ltime`/`ctime`/`ftime` from numbers and Dates, and
   * to read `ctime` (and an `ftime` without `%z`), whose text carries no zone.
   */
  readonly utcOffset?: UtcOffset;
  /**
   * The format describes uWSGI's built-in request line (written when no `--logformat` is set)
   * rather than a logformat: empty values are written as nothing instead of `-`, and the fields
   * only that line has are names: `app`, `app_req`, `req` and `via`. See the `uwsgi-default` preset.
   */
  readonly builtin?: boolean;
}

/** A compiled uWSGI format: compile once, then render and parse many lines. */
export interface CompiledUwsgiFormat extends CompiledFormat {
  readonly dialect: 'uwsgi';
  /** True for the built-in request line (see {@link UwsgiCompileOptions.builtin}). */
  readonly builtin: boolean;
  readonly logdate: string | undefined;
  readonly segments: readonly UwsgiSegment[];
  /** Every logvar the format uses, once each, in order of first use. */
  readonly variables: readonly UwsgiLogvarInfo[];
  /** Renders one line (without the trailing newline). */
  render(vars: RenderSource): string;
  /** Parses one line (without its newline) into typed fields, or returns the reason it does not match. */
  parse(line: string): Fields | LineParseError;
  /** Splits one line into the raw text of each logvar occurrence, in format order. */
  split(line: string): string[] | LineParseError;
}
