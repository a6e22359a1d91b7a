/**
 * Types every dialect of the format engine shares: field values, render input, and the compiled
 * format interface (`render` record → line, `parse` line → fields).
 * @module
 */
import type { LineParseError } from './errors.ts';
import type { ScanLayout } from './scanner.ts';

/** The dialects logtally speaks. */
export type Dialect = 'nginx' | 'uwsgi' | 'envoy';

/**
 * A parsed field: text, a number, a boolean (Envoy typed JSON), null when the server wrote
 * "not set", a list (nginx upstream lists are arrays of groups), or a nested object (Envoy
 * metadata in typed JSON).
 */
export type FieldValue = string | number | boolean | null | readonly FieldValue[] | FieldObject;

/** A nested value of a field. */
export interface FieldObject {
  readonly [key: string]: FieldValue;
}

/** Parsed fields by variable name (the dialect's own spelling, see each dialect). */
export type Fields = Record<string, FieldValue>;

/** What `render` accepts for a variable: anything `parse` returns, plus Dates and bigints. */
export type RenderValue = FieldValue | Date | bigint | undefined;

/** Variables for `render`: an object, or a function called once per variable occurrence. */
export type RenderSource = Readonly<Record<string, RenderValue>> | ((name: string) => RenderValue);

/** One variable a format uses. `type` is the dialect's own type name. */
export interface FormatVariable {
  readonly name: string;
  readonly type: string;
  /** True when the dialect's table knows the name. */
  readonly known: boolean;
}

/** A compiled log format of any dialect: compile once, then render and parse many lines. */
export interface CompiledFormat {
  readonly dialect: Dialect;
  /** The format as given (for JSON dictionaries, their JSON text). */
  readonly format: string;
  /** Every variable the format uses, once each, in order of first use. */
  readonly variables: readonly FormatVariable[];
  /** Renders one line, without the trailing newline. */
  render(vars: RenderSource): string;
  /** Parses one line (without its newline) into typed fields, or returns why it does not match. */
  parse(line: string): Fields | LineParseError;
  /** The layout `parse` was compiled from (text formats): for a projection on bytes (../scanner.ts). */
  readonly layout?: ScanLayout;
}
