/**
 * Types of the Envoy dialect.
 *
 * Field names (parse output, render input) are the operators as written, without the `%` and
 * without the `:Z` truncation: `START_TIME`, `START_TIME(%Y/%m/%dT%H:%M:%S%z)`, `REQ(:METHOD)`,
 * `REQ(X-ENVOY-ORIGINAL-PATH?:PATH)`, `DURATION`, `RESPONSE_FLAGS`,
 * `DYNAMIC_METADATA(com.test.my_filter:test_key)`.
 * @module
 */
import type { LineParseError } from '../errors.ts';
import type { CompiledFormat, Fields, FormatVariable, RenderSource } from '../types.ts';
import type { JsonStyle } from './json.ts';
import type { EnvoyValueType } from './operators.ts';
import type { UtcOffset } from './time.ts';
import type { EnvoyOperator, EnvoySegment } from './tokenize.ts';

export type { Fields, FieldValue, RenderSource, RenderValue } from '../types.ts';

export interface EnvoyCompileOptions {
  /**
   * Offset for the strftime formats of time operators (`%z`, `%H`, …): minutes east of UTC, or
   * `'local'`. Default 0: Envoy formats times in UTC. The default `%START_TIME%` text is always UTC.
   */
  readonly utcOffset?: UtcOffset;
  /**
   * `omit_empty_values`: an unset value is written as nothing instead of `-` in text formats,
   * and its key is left out of format dictionaries.
   */
  readonly omitEmptyValues?: boolean;
  /** How JSON text (metadata values, dictionaries) is written; default `reference`. See ./json.ts. */
  readonly jsonStyle?: JsonStyle;
}

export interface EnvoyJsonOptions extends EnvoyCompileOptions {
  /** `typed_json_format` (true) or `json_format` (false). */
  readonly typed: boolean;
}

/** One variable (operator key) a format uses. */
export interface EnvoyVariable extends FormatVariable {
  readonly type: EnvoyValueType;
}

/** A compiled Envoy format: a text format string, `json_format` or `typed_json_format`. */
export interface CompiledEnvoyFormat extends CompiledFormat {
  readonly dialect: 'envoy';
  /** `text`: a format string; `json` / `typed_json`: a format dictionary. */
  readonly kind: 'text' | 'json' | 'typed_json';
  /**
   * True when Envoy ends every record with a newline: a text format whose last character is
   * `\n` (like the default format), and every dictionary format. `render` returns the record
   * without that newline and `parse` takes it without; a writer appends `\n` when this is true
   * (and writes records back to back when it is false, as Envoy does).
   */
  readonly lineTerminated: boolean;
  readonly omitEmptyValues: boolean;
  readonly jsonStyle: JsonStyle;
  /** Every operator occurrence, in order. */
  readonly operators: readonly EnvoyOperator[];
  /** Every variable the format uses, once each, in order of first use. */
  readonly variables: readonly EnvoyVariable[];
  /** Text formats: literal text and operators (without the final newline). Empty for dictionaries. */
  readonly segments: readonly EnvoySegment[];
  render(vars: RenderSource): string;
  parse(line: string): Fields | LineParseError;
}
