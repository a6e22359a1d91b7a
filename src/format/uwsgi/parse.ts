/**
 * Compiles the parser half of a uWSGI format: line → typed fields. uWSGI escapes nothing, so a
 * field ends where the literal text that follows it in the format (its anchor) occurs, and a value
 * may contain its own anchor (`"ua "q" \ é"` inside `"%(uagent)"`). Three parsers, one answer:
 *
 * - the generated scanner: the first occurrence of each anchor (`indexOf`), integers read in place,
 *   every field checked against its type; fastest for text-heavy formats (Apache-combined);
 * - the generated matcher: the same split by one linear-time regular expression (atomic groups,
 *   no catastrophic backtracking); fastest for formats made of numbers (uWSGI's built-in line);
 * - the search, when the first-occurrence split is not valid (a value holds its own anchor, two
 *   logvars touch): each field as short as possible such that every field converts and the rest
 *   of the line matches, i.e. the split uWSGI must have written when it is unambiguous. It
 *   remembers failed (field, position) pairs, so it is polynomial even on lines that do not
 *   match, where a backtracking regular expression can take minutes.
 *
 * This module builds the layout (typed converters, hints, the strategy); the shared compiler
 * (`../scanner.ts`) generates the parsers and runs the search.
 *
 * Values are never empty in a logformat (uWSGI writes `-`), and typed fields only hold their own
 * texts (C integers have no leading zeros), which removes most ambiguity.
 * @module
 */

import {
  type CompiledScanner,
  type Converter,
  compileScanner,
  type ScanField,
  type TextCache,
} from '../scanner.ts';
import type { UwsgiLogvarType } from './logvars.ts';
import type { RenderContext } from './render.ts';
import { compileStrftime, ctimeParser, parseTimeLocal } from './time.ts';

/** A C `%d`/`%llu` text: digits without a leading zero (`0` itself is fine). */
function parseUint(s: string): number | undefined {
  const n = s.length;
  if (n === 0 || (n > 1 && s.charCodeAt(0) === 0x30)) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return n > 15 ? Number(s) : v;
}

function parseSigned(s: string): number | undefined {
  if (s.charCodeAt(0) !== 0x2d) return parseUint(s);
  const v = parseUint(s.slice(1));
  return v === undefined || v === 0 ? undefined : -v;
}

const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d*)?$/;

function parseDecimal(s: string): number | undefined {
  return DECIMAL.test(s) ? +s : undefined;
}

function parseVia(s: string): string | null | undefined {
  if (s === ' ') return null;
  if (s.length > 8 && s.startsWith(' via ') && s.endsWith('() ')) return s.slice(5, -3);
  return undefined;
}

interface FieldParser {
  readonly convert: Converter;
  /** For time fields: the last text and value, so the scanner can skip converting a repeat. */
  readonly cache: TextCache | null;
}

function cachedTime(parse: (s: string) => number, empty: string): FieldParser {
  const cache: TextCache = { text: '', value: 0 };
  const convert: Converter = (s) => {
    if (s === empty) return null;
    if (s === cache.text && s !== '') return cache.value;
    const v = parse(s);
    if (Number.isNaN(v)) return undefined;
    cache.text = s;
    cache.value = v;
    return v;
  };
  return { convert, cache };
}

function fieldParser(type: UwsgiLogvarType, ctx: RenderContext): FieldParser {
  // What uWSGI writes for an empty value: `-` in a logformat, nothing in the built-in line.
  const empty = ctx.builtin ? '' : '-';
  const plain = (convert: Converter): FieldParser => ({ convert, cache: null });
  switch (type) {
    case 'int':
    case 'epoch':
    case 'epoch_ms':
    case 'epoch_us':
      return plain((s) => (s === empty ? null : parseUint(s)));
    case 'signed':
      return plain((s) => (s === empty ? null : parseSigned(s)));
    case 'seconds':
      return plain((s) => (s === empty ? null : parseDecimal(s)));
    case 'ltime':
      return cachedTime(parseTimeLocal, empty);
    case 'ctime':
      return cachedTime(ctimeParser(ctx.tz), empty);
    case 'ftime': {
      if (ctx.logdate === undefined) return fieldParser('ltime', ctx);
      const st = compileStrftime(ctx.logdate, ctx.tz);
      const whole = new RegExp(`^(?:${st.pattern})$`);
      return plain((s) => {
        if (s === empty) return null;
        const v = st.parse(s);
        if (v !== undefined) return v;
        return whole.test(s) ? s : undefined;
      });
    }
    case 'via':
      return plain(parseVia);
    default:
      // Strings: uWSGI never writes an empty value in a logformat.
      return plain(
        ctx.builtin ? (s) => (s === '' ? null : s) : (s) => (s === '' ? undefined : s === '-' ? null : s),
      );
  }
}

