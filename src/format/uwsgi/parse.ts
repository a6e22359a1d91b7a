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
 * Values are never empty in a logformat (uWSGI writes `-`), and typed fields only hold their own
 * texts (C integers have no leading zeros), which removes most ambiguity.
 * @module
 */

import { LineParseError } from '../errors.ts';
import { scanCost, searchBudget } from '../search-budget.ts';
import type { UwsgiLogvarType } from './logvars.ts';
import type { RenderContext } from './render.ts';
import { compileStrftime, ctimeParser, parseTimeLocal } from './time.ts';
import type { Fields, FieldValue } from './types.ts';

/** Converts the text of one field; `undefined` means the text is not valid for the type. */
type Converter = (raw: string) => FieldValue | undefined;

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

/** The last time text a converter accepted, and its value (for the generated scanner). */
interface TextCache {
  text: string;
  value: number;
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
    if (s === cache.text) return cache.value;
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

function show(s: string): string {
  return JSON.stringify(s);
}

/** Sets a field, also when its name is `__proto__`. */
function setField(out: Fields, name: string, v: FieldValue): void {
  if (name === '__proto__')
    Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
  else out[name] = v;
}

export interface CompiledParser {
  parse(line: string): Fields | LineParseError;
  split(line: string): string[] | LineParseError;
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
): CompiledParser {
  const n = names.length;
  const fields = types.map((t) => fieldParser(t, ctx));
  const converters = fields.map((f) => f.convert);
  const caches = fields.map((f) => f.cache);
  const scannable = anchors.every((a, i) => a !== '' || i === n - 1);
  const limits = types.map(maxLength);

  /**
   * Finds the split uWSGI must have written: fields in order, each as short as possible such
   * that every field converts and the rest of the line matches (a backtracking regular
   * expression would find the same split, but can take exponential time on a line that does not
   * match). Failed (field, position) pairs are remembered, so the search is polynomial; it gives
   * up when its work passes `searchBudget` (characters sliced, converted and scanned). Fills `texts` and `values`; false when there is no split.
   */
  function search(line: string, texts: string[], values: FieldValue[]): boolean | 'budget' {
    if (!line.startsWith(prefix)) return false;
    const len = line.length;
    const size = (n + 1) * (len + 1);
    // A bitmap for ordinary lines; a set for huge ones, where only few pairs are ever visited.
    const bits = size <= 4_000_000 ? new Uint8Array(size) : null;
    const set = bits === null ? new Set<number>() : null;
    const total = searchBudget(len);
    let budget = total;
    const at = (i: number, pos: number): boolean | 'budget' => {
      if (i === n) return pos === len;
      const key = i * (len + 1) + pos;
      if (bits !== null ? bits[key] === 1 : set?.has(key)) return false;
      const anchor = anchors[i] as string;
      const convert = converters[i] as Converter;
      const tryEnd = (end: number): boolean | 'budget' => {
        budget -= 16 + end - pos; // slicing and converting this candidate
        if (budget < 0) return 'budget';
        const raw = line.slice(pos, end);
        const v = convert(raw);
        if (v === undefined) return false;
        const r = at(i + 1, end + anchor.length);
        if (r === true) {
          texts[i] = raw;
          values[i] = v;
        }
        return r;
      };
      let r: boolean | 'budget' = false;
      if (i === n - 1) {
        const end = len - anchor.length;
        if (end >= pos && line.endsWith(anchor)) r = tryEnd(end);
      } else {
        const limit = Math.min(len, pos + (limits[i] as number));
        if (anchor === '') {
          for (let end = pos; end <= limit && r === false; end++) r = tryEnd(end);
        } else {
          // Each anchor search is charged for the characters it looks at.
          let end = line.indexOf(anchor, pos);
          budget -= scanCost(end, pos, len);
          while (end !== -1 && end <= limit && r === false && budget >= 0) {
            r = tryEnd(end);
            const from = end + 1;
            end = line.indexOf(anchor, from);
            budget -= scanCost(end, from, len);
          }
          if (r === false && budget < 0) r = 'budget';
        }
      }
      if (r === false) {
        if (bits !== null) bits[key] = 1;
        else set?.add(key);
      }
      return r;
    };
    return at(0, prefix.length);
  }

  function notFound(line: string, r: false | 'budget'): LineParseError {
    if (r === 'budget') {
      return new LineParseError(
        `ambiguous line: gave up searching for a split that matches the format (work bound ${searchBudget(line.length)})`,
        1,
      );
    }
    return explain(line);
  }

  /** Fills `out` with raw field texts using first-occurrence anchors; false when an anchor is missing. */
  function scan(line: string, out: string[]): boolean {
    if (!line.startsWith(prefix)) return false;
    let pos = prefix.length;
    for (let i = 0; i < n; i++) {
      const anchor = anchors[i] as string;
      let end: number;
      if (i === n - 1) {
        end = line.length - anchor.length;
        if (end < pos || !line.endsWith(anchor)) return false;
      } else {
        end = line.indexOf(anchor, pos);
        if (end === -1) return false;
      }
      out[i] = line.slice(pos, end);
      pos = end + anchor.length;
    }
    return true;
  }

  /** Why a line does not match: the first anchor missing or field invalid along the fast split. */
  function explain(line: string): LineParseError {
    if (!line.startsWith(prefix)) {
      return new LineParseError(`expected ${show(prefix)} at the start of the line`, 1);
    }
    let pos = prefix.length;
    for (let i = 0; i < n; i++) {
      const anchor = anchors[i] as string;
      const last = i === n - 1;
      const end = last ? line.length - anchor.length : line.indexOf(anchor, pos);
      if (end < pos || (last && !line.endsWith(anchor))) {
        return new LineParseError(
          last && anchor === ''
            ? `unexpected end of line in %(${names[i]})`
            : `expected ${show(anchor)} after %(${names[i]})`,
          last ? Math.max(pos, end) + 1 : pos + 1,
        );
      }
      const raw = line.slice(pos, end);
      if ((converters[i] as Converter)(raw) === undefined) {
        return new LineParseError(`invalid value ${show(raw)} for %(${names[i]})`, pos + 1);
      }
      pos = end + anchor.length;
    }
    return new LineParseError('line does not match the format', 1);
  }

  function split(line: string): string[] | LineParseError {
    if (n === 0) return line === prefix ? [] : explain(line);
    if (scannable) {
      const raw: string[] = new Array(n);
      if (scan(line, raw)) {
        let ok = true;
        for (let i = 0; i < n; i++) {
          if ((converters[i] as Converter)(raw[i] as string) === undefined) {
            ok = false;
            break;
          }
        }
        if (ok) return raw;
      }
    }
    const texts: string[] = new Array(n);
    const r = search(line, texts, new Array(n));
    return r === true ? texts : notFound(line, r);
  }

  function slowParse(line: string): Fields | LineParseError {
    const out: Fields = {};
    if (n === 0) return line === prefix ? out : explain(line);
    const values: FieldValue[] = new Array(n);
    const r = search(line, new Array(n), values);
    if (r !== true) return notFound(line, r);
    for (let i = 0; i < n; i++) setField(out, names[i] as string, values[i] as FieldValue);
    return out;
  }

  // Formats made mostly of numbers and times (uWSGI's built-in line) parse faster through one
  // linear-time regular expression; text-heavy ones (Apache-combined) through the scanner.
  const typed = types.filter((t) => INTEGER.has(t) || t === 'ltime' || t === 'ctime').length;
  const pick = strategy === 'auto' ? (typed > n - typed ? 'matcher' : 'scanner') : strategy;
  const parse =
    !scannable || n === 0 || pick === 'search'
      ? slowParse
      : pick === 'matcher'
        ? generateMatcher(prefix, names, types, anchors, converters, ctx.builtin, slowParse)
        : generateScanner(prefix, names, types, anchors, converters, caches, ctx.builtin, slowParse);
  return { parse, split };
}

/**
 * Source of a test that `text` (available to the generated code as `ref`) occurs in `line` at
 * `at`: inline character comparisons for short texts (a builtin call costs more than the compare).
 */
function textAt(text: string, ref: string, at: string): string {
  if (text === '') return 'true';
  if (text.length > 12) return `line.startsWith(${ref}, ${at})`;
  const parts: string[] = [];
  for (let k = 0; k < text.length; k++) {
    parts.push(`line.charCodeAt(${at === '0' ? k : `${at} + ${k}`}) === ${text.charCodeAt(k)}`);
  }
  return parts.join(' && ');
}

/** Characters a valid `ltime`/`ctime` text may hold: an anchor starting with none of them ends it. */
const TIME_CHARS = /[A-Za-z0-9 :/+-]/;

/**
 * Source of a test that anchor `i` follows a field at `at`, and, for the last field, ends the line.
 * Short anchors are compared inline; long ones with one `startsWith` call.
 */
function anchorTest(i: number, anchor: string, last: boolean, at: string): string {
  const test = anchor.length > 4 ? `line.startsWith(A[${i}], ${at})` : textAt(anchor, `A[${i}]`, at);
  if (!last) return test;
  return `${at} + ${anchor.length} === len${anchor === '' ? '' : ` && ${test}`}`;
}

/** Types whose text is a C integer, scanned in place by the generated parser. */
const INTEGER: ReadonlySet<UwsgiLogvarType> = new Set(['int', 'epoch', 'epoch_ms', 'epoch_us', 'signed']);

/**
 * Generates the scanner for one format as straight-line code: one `indexOf` per anchor of a text
 * field, one converter call per such field, integers read in place (their digits end them, so no
 * search and no substring), and one object literal, so every parsed record has the same shape.
 * Any surprise falls back to `slow` (the search). Only field names enter the source,
 * quoted with JSON.stringify; anchors and converters are passed in as values.
 */
function generateScanner(
  prefix: string,
  names: readonly string[],
  types: readonly UwsgiLogvarType[],
  anchors: readonly string[],
  converters: readonly Converter[],
  caches: readonly (TextCache | null)[],
  builtin: boolean,
  slow: (line: string) => Fields | LineParseError,
): (line: string) => Fields | LineParseError {
  const n = names.length;
  const lastIndex = new Map<string, number>();
  names.forEach((name, i) => {
    lastIndex.set(name, i);
  });
  let body = `if (!(${textAt(prefix, 'P', '0')})) return slow(line);\nconst len = line.length;\nlet pos = ${prefix.length}, end = 0, c = 0;\n`;
  for (let i = 0; i < n; i++) {
    const anchor = anchors[i] as string;
    const last = i === n - 1;
    const type = types[i] as UwsgiLogvarType;
    const first = anchor.charCodeAt(0);
    if (INTEGER.has(type) && !(first >= 0x30 && first <= 0x39) && (anchor !== '' || last)) {
      // The digits end the field: the anchor (which cannot start with a digit) must follow them.
      const anchorAt = (at: string) => anchorTest(i, anchor, last, at);
      const signed = type === 'signed';
      body += `let v${i} = null;\nc = line.charCodeAt(pos);\n`;
      body += `if (c >= 48 && c <= 57${signed ? ' || (c === 45 && (c = line.charCodeAt(pos + 1)) >= 49 && c <= 57)' : ''}) {\n`;
      body += signed
        ? '  const neg = line.charCodeAt(pos) === 45;\n  end = neg ? pos + 1 : pos;\n'
        : '  end = pos;\n';
      body += `  const d0 = end;\n  let x = 0;\n`;
      body +=
        '  while (end < len && (c = line.charCodeAt(end)) >= 48 && c <= 57) { x = x * 10 + (c - 48); end++; }\n';
      body += '  if (end - d0 > 1 && line.charCodeAt(d0) === 48) return slow(line);\n';
      body += '  if (end - d0 > 15) x = +line.slice(d0, end);\n';
      body += `  v${i} = ${signed ? 'neg ? -x : x' : 'x'};\n`;
      body += builtin
        ? `} else if (${anchorAt('pos')}) {\n  end = pos;\n`
        : `} else if (line.charCodeAt(pos) === 45 && ${anchorAt('pos + 1')}) {\n  end = pos + 1;\n`;
      body += '} else return slow(line);\n';
      body += `if (!(${anchorAt('end')})) return slow(line);\n`;
    } else {
      const cache = caches[i];
      const timeSafe = cache !== null && anchor !== '' && !TIME_CHARS.test(anchor[0] as string);
      const viaFast = type === 'via' && anchor !== '';
      if (timeSafe) {
        // The text of the previous line's time repeats: compare in place, reuse its value.
        body += `let v${i};\nconst k${i} = K${i}.text;\n`;
        body += `if (k${i}.length !== 0 && line.startsWith(k${i}, pos) && ${anchorTest(i, anchor, last, `pos + k${i}.length`)}) {\n`;
        body += `  v${i} = K${i}.value;\n  end = pos + k${i}.length;\n} else {\n`;
      } else if (viaFast) {
        // ` `: the response went out normally.
        body += `let v${i};\nif (line.charCodeAt(pos) === 32 && ${anchorTest(i, anchor, last, 'pos + 1')}) {\n`;
        body += `  v${i} = null;\n  end = pos + 1;\n} else {\n`;
      }
      const decl = timeSafe || viaFast ? '' : 'const ';
      if (last) {
        body += `end = len - ${anchor.length};\n`;
        body +=
          anchor === ''
            ? 'if (end < pos) return slow(line);\n'
            : `if (end < pos || !line.endsWith(A[${i}])) return slow(line);\n`;
      } else {
        body += `end = line.indexOf(A[${i}], pos);\nif (end === -1) return slow(line);\n`;
      }
      body += `${decl}v${i} = C${i}(line.slice(pos, end));\nif (v${i} === undefined) return slow(line);\n`;
      if (timeSafe || viaFast) body += '}\n';
    }
    if (!last) body += `pos = end + ${anchor.length};\n`;
  }
  // A computed key creates an own `__proto__` property instead of setting the prototype.
  const key = (name: string) => (name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name));
  const props = [...lastIndex].map(([name, i]) => `${key(name)}: v${i}`).join(', ');
  body += `return { ${props} };`;
  const params = ['P', 'A', 'slow', ...converters.map((_, i) => `C${i}`), ...caches.map((_, i) => `K${i}`)];
  const factory = new Function(...params, `return function parse(line) {\n${body}\n};`) as (
    ...args: unknown[]
  ) => (line: string) => Fields | LineParseError;
  return factory(prefix, anchors, slow, ...converters, ...caches);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const LTIME_RE = String.raw`\d\d/[A-Z][a-z][a-z]/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}`;
const CTIME_RE = String.raw`[A-Z][a-z][a-z] [A-Z][a-z][a-z] [ \d]\d \d\d:\d\d:\d\d \d{4,}`;

/**
 * Generates a parser that splits the line with one regular expression and converts the captures
 * in straight-line code. The expression cannot backtrack far (its time is linear in the line): a
 * number or a time followed by literal text is matched by its own fixed pattern, and any other
 * field up to the first occurrence of its anchor with an atomic group (`(?=(.*?)ANCHOR)\N`),
 * which is the scanner's split. When the expression or a conversion fails, `slow` searches.
 */
function generateMatcher(
  prefix: string,
  names: readonly string[],
  types: readonly UwsgiLogvarType[],
  anchors: readonly string[],
  converters: readonly Converter[],
  builtin: boolean,
  slow: (line: string) => Fields | LineParseError,
): (line: string) => Fields | LineParseError {
  const n = names.length;
  // The text of an empty value: nothing in the built-in line, `-` in a logformat.
  const empty = builtin ? '|' : '|-';
  let source = `^${escapeRegExp(prefix)}`;
  let group = 0;
  const capture: number[] = [];
  /** Fields the expression matched as digits (with an optional sign): converted inline. */
  const digits: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const anchor = anchors[i] as string;
    const type = types[i] as UwsgiLogvarType;
    const a = escapeRegExp(anchor);
    const c0 = anchor.charCodeAt(0);
    const fixed = anchor !== '' && !(c0 >= 0x30 && c0 <= 0x39) && c0 !== 0x2d;
    let pattern: string | undefined;
    if (fixed && INTEGER.has(type))
      pattern = type === 'signed' ? String.raw`0|-?[1-9]\d*` : String.raw`0|[1-9]\d*`;
    else if (fixed && type === 'ltime') pattern = LTIME_RE;
    else if (fixed && type === 'ctime') pattern = CTIME_RE;
    group++;
    capture.push(group);
    digits.push(pattern !== undefined && INTEGER.has(type));
    if (i === n - 1) source += `([\\s\\S]*)${a}$`;
    else if (pattern !== undefined) source += `(${pattern}${empty})${a}`;
    else source += `(?=([\\s\\S]*?)${a})\\${group}${a}`;
  }
  const re = new RegExp(source);
  let body = 'const m = RE.exec(line);\nif (m === null) return slow(line);\n';
  for (let i = 0; i < n; i++) {
    if (!digits[i]) {
      body += `const v${i} = C${i}(m[${capture[i]}]);\nif (v${i} === undefined) return slow(line);\n`;
      continue;
    }
    // Validated by the expression: `0`, `[1-9][0-9]*`, `-[1-9][0-9]*` (signed), or the empty marker.
    // Inline: a call per field would exhaust the optimizer's inlining budget on long formats.
    body += `const s${i} = m[${capture[i]}];\nlet v${i} = null;\n`;
    body += `if (s${i}.length > 15) v${i} = +s${i};\n`;
    body += `else if (s${i}.length !== 0 && (s${i}.length !== 1 || s${i}.charCodeAt(0) !== 45)) {\n`;
    body += `  const neg = s${i}.charCodeAt(0) === 45;\n  let x = 0;\n`;
    body += `  for (let k = neg ? 1 : 0; k < s${i}.length; k++) x = x * 10 + s${i}.charCodeAt(k) - 48;\n`;
    body += `  v${i} = neg ? -x : x;\n}\n`;
  }
  const lastIndex = new Map<string, number>();
  names.forEach((name, i) => {
    lastIndex.set(name, i);
  });
  const key = (name: string) => (name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name));
  body += `return { ${[...lastIndex].map(([name, i]) => `${key(name)}: v${i}`).join(', ')} };`;
  const params = ['RE', 'slow', ...converters.map((_, i) => `C${i}`)];
  const factory = new Function(...params, `return function parse(line) {\n${body}\n};`) as (
    ...args: unknown[]
  ) => (line: string) => Fields | LineParseError;
  return factory(re, slow, ...converters);
}
