/**
 * Regular expressions from clients (query filters, the dashboard, the CLI): compiled with RE2
 * semantics through re2js, whose matching is linear in the input, so no pattern can freeze a
 * daemon (`a*a*a*!`, `(?:[ab]?){40}!`, `(a+)+$` answer in time proportional to the value). RE2
 * has no backreferences or lookaround; such patterns are refused with RE2's own message.
 * @module
 */
import { RE2JS } from 're2js';

/** Longest regular expression a query may use. */
export const MAX_REGEX_LENGTH = 256;

export interface ClientRegex {
  test(value: string): boolean;
  /** A plain-text pattern: its text and anchors (what `test` compares). */
  readonly literal?: Literal;
}

/** Plain text, optionally anchored at the start, the end, or both (equal). */
export interface Literal {
  readonly text: string;
  readonly start: boolean;
  readonly end: boolean;
}

/**
 * Compiles a client's pattern.
 * @throws RangeError `longer than 256 characters` or `invalid regular expression: …`.
 */
export function compileClientRegex(source: string): ClientRegex {
  if (source.length > MAX_REGEX_LENGTH) throw new RangeError(`longer than ${MAX_REGEX_LENGTH} characters`);
  const literal = literalOf(source);
  if (literal) return { test: literalTest(literal), literal };
  let p: RE2JS;
  try {
    p = RE2JS.compile(source);
  } catch (e) {
    throw new RangeError(`invalid regular expression: ${(e as Error).message}`);
  }
  return { test: (value) => p.test(value) };
}

/**
 * A pattern that is plain text, optionally anchored (`^/api/`, `/wp-login`, `^/$`; not `.php`,
 * whose `.` is any character), tested as a string comparison: what RE2 answers (case-sensitive,
 * `$` at the end of the text only), at a fraction of its cost. Undefined for any other pattern.
 */
function literalOf(source: string): Literal | undefined {
  const m = /^(\^?)([^\\.+*?()|[\]{}^$]*)(\$?)$/.exec(source);
  if (!m) return undefined;
  return { text: m[2] as string, start: m[1] === '^', end: m[3] === '$' };
}

function literalTest({ text, start, end }: Literal): (value: string) => boolean {
  if (start && end) return (v) => v === text;
  if (start) return (v) => v.startsWith(text);
  if (end) return (v) => v.endsWith(text);
  return (v) => v.includes(text);
}

/** Why a client's pattern is refused, or undefined when it compiles. */
export function clientRegexProblem(source: string): string | undefined {
  try {
    compileClientRegex(source);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
