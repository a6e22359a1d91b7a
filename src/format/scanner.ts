/**
 * The one parser compiler of every dialect (nginx, uWSGI, Envoy text): a layout — a literal
 * prefix, then per field its name, the literal text after it (its anchor), a converter (raw text
 * → value, `undefined` when the text is not valid), an optional cheaper validator, a maximum
 * length and whether it is greedy where it touches the next field — becomes
 *
 * - the fast parser: generated straight-line code taking the first occurrence of each anchor
 *   (`indexOf`), one converter call per field and one object literal, so every record has the same
 *   shape; hints make common cases cheaper (null texts compared inline, C integers read in place,
 *   a repeated time text reused, a one-regular-expression matcher for formats made of numbers);
 * - the search, when the first-occurrence split is not valid (a value holds its own anchor, two
 *   fields touch): depth-first, each field's candidate ends in order (shortest first, or longest
 *   first for a greedy field touching the next), remembering failed (field, position) states, and
 *   bounded by `searchBudget` (candidates and anchor scans charged), after which the line is
 *   refused as ambiguous. Several converter sets (strictness levels) may be tried in turn on one
 *   shared budget;
 * - explain: why a line does not match, with its column (the first anchor missing or value invalid
 *   along the first-occurrence split).
 * @module
 */

import { bytesEqual, isNumberList, latin1, readCUint, readDecimal, readUint } from './bytes.ts';
import { LineParseError } from './errors.ts';
import { scanCost, searchBudget } from './search-budget.ts';
import type { Fields, FieldValue } from './types.ts';

/** Converts the text of one field; `undefined` means the text is not valid for the field. */
export type Converter = (raw: string) => FieldValue | undefined;

/** Index of `anchor` in `line` at or after `from`, or -1 (plain `indexOf` unless the dialect escapes). */
export type Find = (line: string, anchor: string, from: number) => number;

/** The last text a converter accepted and its value (time fields: a repeated text is not converted again). */
export interface TextCache {
  text: string;
  value: number;
}

export interface ScanField {
  /** The record property. */
  readonly name: string;
  /** The field as messages name it (`$status`, `%(status)`, `%RESPONSE_CODE%`). */
  readonly label: string;
  /** The literal text that follows the field in the format (may be empty). */
  readonly anchor: string;
  readonly convert: Converter;
  /** For the search: whether a text can be a value, when cheaper than converting. */
  readonly validate?: (raw: string) => boolean;
  /** The longest valid text (bounds the search); unbounded by default. */
  readonly maxLength?: number;
  /** Touching the next field: take the longest valid text first (`\d+`) instead of the shortest. */
  readonly greedy?: boolean;
  // Hints for the generated code (each must agree with `convert`):
  /** Texts that mean "no value" (null). */
  readonly nulls?: readonly string[];
  /**
   * When given, the generated code compares the text with `nulls` inline and converts other texts
   * with `set` (`null`: the text itself is the value) instead of calling `convert`.
   */
  readonly set?: Converter | null;
  /** A C integer (digits, no leading zero; `signed`: an optional `-`), read in place. */
  readonly integer?: 'unsigned' | 'signed';
  /** A null text tested at the field's start before the anchor search. */
  readonly quickNull?: string;
  /** The converter's last accepted text (see TextCache); only when the anchor cannot start inside a value. */
  readonly cache?: TextCache;
  /** A regular expression for every valid non-null text (for the matcher). */
  readonly pattern?: string;
  /**
   * What the generated fast parser does with the field's text (`set` when given, else `convert`),
   * for the byte projection; it must agree exactly (a kind may refuse more, never accept more):
   * `text`: every text is valid, and is its own value unless it is one of `nulls` or holds the
   * layout's `escape` byte; `nonempty`: as `text`, but the empty text is not valid (unless null);
   * `token`: as `text`, but a text holding a space, tab, CR or LF is not valid; `uint`: one of
   * `nulls` or 1–15 digits (leading zeros allowed); `cuint`: one of `nulls` or a C unsigned
   * integer of 1–15 digits without a leading zero (`0` itself is one; longer texts are left to the
   * text); `decimal`: one of `nulls` or digits with at most one inner `.`, as `parseDecimal`;
   * `uints`, `decimals`: one of `nulls` or a list of such numbers (or `-`) as nginx writes
   * `$upstream_status` (`isNumberList`); absent: only the converter knows (the projection
   * decodes the text to check it).
   */
  readonly bytes?: 'text' | 'nonempty' | 'token' | 'uint' | 'cuint' | 'decimal' | 'uints' | 'decimals';
}