/** The longest text a typed field can have (a bound on the search); strings are unbounded. */
function maxLength(type: UwsgiLogvarType): number {
  switch (type) {
    case 'int':
    case 'signed':
    case 'epoch':
    case 'epoch_ms':
    case 'epoch_us':
      return 21;
    case 'seconds':
      return 48;
    case 'ltime':
    case 'ctime':
      return 40;
    case 'ftime':
      return 64; // uWSGI's buffer
    default:
      return Number.POSITIVE_INFINITY;
  }
}

/** Builds `parse(line)` and `split(line)` from the logvars of a format and the literal text around them. */
export function compileParser(
  prefix: string,
  names: readonly string[],
  types: readonly UwsgiLogvarType[],
  /** The literal text after each logvar. */
  anchors: readonly string[],
  ctx: RenderContext,
  /** Which parser to generate; `auto` picks by the format (tests compare them). */
  strategy: 'auto' | 'scanner' | 'matcher' | 'search' = 'auto',
): CompiledScanner & {
  /** Whether the layout's byte projection splits lines as `parse` does (see ../scanner.ts). */
  readonly projectable: boolean;
} {
  const n = names.length;
  // What uWSGI writes for an empty value: `-` in a logformat, nothing in the built-in line.
  const empty = ctx.builtin ? '' : '-';
  const fields: ScanField[] = names.map((name, i) => {
    const type = types[i] as UwsgiLogvarType;
    const anchor = anchors[i] as string;
    const { convert, cache } = fieldParser(type, ctx);
    return {
      name,
      label: `%(${name})`,
      anchor,
      convert,
      maxLength: maxLength(type),
      // The texts the converter maps to null (`via`: ` `, the response went out normally).
      nulls: type === 'via' ? [' '] : [empty],
      bytes: byteKind(type, ctx.builtin),
      integer: INTEGER.has(type) ? (type === 'signed' ? 'signed' : 'unsigned') : undefined,
      // ` `: the response went out normally.
      quickNull: type === 'via' ? ' ' : undefined,
      // A time text cannot hold an anchor that starts with none of its characters.
      cache: cache !== null && anchor !== '' && !TIME_CHARS.test(anchor[0] as string) ? cache : undefined,
      pattern: INTEGER.has(type)
        ? type === 'signed'
          ? String.raw`0|-?[1-9]\d*`
          : String.raw`0|[1-9]\d*`
        : type === 'ltime'
          ? LTIME_RE
          : type === 'ctime'
            ? CTIME_RE
            : undefined,
    };
  });
  // Formats made mostly of numbers and times (uWSGI's built-in line) parse faster through one
  // linear-time regular expression; text-heavy ones (Apache-combined) through the scanner.
  const typed = types.filter((t) => INTEGER.has(t) || t === 'ltime' || t === 'ctime').length;
  const pick = strategy === 'auto' ? (typed > n - typed ? 'matcher' : 'scanner') : strategy;
  const scanner = compileScanner({ prefix, fields }, { fast: pick });
  return { ...scanner, projectable: pick !== 'matcher' || matchesFirst(fields) };
}

/**
 * What each type's converter does, for the byte projection (see ScanField.bytes): strings are
 * every text but `''` (a logformat never writes it; the built-in line's null), C integers are
 * `cuint`; the others only their converter knows.
 */
function byteKind(type: UwsgiLogvarType, builtin: boolean): ScanField['bytes'] {
  switch (type) {
    case 'string':
      return builtin ? 'text' : 'nonempty';
    case 'int':
    case 'epoch':
    case 'epoch_ms':
    case 'epoch_us':
      return 'cuint';
    default:
      return undefined;
  }
}

/**
 * Whether the matcher's split is the first-occurrence split whenever the latter is valid (so a
 * projection of the layout, which takes the first occurrence, splits as the parser does). The
 * matcher reads a field with a pattern by its pattern, not up to its anchor; a valid text ends at
 * the anchor's first occurrence, and no other text of the pattern (or null) can end at a later
 * occurrence, because the anchor cannot continue a pattern text (the matcher only uses patterns
 * before anchors that start with no digit or `-`, and integers and times end in digits) — unless
 * the null text is empty and the anchor could start a time (`ctime`: a letter).
 */
function matchesFirst(fields: readonly ScanField[]): boolean {
  return fields.every(
    (f) => f.pattern === undefined || !(f.nulls ?? []).includes('') || !/^[A-Za-z]/.test(f.anchor),
  );
}

/** Characters a valid `ltime`/`ctime` text may hold: an anchor starting with none of them ends it. */
const TIME_CHARS = /[A-Za-z0-9 :/+-]/;

/** Types whose text is a C integer, scanned in place by the generated parser. */
const INTEGER: ReadonlySet<UwsgiLogvarType> = new Set(['int', 'epoch', 'epoch_ms', 'epoch_us', 'signed']);

const LTIME_RE = String.raw`\d\d/[A-Z][a-z][a-z]/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}`;
const CTIME_RE = String.raw`[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ \d]\d \d\d:\d\d:\d\d \d{4,}`;
