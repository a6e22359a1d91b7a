/**
 * Reads a format dictionary given as JSON or as YAML (the way Envoy configurations are written),
 * without a YAML dependency. The YAML subset: block mappings and block sequences nested by
 * indentation (spaces), plain, single-quoted and double-quoted scalars on one line, `#`
 * comments, `---` / `...` document markers, and flow collections written as JSON. Plain scalars
 * resolve as YAML 1.2's core schema does (`null`, `true`, `123` are not strings), except that a
 * plain scalar may start with `%` (`protocol: %PROTOCOL%`), which strict YAML forbids. Anchors,
 * aliases, tags, block scalars (`|`, `>`) and multi-line scalars are not supported.
 * @module
 */
import { FormatSyntaxError } from '../errors.ts';

interface Line {
  /** 1-based line number. */
  readonly no: number;
  indent: number;
  /** The content after the indentation, comments removed, trailing spaces trimmed. */
  text: string;
}

function fail(message: string, line: number, column: number): never {
  throw new FormatSyntaxError(`${message} (line ${line})`, column);
}

/** Removes a `#` comment (outside quotes, at the start or after whitespace). */
function stripComment(s: string): string {
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote !== '') {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) {
        if (quote === "'" && s[i + 1] === "'") i++;
        else quote = '';
      }
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s:[{,-]/.test(s[i - 1] as string)) quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1] as string))) {
      return s.slice(0, i);
    }
  }
  return s;
}

function lines(text: string): Line[] {
  const out: Line[] = [];
  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i] as string;
    const m = /^[ ]*/.exec(r) as RegExpExecArray;
    const indent = m[0].length;
    if (r[indent] === '\t') fail('tabs are not allowed in YAML indentation', i + 1, indent + 1);
    const content = stripComment(r.slice(indent)).trimEnd();
    if (content === '') continue;
    if (indent === 0 && (content === '---' || content.startsWith('--- '))) {
      if (out.length > 0) fail('only one YAML document is supported', i + 1, 1);
      const rest = content.slice(3).trim();
      if (rest !== '') out.push({ no: i + 1, indent: 4, text: rest });
      continue;
    }
    if (indent === 0 && content === '...') break;
    out.push({ no: i + 1, indent, text: content });
  }
  return out;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
};

/** A quoted scalar starting at `s[0]`; returns the value and the index after the closing quote. */
function quoted(s: string, no: number, col: number): { value: string; end: number } {
  const q = s[0];
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i] as string;
    if (q === "'") {
      if (c === "'") {
        if (s[i + 1] === "'") {
          out += "'";
          i++;
          continue;
        }
        return { value: out, end: i + 1 };
      }
      out += c;
      continue;
    }
    if (c === '"') return { value: out, end: i + 1 };
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++i];
    if (e === undefined) break;
    const simple = ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const len = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const hex = s.slice(i + 1, i + 1 + len);
    if (len === 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) {
      fail(`invalid escape "\\${e}" in a double-quoted scalar`, no, col + i);
    }
    out += String.fromCodePoint(Number.parseInt(hex, 16));
    i += len;
  }
  return fail('unterminated quoted scalar (multi-line scalars are not supported)', no, col);
}

