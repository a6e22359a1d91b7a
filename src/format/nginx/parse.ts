/**
 * Compiles the parser half of an nginx format: line → typed fields. The parser is derived from
 * the format itself: the literal text between variables anchors each field, escaping decides
 * which anchors can occur inside a value, and each variable's type decides what it may contain.
 * A fast scanner takes the first occurrence of each anchor; when that split is not valid (a
 * value contains its own anchor, two variables touch), a backtracking regular expression built
 * from the same format finds the split nginx must have written.
 * @module
 */

import { LineParseError } from '../errors.ts';
import { scanCost, searchBudget } from '../search-budget.ts';
import { type EscapeMode, unescaperFor } from './escape.ts';
import { parseTimeIso, parseTimeLocal } from './time.ts';
import type { Segment } from './tokenize.ts';
import type { Fields, FieldValue } from './types.ts';
import { nginxVariable, type VariableType } from './variables.ts';

/** Converts the escaped text of one field; `undefined` means the text is not valid for the type. */
type Converter = (raw: string) => FieldValue | undefined;

function parseUint(s: string): number | undefined {
  const n = s.length;
  if (n === 0 || n > 15) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return v;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * `123.456` → 123.456 in one pass. The digits form an exact integer (up to 15 digits) divided
 * once by an exact power of ten, which rounds exactly like `Number(s)`; longer texts use it.
 */
function parseDecimal(s: string): number | undefined {
  const n = s.length;
  if (n === 0) return undefined;
  let v = 0;
  let dot = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e && dot === -1 && i > 0 && i < n - 1) dot = i;
    else if (c < 0x30 || c > 0x39) return undefined;
    else v = v * 10 + (c - 0x30);
  }
  if (dot === -1) return n <= 15 ? v : +s;
  return n <= 16 ? v / (POW10[n - 1 - dot] as number) : +s;
}

function listConverter(elem: (s: string) => string | number | undefined, missing: string): Converter {
  return (raw) => {
    if (raw === '' || raw === missing) return null;
    const groups = raw.split(' : ');
    const out: (string | number | null)[][] = [];
    for (const g of groups) {
      const parts = g.split(', ');
      const vals: (string | number | null)[] = [];
      for (const p of parts) {
        if (p === '-') {
          vals.push(null);
          continue;
        }
        const v = elem(p);
        if (v === undefined) return undefined;
        vals.push(v);
      }
      out.push(vals);
    }
    return out;
  };
}

function converterFor(type: VariableType, escape: EscapeMode): Converter {
  const unescape = unescaperFor(escape);
  const nullDash = escape === 'default';
  // Empty text is "not found" for typed variables except with default escaping (which writes `-`).
  const empty = nullDash ? '-' : '';
  switch (type) {
    case 'int':
    case 'status':
      return (s) => (s === '-' || s === empty ? null : parseUint(s));
    case 'seconds':
      return (s) => (s === '-' || s === empty ? null : parseDecimal(s));
    case 'time_local':
      return (s) => {
        if (s === '-' || s === empty) return null;
        const v = parseTimeLocal(s);
        return Number.isNaN(v) ? undefined : v;
      };
    case 'time_iso8601':
      return (s) => {
        if (s === '-' || s === empty) return null;
        const v = parseTimeIso(s);
        return Number.isNaN(v) ? undefined : v;
      };
    case 'list_int':
      return listConverter(parseUint, empty);
    case 'list_seconds':
      return listConverter(parseDecimal, empty);
    case 'list_string': {
      const list = listConverter((s) => s, empty);
      return (s) => (nullDash && s === '-' ? null : list(unescape(s)));
    }
    default:
      return nullDash ? (s) => (s === '-' ? null : unescape(s)) : unescape;
  }
}

/** Longest text of a typed value (lists are unbounded). */
const MAX_TYPED_LENGTH: Partial<Record<VariableType, number>> = {
  status: 3,
  int: 15,
  seconds: 24,
  time_local: 26,
  time_iso8601: 25,
};