export interface ScanLayout {
  readonly prefix: string;
  readonly fields: readonly ScanField[];
  /** The record's properties: name → field index (default: each name's last field). */
  readonly record?: readonly (readonly [string, number])[];
  /**
   * An anchor preceded by an odd run of `\\` is inside a value (nginx JSON escaping): the first
   * occurrence of an anchor is the first one not escaped.
   */
  readonly escapedAnchors?: boolean;
  /** The byte that starts an escape sequence in a value (`\\`): a text holding it is not its own value. */
  readonly escape?: number;
}

export interface ScanOptions {
  /** `scanner` (default), `matcher` (one linear-time regular expression), or `search` only. */
  readonly fast?: 'scanner' | 'matcher' | 'search';
  /**
   * Converter sets the search tries in turn on one budget (strictness levels); the first that
   * splits the line wins. Default: each field's `convert` (with its `validate` in the search).
   * Explain always uses `convert`; the generated fast path uses `convert` (or `set`).
   */
  readonly levels?: readonly (readonly Converter[])[];
}

export interface CompiledScanner {
  readonly layout: ScanLayout;
  parse(line: string): Fields | LineParseError;
  /** The raw text of each field. */
  split(line: string): string[] | LineParseError;
}

const AMBIGUOUS = 'ambiguous line: gave up searching for a split that matches the format';

function show(s: string): string {
  return JSON.stringify(s);
}

/** Sets a field, also when its name is `__proto__`. */
function setField(out: Fields, name: string, v: FieldValue): void {
  if (name === '__proto__')
    Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
  else out[name] = v;
}

function lastIndexRecord(fields: readonly ScanField[]): [string, number][] {
  const m = new Map<string, number>();
  fields.forEach((f, i) => {
    m.set(f.name, i);
  });
  return [...m];
}

/** Index of `anchor` at or after `from` that is not inside an escape (preceded by an odd run of `\\`). */
function findUnescaped(line: string, anchor: string, from: number): number {
  let at = line.indexOf(anchor, from);
  while (at !== -1) {
    let k = at - 1;
    while (k >= from && line.charCodeAt(k) === 0x5c) k--;
    if ((at - 1 - k) % 2 === 0) return at;
    at = line.indexOf(anchor, at + 1);
  }
  return -1;
}

