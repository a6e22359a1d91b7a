/**
 * The filter box's expression language, and its inverse (the box shows the active filters as
 * an expression, so submitting it unchanged is a no-op).
 *
 * ```
 * expression := "" | condition ( ("AND" | "&&") condition )*        AND is case-insensitive
 * condition  := field op value
 * field      := website | prefix | uri | status | upstream | method
 * op         := "=" | "=="                                           exact match, any field
 *             | "!=" | "<" | "<=" | ">" | ">="                       status only
 *             | "~=" | "=~" | "~"                                    regular expression, website and uri
 *             | "!~=" | "!~"                                         negated regular expression
 * value      := bare | '"' chars '"' | "'" chars "'"
 * ```
 * A bare value runs to the next whitespace and is taken literally (backslashes included, so
 * `website~=^api\.` works). Quoted values may contain spaces; inside them only `\\` and the
 * quote itself are escapes. Each filter may be given once.
 * @module
 */
import {
  checkFilter,
  FILTER_KEYS,
  type FilterKey,
  type Filters,
  type RegexFilter,
  type ViewState,
} from './state.ts';

const FIELDS = ['website', 'prefix', 'uri', 'status', 'upstream', 'method'] as const;
type Field = (typeof FIELDS)[number];

/** Longest first, so `>=` is not read as `>`. */
const OPS = ['!~=', '~=', '=~', '!~', '>=', '<=', '!=', '==', '=', '~', '<', '>'] as const;
type Op = (typeof OPS)[number];

export class ExpressionError extends Error {
  /** 1-based column of the problem in the expression. */
  readonly column: number;
  constructor(message: string, column: number) {
    super(`column ${column}: ${message}`);
    this.name = 'ExpressionError';
    this.column = column;
  }
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

/** Parses an expression into filters, or throws an ExpressionError naming the column. */
export function parseExpression(input: string): Filters {
  const out: Record<string, string | RegexFilter> = {};
  let i = 0;
  const skip = () => {
    while (isSpace(input[i])) i++;
  };
  skip();
  if (i === input.length) return {};
  for (;;) {
    // field
    const fieldAt = i;
    while (i < input.length && /[A-Za-z_]/.test(input[i] as string)) i++;
    const name = input.slice(fieldAt, i).toLowerCase();
    if (name === '') {
      throw new ExpressionError(`expected a field (${FIELDS.join(', ')})`, fieldAt + 1);
    }
    if (!(FIELDS as readonly string[]).includes(name)) {
      throw new ExpressionError(`unknown field "${name}" (expected ${FIELDS.join(', ')})`, fieldAt + 1);
    }
    const field = name as Field;
    skip();
    // operator
    const opAt = i;
    const op = OPS.find((o) => input.startsWith(o, i)) as Op | undefined;
    if (op === undefined) {
      throw new ExpressionError(`expected an operator after ${field} (= != < <= > >= ~= !~=)`, opAt + 1);
    }
    i += op.length;
    skip();
    // value
    const valueAt = i;
    let value = '';
    const q = input[i];
    if (q === '"' || q === "'") {
      i++;
      let closed = false;
      while (i < input.length) {
        const c = input[i] as string;
        if (c === '\\' && (input[i + 1] === q || input[i + 1] === '\\')) {
          value += input[i + 1];
          i += 2;
        } else if (c === q) {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) throw new ExpressionError(`unterminated ${q} quote`, valueAt + 1);
    } else {
      while (i < input.length && !isSpace(input[i])) value += input[i++];
      if (value === '') throw new ExpressionError(`expected a value after ${field}${op}`, valueAt + 1);
    }
    addCondition(out, field, op, value, fieldAt + 1);
    // AND or the end
    skip();
    if (i === input.length) break;
    const andAt = i;
    const word = /^(?:and\b|&&)/i.exec(input.slice(i));
    if (!word) throw new ExpressionError('expected AND between conditions', andAt + 1);
    i += word[0].length;
    skip();
    if (i === input.length) throw new ExpressionError('expected a condition after AND', i + 1);
  }
  return out as Filters;
}

function addCondition(
  out: Record<string, string | RegexFilter>,
  field: Field,
  op: Op,
  value: string,
  column: number,
): void {
  const regex = op === '~=' || op === '=~' || op === '~' || op === '!~=' || op === '!~';
  const exact = op === '=' || op === '==';
  let key: FilterKey;
  let canonical = value;
  if (regex) {
    if (field !== 'website' && field !== 'uri') {
      throw new ExpressionError(`${op} (regular expression) applies to website and uri only`, column);
    }
    key = field === 'website' ? 'websiteRe' : 'uriRe';
  } else if (field === 'status') {
    key = 'status';
    canonical = exact ? value : `${op}${value}`;
  } else if (exact) {
    key = field;
  } else {
    throw new ExpressionError(
      `${op} applies to status only (use = for an exact ${field}, or ~= / !~= for a regular expression)`,
      column,
    );
  }
  if (out[key] !== undefined) {
    throw new ExpressionError(`${regex ? `a regular expression on ${field}` : field} is given twice`, column);
  }
  const checked = checkFilter(key, canonical);
  if (!checked.ok) throw new ExpressionError(checked.error.replace(/^f_(\w+?)_re:/, '$1:'), column);
  out[key] = regex ? { source: checked.value, negate: op.startsWith('!') } : checked.value;
}

/** A value as the expression language reads it back: bare when possible, else double-quoted. */
export function quoteValue(v: string): string {
  if (v !== '' && !/[\s"']/.test(v[0] as string) && !/\s/.test(v)) return v;
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** One filter as a condition: `website=api.example.com`, `status>=400`, `uri!~=^/health`. */
export function conditionText(key: FilterKey, f: Filters): string {
  const v = f[key];
  if (v === undefined) return '';
  if (typeof v !== 'string') {
    return `${key === 'websiteRe' ? 'website' : 'uri'}${v.negate ? '!~=' : '~='}${quoteValue(v.source)}`;
  }
  if (key === 'status') {
    const m = /^(!=|<=|>=|<|>)(.*)$/.exec(v);
    return m ? `status${m[1]}${m[2]}` : `status=${v}`;
  }
  return `${key}=${quoteValue(v)}`;
}

/** The filters of a state as one expression (what the filter box shows). */
export function toExpression(f: Filters): string {
  return FILTER_KEYS.filter((k) => f[k] !== undefined)
    .map((k) => conditionText(k, f))
    .join(' AND ');
}

/** The state the filter box's submission asks for: `base` with its filters replaced. */
export function applyExpression(base: ViewState, expression: string): ViewState {
  return { ...base, filters: parseExpression(expression) };
}
