/**
 * Splits an Envoy format string into literal text and command operators: `%OPERATOR%`,
 * `%OPERATOR(args)%`, `%OPERATOR(args):Z%` (Z: truncate to Z bytes) and `%%` (a literal `%`).
 * Operator names are `[A-Z0-9_]+`; arguments run to the first `)` (Envoy's grammar: they cannot
 * contain `)`, and may contain `%`, as in `%START_TIME(%s.%3f)%`).
 * @see ../../../../shared/reference/003_99840bf44b1c28b9.txt
 * @module
 */
import { FormatSyntaxError } from '../errors.ts';
import { type EnvoyValueType, envoyOperator, METADATA_TYPES } from './operators.ts';
import { compileTimeFormat, type UtcOffset } from './time.ts';

/** One command operator occurrence, with its arguments parsed. */
export interface EnvoyOperator {
  /** The field name: the operator as written without `%` and `:Z` (`REQ(X-ENVOY-ORIGINAL-PATH?:PATH)`). */
  readonly key: string;
  /** `REQ`, `START_TIME`, … */
  readonly name: string;
  /** The text between the parentheses; undefined without parentheses. */
  readonly args?: string;
  /** `:Z`: the value is cut to its first Z bytes. */
  readonly truncate?: number;
  /** 1-based column of the opening `%` in the format string. */
  readonly column: number;
  readonly type: EnvoyValueType;
  /** REQ/RESP/TRAILER: the header and its alternative, as written. */
  readonly headers?: readonly string[];
  /** DYNAMIC_METADATA/CLUSTER_METADATA: [namespace, ...keys]; METADATA: [TYPE, namespace, ...keys]. */
  readonly path?: readonly string[];
  /** FILTER_STATE: the serialisation (`TYPED` unless `PLAIN` is given). */
  readonly serialize?: 'PLAIN' | 'TYPED';
  /** Time operators: the strftime format (undefined: Envoy's default text). */
  readonly timeFormat?: string;
}

export type EnvoySegment =
  | { readonly kind: 'literal'; readonly text: string; readonly column: number }
  | { readonly kind: 'operator'; readonly op: EnvoyOperator };

function isNameChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/**
 * Tokenizes a format string. Adjacent literal text (including `%%`) is merged.
 * @throws FormatSyntaxError with the 1-based column of the problem: the `%` of an unknown,
 *   unterminated or malformed operator, or the offending character of its arguments or `:Z`.
 */
export function tokenizeEnvoyFormat(format: string, tz: UtcOffset = 0): EnvoySegment[] {
  const out: EnvoySegment[] = [];
  let literal = '';
  let literalStart = 0;
  const n = format.length;
  let i = 0;
  while (i < n) {
    const ch = format.charCodeAt(i);
    if (ch !== 0x25 /* % */) {
      if (literal === '') literalStart = i;
      literal += format[i];
      i++;
      continue;
    }
    if (format.charCodeAt(i + 1) === 0x25) {
      if (literal === '') literalStart = i;
      literal += '%';
      i += 2;
      continue;
    }
    const start = i;
    const col = start + 1;
    i++;
    while (i < n && isNameChar(format.charCodeAt(i))) i++;
    const name = format.slice(start + 1, i);
    if (name === '') {
      throw new FormatSyntaxError(
        i >= n
          ? 'unterminated command operator: "%" at the end of the format (write "%%" for a literal "%")'
          : `invalid command operator: "%" must be followed by an operator name [A-Z0-9_] or "%", not ${JSON.stringify(format[i])}`,
        col,
      );
    }
    let args: string | undefined;
    let argsAt = -1;
    if (format.charCodeAt(i) === 0x28 /* ( */) {
      const close = format.indexOf(')', i + 1);
      if (close === -1) throw new FormatSyntaxError(`missing ")" after the arguments of ${name}`, i + 1);
      argsAt = i + 1;
      args = format.slice(i + 1, close);
      i = close + 1;
    }
    let truncate: number | undefined;
    if (format.charCodeAt(i) === 0x3a /* : */) {
      const colon = i;
      i++;
      const d0 = i;
      while (i < n && format.charCodeAt(i) >= 0x30 && format.charCodeAt(i) <= 0x39) i++;
      if (i === d0) {
        throw new FormatSyntaxError(
          `the length after ":" in ${name} must be a non-negative integer`,
          colon + 1,
        );
      }
      truncate = Number(format.slice(d0, i));
      if (!Number.isSafeInteger(truncate)) {
        throw new FormatSyntaxError(`the length after ":" in ${name} is too large`, colon + 2);
      }
    }
    if (format.charCodeAt(i) !== 0x25) {
      throw new FormatSyntaxError(
        i >= n
          ? `unterminated command operator %${name}: missing the closing "%"`
          : `expected "%" to close %${name}, found ${JSON.stringify(format[i])}`,
        i >= n ? col : i + 1,
      );
    }
    i++;
    const info = envoyOperator(name);
    if (!info) throw new FormatSyntaxError(`unknown command operator %${name}%`, col);
    const key = args === undefined ? name : `${name}(${args})`;
    const op = operatorArgs(name, info.type, info.args, args, argsAt, key, col, tz);
    if (truncate !== undefined) (op as { truncate?: number }).truncate = truncate;
    if (literal !== '') {
      out.push({ kind: 'literal', text: literal, column: literalStart + 1 });
      literal = '';
    }
    out.push({ kind: 'operator', op });
  }
  if (literal !== '') out.push({ kind: 'literal', text: literal, column: literalStart + 1 });
  return out;
}