/** Builds `parse(line)` and `split(line)` for a layout. */
export function compileScanner(layout: ScanLayout, opts: ScanOptions = {}): CompiledScanner {
  const { prefix, fields } = layout;
  const n = fields.length;
  const anchors = fields.map((f) => f.anchor);
  const converters = fields.map((f) => f.convert);
  const record = layout.record ?? lastIndexRecord(fields);
  const limits = fields.map((f) => f.maxLength ?? Number.POSITIVE_INFINITY);
  const greedy = fields.map((f) => f.greedy === true);
  const find: Find = layout.escapedAnchors
    ? findUnescaped
    : (line, anchor, from) => line.indexOf(anchor, from);
  const levels = opts.levels ?? [converters];
  const accepts: ((raw: string) => boolean)[][] = levels.map((conv) =>
    conv.map((c, i) => {
      const v = fields[i]?.validate;
      return v !== undefined && conv === converters ? v : (raw: string) => c(raw) !== undefined;
    }),
  );
  const scannable = anchors.every((a, i) => a !== '' || i === n - 1);

  /**
   * Finds a split: the end of each field such that every text is accepted and the rest of the
   * line matches; false when there is none, 'budget' when the work bound ran out first.
   */
  function search(
    line: string,
    accept: readonly ((raw: string) => boolean)[],
    budget: { left: number },
    ends: number[],
  ): boolean | 'budget' {
    if (!line.startsWith(prefix)) return false;
    const len = line.length;
    const size = (n + 1) * (len + 1);
    // A bitmap for ordinary lines; a set for huge ones, where only few pairs are ever visited.
    const bits = size <= 4_000_000 ? new Uint8Array(size) : null;
    const set = bits === null ? new Set<number>() : null;
    const at = (i: number, pos: number): boolean | 'budget' => {
      if (i === n) return pos === len;
      const key = i * (len + 1) + pos;
      if (bits !== null ? bits[key] === 1 : set?.has(key)) return false;
      const anchor = anchors[i] as string;
      const ok = accept[i] as (raw: string) => boolean;
      const tryEnd = (end: number): boolean | 'budget' => {
        budget.left -= 16 + end - pos; // slicing and checking this candidate
        if (budget.left < 0) return 'budget';
        if (!ok(line.slice(pos, end))) return false;
        ends[i] = end;
        return at(i + 1, end + anchor.length);
      };
      let r: boolean | 'budget' = false;
      if (i === n - 1) {
        const end = len - anchor.length;
        if (end >= pos && line.endsWith(anchor)) r = tryEnd(end);
      } else {
        const limit = Math.min(len, pos + (limits[i] as number));
        if (anchor === '') {
          if (greedy[i]) for (let end = limit; end >= pos && r === false; end--) r = tryEnd(end);
          else for (let end = pos; end <= limit && r === false; end++) r = tryEnd(end);
        } else {
          // Each anchor search is charged for the characters it looks at.
          let end = find(line, anchor, pos);
          budget.left -= scanCost(end, pos, len);
          while (end !== -1 && end <= limit && r === false && budget.left >= 0) {
            r = tryEnd(end);
            const from = end + 1;
            end = find(line, anchor, from);
            budget.left -= scanCost(end, from, len);
          }
          if (r === false && budget.left < 0) r = 'budget';
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

  /** The texts of the split found by the search with the first level that has one, or an error. */
  function searchAll(line: string): { texts: string[]; level: number } | LineParseError {
    const budget = { left: searchBudget(line.length) };
    const ends: number[] = new Array(n);
    for (let level = 0; level < accepts.length; level++) {
      const r = search(line, accepts[level] as ((raw: string) => boolean)[], budget, ends);
      if (r === 'budget') return new LineParseError(AMBIGUOUS, 1);
      if (r === true) {
        const texts: string[] = new Array(n);
        let pos = prefix.length;
        for (let i = 0; i < n; i++) {
          texts[i] = line.slice(pos, ends[i]);
          pos = (ends[i] as number) + (anchors[i] as string).length;
        }
        return { texts, level };
      }
    }
    return explain(line);
  }

  /** Why a line does not match: the first anchor missing or value invalid along the first-occurrence split. */
  function explain(line: string): LineParseError {
    if (!line.startsWith(prefix)) {
      return new LineParseError(`expected ${show(prefix)} at the start of the line`, 1);
    }
    let pos = prefix.length;
    for (let i = 0; i < n; i++) {
      const f = fields[i] as ScanField;
      const anchor = f.anchor;
      const last = i === n - 1;
      const end = last ? line.length - anchor.length : find(line, anchor, pos);
      if (end < pos || (last && !line.endsWith(anchor))) {
        return new LineParseError(
          last && anchor === ''
            ? `unexpected end of line in ${f.label}`
            : `expected ${show(anchor)} after ${f.label}`,
          last ? Math.max(pos, end) + 1 : pos + 1,
        );
      }
      const raw = line.slice(pos, end);
      if (f.convert(raw) === undefined) {
        return new LineParseError(`invalid value ${show(raw)} for ${f.label}`, pos + 1);
      }
      pos = end + anchor.length;
    }
    return new LineParseError('line does not match the format', 1);
  }

  /** The first-occurrence split, when every text converts. */
  function scan(line: string): string[] | undefined {
    if (!line.startsWith(prefix)) return undefined;
    const out: string[] = new Array(n);
    let pos = prefix.length;
    for (let i = 0; i < n; i++) {
      const anchor = anchors[i] as string;
      let end: number;
      if (i === n - 1) {
        end = line.length - anchor.length;
        if (end < pos || !line.endsWith(anchor)) return undefined;
      } else {
        end = find(line, anchor, pos);
        if (end === -1) return undefined;
      }
      const raw = line.slice(pos, end);
      if ((converters[i] as Converter)(raw) === undefined) return undefined;
      out[i] = raw;
      pos = end + anchor.length;
    }
    return out;
  }

  function split(line: string): string[] | LineParseError {
    if (n === 0) return line === prefix ? [] : explain(line);
    const fast = scannable ? scan(line) : undefined;
    if (fast !== undefined) return fast;
    const r = searchAll(line);
    return r instanceof LineParseError ? r : r.texts;
  }

  function slowParse(line: string): Fields | LineParseError {
    const out: Fields = {};
    if (n === 0) return line === prefix ? out : explain(line);
    const r = searchAll(line);
    if (r instanceof LineParseError) return r;
    const conv = levels[r.level] as readonly Converter[];
    const values: FieldValue[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = (conv[i] as Converter)(r.texts[i] as string);
      if (v === undefined) return explain(line);
      values[i] = v;
    }
    for (const [name, i] of record) setField(out, name, values[i] as FieldValue);
    return out;
  }

  const mode = opts.fast ?? 'scanner';
  const parse =
    !scannable || n === 0 || mode === 'search'
      ? slowParse
      : mode === 'matcher'
        ? generateMatcher(layout, record, slowParse)
        : generateScanner(layout, record, slowParse);
  return { layout, parse, split };
}

/**
 * Source of a test that `text` occurs in `line` at `at`: inline character comparisons for short
 * texts (a builtin call costs more than the compare), one `startsWith` for long ones.
 */
function textAt(text: string, at: string): string {
  if (text === '') return 'true';
  if (text.length > 4) return `line.startsWith(${show(text)}, ${at})`;
  const parts: string[] = [];
  for (let k = 0; k < text.length; k++) {
    parts.push(`line.charCodeAt(${at === '0' ? k : `${at} + ${k}`}) === ${text.charCodeAt(k)}`);
  }
  return parts.join(' && ');
}

/** Source of a test that `anchor` follows a field ending at `at`, and, for the last field, ends the line. */
function anchorTest(anchor: string, last: boolean, at: string): string {
  const test = textAt(anchor, at);
  if (!last) return test;
  return `${at} + ${anchor.length} === len${anchor === '' ? '' : ` && ${test}`}`;
}

/** Source of an object literal with the record's properties (`v0`, `v1`, … hold the values). */
function recordLiteral(record: readonly (readonly [string, number])[]): string {
  // A computed key creates an own `__proto__` property instead of setting the prototype.
  const key = (name: string) => (name === '__proto__' ? `[${show(name)}]` : show(name));
  return `{ ${record.map(([name, i]) => `${key(name)}: v${i}`).join(', ')} }`;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Source of `s` is one of `texts`. */
function oneOf(s: string, texts: readonly string[]): string {
  return texts.length === 0 ? 'false' : texts.map((t) => `${s} === ${show(t)}`).join(' || ');
}

/**
 * Generates the scanner for one layout as straight-line code: one `indexOf` per anchor, one
 * converter call per field (null texts compared inline when the field says so), C integers read
 * in place (their digits end them, so no search and no substring), a repeated time text reused,
 * and one object literal. Any surprise falls back to `slow` (the search). Only field names and
 * literal texts enter the source, quoted with JSON.stringify; converters are passed in as values.
 */
function generateScanner(
  layout: ScanLayout,
  record: readonly (readonly [string, number])[],
  slow: (line: string) => Fields | LineParseError,
): (line: string) => Fields | LineParseError {
  const { prefix, fields } = layout;
  const n = fields.length;
  const viaIndexOf = layout.escapedAnchors !== true;
  let body = `${prefix === '' ? '' : `if (!(${textAt(prefix, '0')})) return slow(line);\n`}const len = line.length;\nlet pos = ${prefix.length}, end = 0, c = 0, s = '';\n`;
  for (let i = 0; i < n; i++) {
    const f = fields[i] as ScanField;
    const anchor = f.anchor;
    const last = i === n - 1;
    const nulls = f.nulls ?? [];
    if (f.integer !== undefined && !isDigit(anchor.charCodeAt(0)) && (anchor !== '' || last)) {
      // The digits end the field: the anchor (which cannot start with a digit) must follow them.
      const anchorAt = (at: string) => anchorTest(anchor, last, at);
      const signed = f.integer === 'signed';
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
      for (const t of nulls) {
        const cond = t === '' ? anchorAt('pos') : `${textAt(t, 'pos')} && ${anchorAt(`pos + ${t.length}`)}`;
        body += `} else if (${cond}) {\n  end = pos + ${t.length};\n`;
      }
      body += '} else return slow(line);\n';
      body += `if (!(${anchorAt('end')})) return slow(line);\n`;
    } else {
      const cached = f.cache !== undefined && anchor !== '';
      const quick = f.quickNull !== undefined && anchor !== '';
      if (cached) {
        // The text of the previous line's value repeats: compare in place, reuse its value.
        body += `let v${i};\nconst k${i} = K${i}.text;\n`;
        body += `if (k${i}.length !== 0 && line.startsWith(k${i}, pos) && ${anchorTest(anchor, last, `pos + k${i}.length`)}) {\n`;
        body += `  v${i} = K${i}.value;\n  end = pos + k${i}.length;\n} else {\n`;
      } else if (quick) {
        const t = f.quickNull as string;
        body += `let v${i};\nif (${textAt(t, 'pos')} && ${anchorTest(anchor, last, `pos + ${t.length}`)}) {\n`;
        body += `  v${i} = null;\n  end = pos + ${t.length};\n} else {\n`;
      }
      const decl = cached || quick ? '' : 'const ';
      if (last) {
        body += `end = len - ${anchor.length};\n`;
        body += `if (end < pos${anchor === '' ? '' : ` || !(${textAt(anchor, 'end')})`}) return slow(line);\n`;
      } else {
        body += viaIndexOf
          ? `end = line.indexOf(${show(anchor)}, pos);\n`
          : `end = find(line, ${show(anchor)}, pos);\n`;
        body += 'if (end === -1) return slow(line);\n';
      }
      if (f.set !== undefined) {
        body += `s = line.slice(pos, end);\n`;
        if (f.set === null) body += `${decl}v${i} = ${oneOf('s', nulls)} ? null : s;\n`;
        else
          body += `${decl}v${i} = ${oneOf('s', nulls)} ? null : C${i}(s);\nif (v${i} === undefined) return slow(line);\n`;
      } else {
        body += `${decl}v${i} = C${i}(line.slice(pos, end));\nif (v${i} === undefined) return slow(line);\n`;
      }
      if (cached || quick) body += '}\n';
    }
    if (!last) body += `pos = end + ${anchor.length};\n`;
  }
  body += `return ${recordLiteral(record)};`;
  const params = ['find', 'slow', ...fields.map((_, i) => `C${i}`), ...fields.map((_, i) => `K${i}`)];
  const factory = new Function(...params, `return function parse(line) {\n${body}\n};`) as (
    ...args: unknown[]
  ) => (line: string) => Fields | LineParseError;
  return factory(
    findUnescaped,
    slow,
    ...fields.map((f) => (f.set !== undefined ? f.set : f.convert)),
    ...fields.map((f) => f.cache),
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Generates a parser that splits the line with one regular expression and converts the captures
 * in straight-line code. The expression cannot backtrack far (its time is linear in the line): a
 * field with a `pattern` followed by literal text that cannot start a value is matched by its
 * pattern (or a null text), any other field up to the first occurrence of its anchor with an
 * atomic group (`(?=(.*?)ANCHOR)\N`), which is the scanner's split. When the expression or a
 * conversion fails, `slow` searches.
 */
function generateMatcher(
  layout: ScanLayout,
  record: readonly (readonly [string, number])[],
  slow: (line: string) => Fields | LineParseError,
): (line: string) => Fields | LineParseError {
  const { prefix, fields } = layout;
  const n = fields.length;
  let source = `^${escapeRegExp(prefix)}`;
  /** Fields the expression matched as digits (with an optional sign): converted inline. */
  const digits: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const f = fields[i] as ScanField;
    const a = escapeRegExp(f.anchor);
    const c0 = f.anchor.charCodeAt(0);
    const fixed = f.anchor !== '' && !isDigit(c0) && c0 !== 0x2d && f.pattern !== undefined;
    digits.push(fixed && f.integer !== undefined);
    const group = i + 1;
    if (i === n - 1) source += `([\\s\\S]*)${a}$`;
    else if (fixed) source += `(${[f.pattern, ...(f.nulls ?? []).map(escapeRegExp)].join('|')})${a}`;
    else source += `(?=([\\s\\S]*?)${a})\\${group}${a}`;
  }
  const re = new RegExp(source);
  let body = 'const m = RE.exec(line);\nif (m === null) return slow(line);\n';
  for (let i = 0; i < n; i++) {
    if (!digits[i]) {
      body += `const v${i} = C${i}(m[${i + 1}]);\nif (v${i} === undefined) return slow(line);\n`;
      continue;
    }
    // Validated by the expression: `0`, `[1-9][0-9]*`, `-[1-9][0-9]*` (signed), or a null text.
    // Inline: a call per field would exhaust the optimizer's inlining budget on long formats.
    body += `const s${i} = m[${i + 1}];\nlet v${i} = null;\n`;
    body += `if (${oneOf(`s${i}`, fields[i]?.nulls ?? [])}) {}\n`;
    body += `else if (s${i}.length > 15) v${i} = +s${i};\n`;
    body += `else {\n  const neg = s${i}.charCodeAt(0) === 45;\n  let x = 0;\n`;
    body += `  for (let k = neg ? 1 : 0; k < s${i}.length; k++) x = x * 10 + s${i}.charCodeAt(k) - 48;\n`;
    body += `  v${i} = neg ? -x : x;\n}\n`;
  }
  body += `return ${recordLiteral(record)};`;
  const params = ['RE', 'slow', ...fields.map((_, i) => `C${i}`)];
  const factory = new Function(...params, `return function parse(line) {\n${body}\n};`) as (
    ...args: unknown[]
  ) => (line: string) => Fields | LineParseError;
  return factory(re, slow, ...fields.map((f) => f.convert));
}

/** The converter the generated fast parser calls for a field: `set` (null: the text itself), else `convert`. */
export function fastConverter(f: ScanField): Converter {
  const set = f.set;
  return set === undefined ? f.convert : set === null ? (raw) => raw : set;
}

/**
 * Splits a line's bytes `b[start, end)` as the fast parser splits its text (the first occurrence
 * of each anchor) and writes each field's bounds to `at` (`at[2i]`, `at[2i + 1]`); false when the
 * parser would not take that split (an anchor missing, a field outside `consumed` whose text the
 * fast parser refuses, a text longer than its field's `maxLength`, which the search would not
 * take): the caller then parses the line's text. The line must be ASCII. Fields in `consumed` are
 * not checked: the caller converts them and parses the text when it cannot.
 */
export type Projection = (b: Uint8Array, start: number, end: number, at: Int32Array) => boolean;

/**
 * The projection of a layout (see {@link Projection}), or undefined when the layout cannot be
 * split on bytes (a literal that is not ASCII, two fields touching).
 */
export function compileProjection(layout: ScanLayout, consumed: ReadonlySet<number>): Projection | undefined {
  const { prefix, fields } = layout;
  const n = fields.length;
  const ascii = (t: string) => /^[\x00-\x7f]*$/.test(t);
  if (n === 0 || !ascii(prefix) || fields.some((f, i) => !ascii(f.anchor) || (f.anchor === '' && i < n - 1)))
    return undefined;
  const pre = Buffer.from(prefix, 'latin1');
  const anchors = fields.map((f) => Buffer.from(f.anchor, 'latin1'));
  const escaped = layout.escapedAnchors === true;
  /** Per field: 0 not checked, else what checks its text (a null text is always valid). */
  const check = new Uint8Array(n);
  const CHECKS = {
    text: 0,
    uint: 1,
    decimal: 2,
    convert: 3,
    cuint: 4,
    nonempty: 5,
    token: 6,
    uints: 7,
    decimals: 8,
  } as const;
  const nulls: (readonly string[])[] = [];
  fields.forEach((f, i) => {
    nulls.push(f.nulls ?? []);
    check[i] = consumed.has(i) ? 0 : CHECKS[f.bytes ?? 'convert'];
  });
  const converters = fields.map(fastConverter);

  // Generated straight-line code, as the text scanner: per field an inline search for its anchor
  // (its bytes are numbers in the source), the bounds stored, and the check of its kind.
  const byte = (at: string, c: number) => `b[${at}] === ${c}`;
  let body = `if (end - start < ${pre.length}) return false;\n`;
  pre.forEach((c, k) => {
    body += `if (!(${byte(`start + ${k}`, c)})) return false;\n`;
  });
  body += `let pos = start + ${pre.length}, e = 0;\n`;
  for (let i = 0; i < n; i++) {
    const a = anchors[i] as Uint8Array;
    const m = a.length;
    if (i === n - 1) {
      body += `e = end - ${m};\nif (e < pos) return false;\n`;
      a.forEach((c, k) => {
        body += `if (!(${byte(`e + ${k}`, c)})) return false;\n`;
      });
    } else {
      // The first occurrence at or after pos (not escaped, when values escape anchors).
      const rest = [...a].slice(1).map((c, k) => byte(`e + ${k + 1}`, c));
      body += `e = pos;\nfor (;; e++) {\n`;
      body += `  while (e <= end - ${m} && b[e] !== ${a[0]}) e++;\n  if (e > end - ${m}) return false;\n`;
      if (rest.length > 0) body += `  if (!(${rest.join(' && ')})) continue;\n`;
      if (escaped)
        body +=
          '  let j = e - 1;\n  while (j >= pos && b[j] === 92) j--;\n  if ((e - 1 - j) % 2 === 1) continue;\n';
      body += '  break;\n}\n';
    }
    body += `at[${2 * i}] = pos;\nat[${2 * i + 1}] = e;\n`;
    const max = fields[i]?.maxLength ?? Number.POSITIVE_INFINITY;
    if (Number.isFinite(max)) body += `if (e - pos > ${max}) return false;\n`;
    const c = check[i] as number;
    if (c !== 0) {
      const nullTest = (nulls[i] as readonly string[]).map((_, k) => `isNull(b, pos, e, N${i}, ${k})`);
      const valid = [
        '',
        'readUint(b, pos, e) >= 0',
        '!Number.isNaN(readDecimal(b, pos, e))',
        `C${i}(latin1(b, pos, e)) !== undefined`,
        'readCUint(b, pos, e) >= 0',
        'e > pos',
        'isToken(b, pos, e)',
        'isNumberList(b, pos, e, false)',
        'isNumberList(b, pos, e, true)',
      ][c] as string;
      body += `if (!(${[...nullTest, valid].join(' || ')})) return false;\n`;
    }
    if (i < n - 1) body += `pos = e + ${m};\n`;
  }
  body += 'return true;';
  const params = [
    'readUint',
    'readDecimal',
    'readCUint',
    'isToken',
    'isNumberList',
    'latin1',
    'isNull',
    ...fields.map((_, i) => `C${i}`),
    ...fields.map((_, i) => `N${i}`),
  ];
  const factory = new Function(...params, `return function project(b, start, end, at) {\n${body}\n};`) as (
    ...args: unknown[]
  ) => Projection;
  return factory(
    readUint,
    readDecimal,
    readCUint,
    isTokenBytes,
    isNumberList,
    latin1,
    (b: Uint8Array, s: number, e: number, texts: readonly string[], k: number) =>
      bytesEqual(b, s, e, texts[k] as string),
    ...converters,
    ...nulls,
  );
}

/** Whether `b[s, e)` holds no space, tab, CR or LF (a `token` field's text). */
export function isTokenBytes(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = b[i] as number;
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) return false;
  }
  return true;
}