/** Whether raw field text can be a value of the type (the escaping decides what strings may contain). */
function validatorFor(type: VariableType, escape: EscapeMode, convert: Converter): (raw: string) => boolean {
  if (type === 'status') {
    // Always three digits (`000` when nothing was sent), or not found.
    return (raw) =>
      raw.length === 3 ? convert(raw) !== undefined : raw === '-' || (raw === '' && escape !== 'default');
  }
  if (type !== 'string' && type !== 'list_string') return (raw) => convert(raw) !== undefined;
  if (escape === 'default') {
    // `"` never appears raw, and a backslash always starts `\xHH`.
    return (raw) => {
      if (raw.indexOf('"') !== -1) return false;
      for (let i = raw.indexOf('\\'); i !== -1; i = raw.indexOf('\\', i + 1)) {
        if (
          raw.charCodeAt(i + 1) !== 0x78 ||
          hexVal(raw.charCodeAt(i + 2)) < 0 ||
          hexVal(raw.charCodeAt(i + 3)) < 0
        )
          return false;
      }
      return true;
    };
  }
  if (escape === 'json') {
    // Every `"` is escaped, and no backslash is left dangling at the end.
    return (raw) => {
      for (let i = 0; i < raw.length; i++) {
        const c = raw.charCodeAt(i);
        if (c === 0x5c) i++;
        else if (c === 0x22) return false;
      }
      return raw.length === 0 || !endsWithOddBackslashes(raw);
    };
  }
  return () => true;
}