function plainScalar(s: string, no: number, col: number): unknown {
  if (/^[&*!|>@`]/.test(s)) fail(`unsupported YAML syntax ${JSON.stringify(s[0])}`, no, col);
  if (/^(?:null|Null|NULL|~)$/.test(s)) return null;
  if (/^(?:true|True|TRUE)$/.test(s)) return true;
  if (/^(?:false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?[0-9]+$/.test(s)) return Number(s);
  if (/^0x[0-9a-fA-F]+$/.test(s) || /^0o[0-7]+$/.test(s)) return Number(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  return s;
}

/** A scalar or flow collection that makes up the rest of a line. */
function value(s: string, no: number, col: number): unknown {
  const c = s[0];
  if (c === '"' || c === "'") {
    const { value: v, end } = quoted(s, no, col);
    const after = s.slice(end);
    if (after.trim() !== '') {
      fail('unexpected text after a quoted scalar', no, col + end + after.length - after.trimStart().length);
    }
    return v;
  }
  if (c === '{' || c === '[') {
    try {
      return JSON.parse(s);
    } catch {
      fail('flow collections must be written as JSON', no, col);
    }
  }
  return plainScalar(s, no, col);
}

/** Splits `key: value` at the mapping colon; undefined when the text is not a mapping entry. */
function splitKey(
  s: string,
  no: number,
  col: number,
): { key: string; rest: string; restCol: number } | undefined {
  if (s[0] === '"' || s[0] === "'") {
    const { value: key, end } = quoted(s, no, col);
    const after = s.slice(end);
    const m = /^\s*:(?:\s+|$)/.exec(after);
    if (!m) return undefined;
    return { key, rest: after.slice(m[0].length), restCol: col + end + m[0].length };
  }
  const m = /:(?:\s+|$)/.exec(s);
  if (!m || s[0] === '{' || s[0] === '[') return undefined;
  const key = s.slice(0, m.index).trimEnd();
  if (key === '') return undefined;
  return { key, rest: s.slice(m.index + m[0].length), restCol: col + m.index + m[0].length };
}

function isItem(l: Line): boolean {
  return l.text === '-' || l.text.startsWith('- ');
}

class Reader {
  private i = 0;
  private readonly ls: Line[];
  constructor(ls: Line[]) {
    this.ls = ls;
  }

  peek(): Line | undefined {
    return this.ls[this.i];
  }

  /** The block (mapping, sequence or scalar) whose lines start at `indent`. */
  block(indent: number): unknown {
    const l = this.peek() as Line;
    if (isItem(l)) return this.sequence(l.indent);
    if (splitKey(l.text, l.no, l.indent + 1)) return this.mapping(l.indent);
    this.i++;
    const v = value(l.text, l.no, l.indent + 1);
    const next = this.peek();
    if (next && next.indent > indent)
      fail('multi-line plain scalars are not supported', next.no, next.indent + 1);
    return v;
  }

  /** The value after `key:` with nothing on its line: a nested block, or null. */
  nested(parentIndent: number): unknown {
    const next = this.peek();
    if (next && (next.indent > parentIndent || (next.indent === parentIndent && isItem(next)))) {
      return this.block(next.indent);
    }
    return null;
  }

  mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let l = this.peek(); l && l.indent === indent && !isItem(l); l = this.peek()) {
      const kv = splitKey(l.text, l.no, l.indent + 1);
      if (!kv) fail('expected "key: value"', l.no, l.indent + 1);
      if (Object.hasOwn(out, kv.key)) fail(`duplicate key ${JSON.stringify(kv.key)}`, l.no, l.indent + 1);
      this.i++;
      const v = kv.rest === '' ? this.nested(indent) : value(kv.rest, l.no, kv.restCol);
      Object.defineProperty(out, kv.key, { value: v, enumerable: true, writable: true, configurable: true });
      const next = this.peek();
      if (kv.rest !== '' && next && next.indent > indent) {
        fail('unexpected indentation (multi-line scalars are not supported)', next.no, next.indent + 1);
      }
    }
    const l = this.peek();
    if (l && l.indent > indent) fail('unexpected indentation', l.no, l.indent + 1);
    return out;
  }

  sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    for (let l = this.peek(); l && l.indent === indent && isItem(l); l = this.peek()) {
      const rest = l.text.slice(1).trimStart();
      if (rest === '') {
        this.i++;
        out.push(this.nested(indent));
        continue;
      }
      // `- key: value` starts a mapping whose lines are indented to the item's content.
      const inner = indent + (l.text.length - rest.length);
      if (splitKey(rest, l.no, inner + 1) || rest === '-' || rest.startsWith('- ')) {
        l.indent = inner;
        l.text = rest;
        out.push(this.block(inner));
        continue;
      }
      this.i++;
      out.push(value(rest, l.no, inner + 1));
    }
    return out;
  }

  done(): void {
    const l = this.peek();
    if (l) fail('unexpected text after the dictionary', l.no, l.indent + 1);
  }
}

/**
 * Parses a format dictionary written as JSON or YAML (see the module documentation) into an
 * object, keys in the order written.
 * @throws FormatSyntaxError naming the line and column of the problem, or when the text is not
 *   a mapping.
 */
export function parseEnvoyDictionary(text: string): Record<string, unknown> {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const ls = lines(t);
  const first = ls[0];
  if (!first) throw new FormatSyntaxError('empty format dictionary', 1);
  let v: unknown;
  if (first.text[0] === '{' || first.text[0] === '[') {
    try {
      v = JSON.parse(t);
    } catch (e) {
      const m = /position (\d+)/.exec(String((e as Error).message));
      const pos = m ? Number(m[1]) : 0;
      const before = t.slice(0, pos);
      const no = before.split('\n').length;
      fail(`invalid JSON: ${(e as Error).message}`, no, pos - before.lastIndexOf('\n'));
    }
  } else {
    const r = new Reader(ls);
    v = r.block(first.indent);
    r.done();
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FormatSyntaxError('a format dictionary must be a mapping of keys to format strings', 1);
  }
  return v as Record<string, unknown>;
}