function operatorArgs(
  name: string,
  type: EnvoyValueType,
  kind: string,
  args: string | undefined,
  argsAt: number,
  key: string,
  column: number,
  tz: UtcOffset,
): EnvoyOperator {
  const base = { key, name, column, type };
  const argCol = argsAt + 1;
  if (kind === 'none') {
    if (args !== undefined) throw new FormatSyntaxError(`%${name}% takes no arguments`, argsAt);
    return base;
  }
  if (kind === 'time_format') {
    // Validates the format (and reports the column of a bad specifier).
    compileTimeFormat(args, tz, argCol);
    if (args === undefined) return base;
    return args === '' ? { ...base, args } : { ...base, args, timeFormat: args };
  }
  if (args === undefined) {
    const what =
      kind === 'header'
        ? '(HEADER) or (HEADER?ALTERNATIVE)'
        : kind === 'filter_state'
          ? '(KEY) or (KEY:PLAIN|TYPED)'
          : kind === 'typed_metadata'
            ? '(TYPE:NAMESPACE:KEY…)'
            : '(NAMESPACE) or (NAMESPACE:KEY:…)';
    throw new FormatSyntaxError(`%${name}% needs arguments: ${name}${what}`, column);
  }
  switch (kind) {
    case 'header': {
      const parts = args.split('?');
      if (parts.length > 2) {
        throw new FormatSyntaxError(
          `more than one alternative header in ${key}`,
          argCol + (parts[0] as string).length + 1 + (parts[1] as string).length,
        );
      }
      if (parts[0] === '') throw new FormatSyntaxError(`missing header name in ${key}`, argCol);
      const nl = args.search(/[\r\n\0]/);
      if (nl !== -1)
        throw new FormatSyntaxError(`a header name must not contain a newline or NUL`, argCol + nl);
      const headers = parts[1] === undefined || parts[1] === '' ? [parts[0] as string] : parts;
      const token = headers.every((h) => TOKEN_HEADER_NAMES.has(h.toLowerCase()));
      return { ...base, type: token ? 'token' : type, args, headers };
    }
    case 'metadata':
    case 'typed_metadata': {
      const path = args.split(':');
      if (kind === 'typed_metadata') {
        if (!METADATA_TYPES.includes(path[0] as string)) {
          throw new FormatSyntaxError(
            `unknown metadata type ${JSON.stringify(path[0])} in ${key} (expected ${METADATA_TYPES.join(', ')})`,
            argCol,
          );
        }
        if (path.length < 2 || path[1] === '') {
          throw new FormatSyntaxError(`missing namespace in ${key}`, argCol + (path[0] as string).length + 1);
        }
      } else if (path[0] === '') {
        throw new FormatSyntaxError(`missing namespace in ${key}`, argCol);
      }
      return { ...base, args, path };
    }
    default: {
      // filter_state
      const parts = args.split(':');
      if (parts[0] === '') throw new FormatSyntaxError(`missing key in ${key}`, argCol);
      if (parts.length > 2) {
        throw new FormatSyntaxError(
          `too many arguments in ${key} (expected KEY or KEY:PLAIN|TYPED)`,
          argCol + (parts[0] as string).length + 1 + (parts[1] as string).length,
        );
      }
      const f = parts[1] ?? '';
      if (f !== '' && f !== 'PLAIN' && f !== 'TYPED') {
        throw new FormatSyntaxError(
          `invalid filter state serialization ${JSON.stringify(f)} in ${key} (expected PLAIN or TYPED)`,
          argCol + (parts[0] as string).length + 1,
        );
      }
      return { ...base, args, path: [parts[0] as string], serialize: f === 'PLAIN' ? 'PLAIN' : 'TYPED' };
    }
  }
}

const TOKEN_HEADER_NAMES: ReadonlySet<string> = new Set([
  ':method',
  ':scheme',
  ':authority',
  ':status',
  'host',
]);

/**
 * Which occurrence of each field a parser reports when an operator appears more than once: one
 * without truncation if there is one, else the one truncated least (ties: the last), so that a
 * parsed record keeps the most of the value. Keys in order of first use.
 */
export function fieldWinners(ops: readonly EnvoyOperator[]): Map<string, EnvoyOperator> {
  const out = new Map<string, EnvoyOperator>();
  for (const op of ops) {
    const cur = out.get(op.key);
    if (
      cur === undefined ||
      (op.truncate ?? Number.POSITIVE_INFINITY) >= (cur.truncate ?? Number.POSITIVE_INFINITY)
    ) {
      out.set(op.key, op);
    }
  }
  return out;
}