function endsWithOddBackslashes(s: string): boolean {
  let k = 0;
  for (let i = s.length - 1; i >= 0 && s.charCodeAt(i) === 0x5c; i--) k++;
  return k % 2 === 1;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Index of `anchor` at or after `from` that is not inside a JSON escape (preceded by an odd run of `\`). */
function findJsonAnchor(line: string, anchor: string, from: number): number {
  let at = line.indexOf(anchor, from);
  while (at !== -1) {
    let k = at - 1;
    while (k >= from && line.charCodeAt(k) === 0x5c) k--;
    if ((at - 1 - k) % 2 === 0) return at;
    at = line.indexOf(anchor, at + 1);
  }
  return -1;
}

function show(s: string): string {
  return JSON.stringify(s);
}

export interface CompiledParser {
  parse(line: string): Fields | LineParseError;
  split(line: string): string[] | LineParseError;
}

/** Builds `parse(line)` and `split(line)` for tokenized segments. */
export function compileParser(segments: readonly Segment[], escape: EscapeMode): CompiledParser {
  let prefix = '';
  const names: string[] = [];
  const anchors: string[] = [];
  const converters: Converter[] = [];
  const validators: ((raw: string) => boolean)[] = [];
  const greedy: boolean[] = [];
  const maxLength: number[] = [];
  for (const seg of segments) {
    if (seg.kind === 'literal') {
      if (names.length === 0) prefix += seg.text;
      else anchors[names.length - 1] += seg.text;
    } else {
      const type = nginxVariable(seg.name).type;
      names.push(seg.name);
      anchors.push('');
      const convert = converterFor(type, escape);
      converters.push(convert);
      validators.push(validatorFor(type, escape, convert));
      greedy.push(type !== 'string' && type !== 'list_string');
      maxLength.push(MAX_TYPED_LENGTH[type] ?? Number.MAX_SAFE_INTEGER);
    }
  }
  const n = names.length;
  const scannable = anchors.every((a, i) => a !== '' || i === n - 1);
  const find =
    escape === 'json'
      ? findJsonAnchor
      : (line: string, anchor: string, from: number) => line.indexOf(anchor, from);

  /**
   * The split nginx must have written when first-occurrence anchors do not give one: a
   * depth-first search trying each field's candidate ends shortest first (the order a lazy
   * regular expression would), remembering (field, position) pairs that failed so no state is
   * explored twice, and giving up when its work passes `searchBudget` — a crafted line can never
   * stall the caller (a backtracking regular expression took seconds on 1 KB lines).
   */
  function search(line: string): string[] | 'nomatch' | 'budget' {
    if (!line.startsWith(prefix)) return 'nomatch';
    const failed = new Set<number>();
    const width = line.length + 1;
    const ends: number[] = new Array(n);
    let budget = searchBudget(line.length);
    const at = (i: number, pos: number): boolean | 'budget' => {
      if (i === n) return pos === line.length;
      if (failed.has(i * width + pos)) return false;
      const anchor = anchors[i] as string;
      const valid = validators[i] as (raw: string) => boolean;
      const tryEnd = (end: number): boolean | 'budget' => {
        budget -= 16 + end - pos; // the work of slicing and validating this candidate
        if (budget < 0) return 'budget';
        if (!valid(line.slice(pos, end))) return false;
        ends[i] = end;
        return at(i + 1, end + anchor.length);
      };
      let r: boolean | 'budget' = false;
      if (i === n - 1) {
        const end = line.length - anchor.length;
        r = end >= pos && line.endsWith(anchor) ? tryEnd(end) : false;
      } else if (anchor === '') {
        // Touching variables: a typed value takes as much as it can (as `\d+` would), text as little.
        if (greedy[i]) {
          for (
            let end = Math.min(line.length, pos + (maxLength[i] as number));
            end >= pos && r === false;
            end--
          ) {
            r = tryEnd(end);
          }
        } else for (let end = pos; end <= line.length && r === false; end++) r = tryEnd(end);
      } else {
        // Each anchor search is charged for the characters it looks at.
        let end = find(line, anchor, pos);
        budget -= scanCost(end, pos, line.length);
        while (end !== -1 && r === false && budget >= 0) {
          r = tryEnd(end);
          const from = end + 1;
          end = find(line, anchor, from);
          budget -= scanCost(end, from, line.length);
        }
        if (r === false && budget < 0) r = 'budget';
      }
      if (r === false) failed.add(i * width + pos);
      return r;
    };
    const r = at(0, prefix.length);
    if (r !== true) return r === 'budget' ? 'budget' : 'nomatch';
    const out: string[] = new Array(n);
    let pos = prefix.length;
    for (let i = 0; i < n; i++) {
      out[i] = line.slice(pos, ends[i]);
      pos = (ends[i] as number) + (anchors[i] as string).length;
    }
    return out;
  }

  function searchOrExplain(line: string): string[] | LineParseError {
    const r = search(line);
    if (r === 'budget') {
      return new LineParseError('ambiguous line: gave up searching for a split that matches the format', 1);
    }
    return r === 'nomatch' ? explain(line) : r;
  }

  /** Fills `out` with raw field texts using first-occurrence anchors; returns -1 or the failing column. */
  function scan(line: string, out: string[], starts: number[]): number {
    if (!line.startsWith(prefix)) return 1;
    let pos = prefix.length;
    for (let i = 0; i < n; i++) {
      const anchor = anchors[i] as string;
      let end: number;
      if (i === n - 1) {
        end = line.length - anchor.length;
        if (end < pos || !line.endsWith(anchor)) return line.length + 1;
      } else {
        end = find(line, anchor, pos);
        if (end === -1) return pos + 1;
      }
      starts[i] = pos;
      out[i] = line.slice(pos, end);
      pos = end + anchor.length;
    }
    return -1;
  }

  function explain(line: string): LineParseError {
    if (!line.startsWith(prefix)) {
      return new LineParseError(`expected ${show(prefix)} at the start of the line`, 1);
    }
    let pos = prefix.length;
    for (let i = 0; i < n; i++) {
      const anchor = anchors[i] as string;
      const last = i === n - 1;
      const end = last ? line.length - anchor.length : find(line, anchor, pos);
      if (end < pos || (last && !line.endsWith(anchor))) {
        return new LineParseError(
          last && anchor === ''
            ? `unexpected end of line in $${names[i]}`
            : `expected ${show(anchor)} after $${names[i]}`,
          last ? Math.max(pos, end) + 1 : pos + 1,
        );
      }
      const raw = line.slice(pos, end);
      if ((converters[i] as Converter)(raw) === undefined) {
        return new LineParseError(`invalid value ${show(raw)} for $${names[i]}`, pos + 1);
      }
      pos = end + anchor.length;
    }
    return new LineParseError('line does not match the format', 1);
  }

  function splitAll(line: string): string[] | LineParseError {
    if (n === 0) return line === prefix ? [] : explain(line);
    if (scannable) {
      const raw: string[] = new Array(n);
      if (scan(line, raw, new Array(n)) === -1) {
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
    return searchOrExplain(line);
  }

  function slowParse(line: string): Fields | LineParseError {
    const out: Fields = {};
    if (n === 0) return line === prefix ? out : explain(line);
    const m = searchOrExplain(line);
    if (m instanceof LineParseError) return m;
    for (let i = 0; i < n; i++) {
      const v = (converters[i] as Converter)(m[i] as string);
      if (v === undefined) return explain(line);
      out[names[i] as string] = v;
    }
    return out;
  }

  const parse =
    scannable && n > 0
      ? generateScanner(prefix, names, anchors, converters, escape === 'json' ? find : null, slowParse)
      : slowParse;
  return { parse, split: splitAll };
}

type Find = (line: string, anchor: string, from: number) => number;

/**
 * Generates the scanner for one format as straight-line code: one `indexOf` per anchor, one
 * converter call per field, and one object literal, so every parsed record has the same shape
 * and no per-field loop or keyed store runs. Only variable names (`[a-z0-9_]+`, quoted with
 * JSON.stringify) enter the source; anchors and converters are passed in as values.
 */
function generateScanner(
  prefix: string,
  names: readonly string[],
  anchors: readonly string[],
  converters: readonly Converter[],
  /** The anchor finder when it is not plain `indexOf` (JSON escaping). */
  find: Find | null,
  slow: (line: string) => Fields | LineParseError,
): (line: string) => Fields | LineParseError {
  const n = names.length;
  const lastIndex = new Map<string, number>();
  names.forEach((name, i) => {
    lastIndex.set(name, i);
  });
  const viaIndexOf = find === null;
  let body = `if (!line.startsWith(P)) return slow(line);\nlet pos = ${prefix.length}, end = 0;\n`;
  for (let i = 0; i < n; i++) {
    const anchor = anchors[i] as string;
    if (i === n - 1) {
      body += `end = line.length - ${anchor.length};\n`;
      body +=
        anchor === ''
          ? 'if (end < pos) return slow(line);\n'
          : `if (end < pos || !line.endsWith(A[${i}])) return slow(line);\n`;
    } else {
      body += viaIndexOf ? `end = line.indexOf(A[${i}], pos);\n` : `end = find(line, A[${i}], pos);\n`;
      body += 'if (end === -1) return slow(line);\n';
    }
    body += `const v${i} = C${i}(line.slice(pos, end));\nif (v${i} === undefined) return slow(line);\n`;
    if (i < n - 1) body += `pos = end + ${anchor.length};\n`;
  }
  const props = [...lastIndex].map(([name, i]) => `${JSON.stringify(name)}: v${i}`).join(', ');
  body += `return { ${props} };`;
  const params = ['P', 'A', 'find', 'slow', ...converters.map((_, i) => `C${i}`)];
  const factory = new Function(...params, `return function parse(line) {\n${body}\n};`) as (
    ...args: unknown[]
  ) => (line: string) => Fields | LineParseError;
  return factory(prefix, anchors, find, slow, ...converters);
}
