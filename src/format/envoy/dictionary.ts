/**
 * Format dictionaries: `json_format` and `typed_json_format`.
 *
 * - Every string value of the dictionary is a format string; nested dictionaries (and lists)
 *   keep their shape, keys keep their order.
 * - `json_format`: every value is a JSON string; an operator that is unset is `"-"`.
 * - `typed_json_format`: a value that is exactly one operator keeps its type (numbers for
 *   durations, byte counts and `RESPONSE_CODE`; JSON values for metadata and filter state;
 *   strings otherwise, `START_TIME` included); unset is `null`. A value with anything else
 *   around the operator (`"%DURATION%.0"`) is a string, in which an unset operator is `-`.
 * - `omit_empty_values`: keys whose value is unset are left out (`null`/`"-"` are not written),
 *   and an unset operator inside a longer string is written as nothing.
 * - The line is one JSON object, serialised in the compiled JSON style (./json.ts); Envoy ends
 *   it with a newline (`lineTerminated`).
 * @module
 */
import { FormatSyntaxError, LineParseError } from '../errors.ts';
import type { Fields, FieldValue, RenderSource, RenderValue } from '../types.ts';
import { compileSegments, contextOf, variablesOf } from './compile.ts';
import { quoterFor } from './json.ts';
import { compileTextParser, compileTextRenderer } from './text.ts';
import { type EnvoyOperator, fieldWinners } from './tokenize.ts';
import type { CompiledEnvoyFormat, EnvoyJsonOptions } from './types.ts';
import type { OperatorRuntime, TextConverter } from './values.ts';
import { parseEnvoyDictionary } from './yaml.ts';

type Render = (src: RenderSource) => string | undefined;
/** Reads one parsed JSON value into `out`; returns the reason it does not match, or undefined. */
type Read = (v: unknown, out: Fields) => string | undefined;

/**
 * The static shape of a dictionary line: text between values, and the values. Used to generate
 * a straight-line renderer (without omit_empty_values) and a fast parser for lines in the
 * compiled style; anything else goes through the general paths.
 */
type Step =
  | { readonly kind: 'text'; readonly text: string }
  /** One operator as the whole value: `write` gives its JSON, `convert` reads it back. */
  | {
      readonly kind: 'value';
      readonly rt: OperatorRuntime;
      readonly write: (v: RenderValue) => string;
      readonly convert: (v: unknown) => FieldValue | undefined;
    }
  /** A string value with text around or between operators (`render` gives its JSON). */
  | {
      readonly kind: 'mixed';
      readonly render: (src: RenderSource) => string;
      readonly parse: (s: string) => Fields | LineParseError;
      readonly ops: readonly EnvoyOperator[];
    }
  /** A value without operators: always the same JSON string. */
  | { readonly kind: 'literal'; readonly value: string; readonly json: string };

interface Compiled {
  readonly render: Render;
  readonly read: Read;
  readonly steps: readonly Step[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pathText(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the dictionary';
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return JSON.stringify(s);
}

/**
 * Compiles a `json_format` (typed: false) or `typed_json_format` (typed: true) dictionary, given
 * as an object or as JSON/YAML text (see {@link parseEnvoyDictionary}).
 * @throws FormatSyntaxError for a malformed format string in a value (its column is within that
 *   value; the message names the key), or a value that is not a string, dictionary or list.
 * @example
 * const f = compileEnvoyJson({ protocol: '%PROTOCOL%', duration: '%DURATION%' }, { typed: true });
 * f.render({ PROTOCOL: 'HTTP/1.1', DURATION: 123 }); // → '{"protocol": "HTTP/1.1", "duration": 123}'
 */
export function compileEnvoyJson(dict: object | string, opts: EnvoyJsonOptions): CompiledEnvoyFormat {
  const ctx = contextOf(opts);
  const typed = opts.typed === true;
  const omit = opts.omitEmptyValues === true;
  const quote = quoterFor(ctx.style);
  const colon = ctx.style === 'protobuf' ? ':' : ': ';
  const comma = ctx.style === 'protobuf' ? ',' : ', ';
  const source = typeof dict === 'string' ? parseEnvoyDictionary(dict) : dict;
  if (!isPlainObject(source)) {
    throw new FormatSyntaxError('a format dictionary must be an object of strings', 1);
  }
  const operators: EnvoyOperator[] = [];
  /** Filled once every template is compiled (the read closures use it). */
  let winners = new Map<string, EnvoyOperator>();
  const unsetInText = omit ? '' : '-';

  function template(format: string, path: readonly (string | number)[]): Compiled {
    let compiled: ReturnType<typeof compileSegments>;
    try {
      compiled = compileSegments(format, ctx);
    } catch (e) {
      if (e instanceof FormatSyntaxError) {
        const reason = e.message.replace(/ at column \d+$/, '');
        throw new FormatSyntaxError(`${reason} (in the value of ${pathText(path)})`, e.column);
      }
      throw e;
    }
    const { segments, runtimes } = compiled;
    for (const s of segments) if (s.kind === 'operator') operators.push(s.op);
    const where = pathText(path);
    if (segments.length === 0 || (segments.length === 1 && segments[0]?.kind === 'literal')) {
      const text = segments[0]?.kind === 'literal' ? segments[0].text : '';
      const q = quote(text);
      return {
        render: () => q,
        read: (v) => (v === text ? undefined : `expected ${q} at ${where}`),
        steps: [{ kind: 'literal', value: text, json: q }],
      };
    }
    const only = segments.length === 1 ? segments[0] : undefined;
    if (only?.kind === 'operator') {
      const rt = runtimes.get(only) as OperatorRuntime;
      const key = rt.op.key;
      const missing = omit ? null : undefined;
      let convert: (v: unknown) => FieldValue | undefined;
      let write: (v: RenderValue) => string | undefined;
      /** The writer without omit_empty_values (unset: `null`, or `"-"`). */
      let fast: (v: RenderValue) => string;
      if (typed) {
        const omitted = omit ? undefined : 'null';
        convert = (v) => (v === null ? null : rt.fromJson(v));
        write = (v) => rt.typed(v) ?? omitted;
        fast = rt.typedWriter('null');
      } else {
        // With omit_empty_values an unset value is left out, so "-" is a value.
        const conv: TextConverter = rt.converter(omit ? null : '-');
        const unsetJson = rt.typedUnset ?? (omit ? undefined : quote('-'));
        convert = (v) => (v === null ? null : typeof v === 'string' ? conv(v) : undefined);
        write = (v) => {
          const t = rt.text(v);
          return t === null ? unsetJson : quote(t);
        };
        const dash = rt.writer('-');
        fast = (v) => quote(dash(v));
      }
      return {
        render: (src) => write(rt.get(src)),
        read: (v, out) => {
          const f = v === undefined ? missing : convert(v);
          if (f === undefined)
            return `${v === undefined ? 'missing' : 'invalid'} value for %${key}% at ${where}`;
          if (winners.get(key) === rt.op) out[key] = f;
          return undefined;
        },
        steps: [{ kind: 'value', rt, write: fast, convert }],
      };
    }
    // Anything else is a string, in which an unset operator is `-` (or nothing with omit).
    const render = compileTextRenderer(segments, runtimes, unsetInText);
    const parse = compileTextParser(segments, runtimes, unsetInText).parse;
    const tops = [...runtimes.values()].map((rt) => rt.op);
    return {
      steps: [{ kind: 'mixed', render: (src) => quote(render(src)), parse, ops: tops }],
      render: (src) => quote(render(src)),
      read: (v, out) => {
        if (typeof v !== 'string') return `expected a string at ${where}`;
        const r = parse(v);
        if (r instanceof LineParseError)
          return `${r.reason} (in the value of ${where}, at column ${r.column})`;
        for (const k of Object.keys(r)) {
          const w = winners.get(k);
          if (w !== undefined && tops.includes(w)) out[k] = r[k] as FieldValue;
        }
        return undefined;
      },
    };
  }

  function node(v: unknown, path: (string | number)[]): Compiled {
    if (typeof v === 'string') return template(v, path);
    if (Array.isArray(v)) {
      const items = v.map((x, i) => node(x, [...path, i]));
      const where = pathText(path);
      const steps: Step[] = [{ kind: 'text', text: '[' }];
      items.forEach((it, i) => {
        if (i > 0) steps.push({ kind: 'text', text: comma });
        steps.push(...it.steps);
      });
      steps.push({ kind: 'text', text: ']' });
      return {
        steps,
        render: (src) => {
          let out = '[';
          let first = true;
          for (const it of items) {
            const r = it.render(src);
            if (r === undefined) continue;
            out += first ? r : comma + r;
            first = false;
          }
          return `${out}]`;
        },
        read: (x, out) => {
          if (!Array.isArray(x)) return `expected a list at ${where}`;
          if (!omit) {
            if (x.length !== items.length) return `expected ${items.length} values in the list at ${where}`;
            for (let i = 0; i < items.length; i++) {
              const e = (items[i] as Compiled).read(x[i], out);
              if (e !== undefined) return e;
            }
            return undefined;
          }
          // With omit_empty_values unset items are left out: give each value to the first item
          // (in order) that reads it; the items skipped over are unset. (Ambiguous when two
          // neighbouring items could both read a value: the earlier one gets it.)
          let j = 0;
          for (const it of items) {
            if (j < x.length) {
              const tmp: Fields = {};
              if (it.read(x[j], tmp) === undefined) {
                Object.assign(out, tmp);
                j++;
                continue;
              }
            }
            const e = it.read(undefined, out);
            if (e !== undefined) return e;
          }
          return j === x.length ? undefined : `unexpected values in the list at ${where}`;
        },
      };
    }
    if (isPlainObject(v)) {
      const entries = Object.keys(v).map((k) => ({
        key: k,
        head: quote(k) + colon,
        node: node(v[k], [...path, k]),
      }));
      const where = pathText(path);
      const steps: Step[] = [{ kind: 'text', text: '{' }];
      entries.forEach((e, i) => {
        steps.push({ kind: 'text', text: (i > 0 ? comma : '') + e.head });
        steps.push(...e.node.steps);
      });
      steps.push({ kind: 'text', text: '}' });
      return {
        steps,
        render: (src) => {
          let out = '{';
          let first = true;
          for (const e of entries) {
            const r = e.node.render(src);
            if (r === undefined) continue;
            out += first ? e.head + r : comma + e.head + r;
            first = false;
          }
          return `${out}}`;
        },
        read: (x, out) => {
          if (!isPlainObject(x)) return `expected an object at ${where}`;
          for (const e of entries) {
            const r = e.node.read(Object.hasOwn(x, e.key) ? x[e.key] : undefined, out);
            if (r !== undefined) return r;
          }
          return undefined;
        },
      };
    }
    throw new FormatSyntaxError(
      `the value of ${pathText(path)} must be a format string, a dictionary or a list, not ${v === null ? 'null' : typeof v}`,
      1,
    );
  }

  const root = node(source, []);
  winners = fieldWinners(operators);
  const slowRender = (src: RenderSource) => root.render(src) as string;
  const render = omit ? slowRender : generateRenderer(root.steps, slowRender);
  const slowParse = (line: string): Fields | LineParseError => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      const m = /position (\d+)/.exec(String((e as Error).message));
      return new LineParseError(`not a JSON object: ${(e as Error).message}`, m ? Number(m[1]) + 1 : 1);
    }
    const out: Fields = {};
    const reason = root.read(v, out);
    if (reason !== undefined) return new LineParseError(reason, 1);
    return out;
  };
  const parse = generateParser(root.steps, winners, slowParse);
  return {
    dialect: 'envoy',
    kind: typed ? 'typed_json' : 'json',
    format: JSON.stringify(source),
    lineTerminated: true,
    omitEmptyValues: omit,
    jsonStyle: ctx.style,
    operators,
    variables: variablesOf(operators),
    segments: [],
    render,
    parse,
  };
}

/** Merges adjacent text steps. */
function merged(steps: readonly Step[]): Step[] {
  const out: Step[] = [];
  for (const s of steps) {
    const last = out[out.length - 1];
    if (s.kind === 'text' && last?.kind === 'text')
      out[out.length - 1] = { kind: 'text', text: last.text + s.text };
    else out.push(s);
  }
  return out;
}

/** One concatenation expression for the whole line (used without omit_empty_values). */
function generateRenderer(
  steps: readonly Step[],
  slow: (src: RenderSource) => string,
): (src: RenderSource) => string {
  const fns: unknown[] = [];
  let expr = '';
  for (const s of merged(steps)) {
    let e: string;
    if (s.kind === 'text') e = JSON.stringify(s.text);
    else if (s.kind === 'literal') e = JSON.stringify(s.json);
    else if (s.kind === 'value') {
      fns.push(s.write);
      const w = `F${fns.length - 1}`;
      if (s.rt.direct) e = `${w}(src[${JSON.stringify(s.rt.op.key)}])`;
      else {
        fns.push(s.rt.get);
        e = `${w}(F${fns.length - 1}(src))`;
      }
    } else {
      fns.push(s.render);
      e = `F${fns.length - 1}(src)`;
    }
    expr += expr === '' ? e : ` + ${e}`;
  }
  const factory = new Function(
    'slow',
    ...fns.map((_, i) => `F${i}`),
    `return function render(src) {\nif (typeof src === 'function') return slow(src);\nreturn ${expr || '""'};\n};`,
  ) as (...args: unknown[]) => (src: RenderSource) => string;
  return factory(slow, ...fns);
}

/**
 * The JSON value reader compiled into every generated parser: `R(line, pos)` reads one JSON value
 * at `pos` and sets `end` after it, or returns BAD. Each compiled format gets its own copy, so the
 * values one format's consumer keeps alive never change how V8 allocates another format's
 * values (see bench/RESULTS.md on pretenuring). Plain strings and integers are read in place;
 * anything else (escapes, fractions, nested values) goes through JSON.parse.
 */
const READER = `
let end = 0;
function jsonAt(line, from, to) {
  try {
    const v = JSON.parse(line.slice(from, to));
    end = to;
    return v;
  } catch {
    return BAD;
  }
}
function word(line, pos, w, v) {
  if (!line.startsWith(w, pos)) return BAD;
  end = pos + w.length;
  return v;
}
function R(line, pos) {
  const c = line.charCodeAt(pos);
  if (c === 0x22) {
    const e = line.indexOf('"', pos + 1);
    if (e === -1) return BAD;
    const v = line.slice(pos + 1, e);
    if (v.indexOf('\\\\') === -1) {
      end = e + 1;
      return v;
    }
    let i = pos + 1;
    while (i < line.length) {
      const d = line.charCodeAt(i);
      if (d === 0x5c) i += 2;
      else if (d === 0x22) break;
      else i++;
    }
    return i >= line.length ? BAD : jsonAt(line, pos, i + 1);
  }
  if (c >= 0x30 && c <= 0x39) {
    let i = pos;
    let v = 0;
    for (; i < line.length; i++) {
      const d = line.charCodeAt(i);
      if (d < 0x30 || d > 0x39) break;
      v = v * 10 + (d - 0x30);
    }
    const d = line.charCodeAt(i);
    if (d !== 0x2e && d !== 0x65 && d !== 0x45 && i - pos <= 15 && (c !== 0x30 || i - pos === 1)) {
      end = i;
      return v;
    }
  }
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    let i = pos + 1;
    for (; i < line.length; i++) {
      const d = line.charCodeAt(i);
      if (!((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d)) break;
    }
    return jsonAt(line, pos, i);
  }
  if (c === 0x6e) return word(line, pos, 'null', null);
  if (c === 0x74) return word(line, pos, 'true', true);
  if (c === 0x66) return word(line, pos, 'false', false);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let i = pos; i < line.length; i++) {
      const d = line.charCodeAt(i);
      if (d === 0x22) {
        i++;
        while (i < line.length && line.charCodeAt(i) !== 0x22) i += line.charCodeAt(i) === 0x5c ? 2 : 1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return jsonAt(line, pos, i + 1);
      }
    }
  }
  return BAD;
}
`;

/**
 * Generates the parser of lines in the compiled style: the text between values is matched
 * exactly and each value is read in place, without building the whole JSON object first. A line
 * written differently (other spacing or key order, omitted keys, other escapes) goes to `slow`.
 */
function generateParser(
  steps: readonly Step[],
  winners: ReadonlyMap<string, EnvoyOperator>,
  slow: (line: string) => Fields | LineParseError,
): (line: string) => Fields | LineParseError {
  const fns: unknown[] = [];
  const exprOf = new Map<EnvoyOperator, string>();
  let body = 'let pos = 0, v;\n';
  let k = 0;
  for (const s of merged(steps)) {
    if (s.kind === 'text') {
      // (indexOf at a known position is much faster than startsWith in V8.)
      body += `if (line.indexOf(${JSON.stringify(s.text)}, pos) !== pos) return slow(line);\npos += ${s.text.length};\n`;
      continue;
    }
    body += 'v = R(line, pos);\nif (v === BAD) return slow(line);\npos = end;\n';
    if (s.kind === 'literal') {
      body += `if (v !== ${JSON.stringify(s.value)}) return slow(line);\n`;
    } else if (s.kind === 'value') {
      fns.push(s.convert);
      body += `const v${k} = F${fns.length - 1}(v);\nif (v${k} === undefined) return slow(line);\n`;
      exprOf.set(s.rt.op, `v${k}`);
      k++;
    } else {
      fns.push(s.parse);
      body += `if (typeof v !== 'string') return slow(line);\nconst v${k} = F${fns.length - 1}(v);\n`;
      body += `if (v${k} instanceof Err) return slow(line);\n`;
      for (const op of s.ops) exprOf.set(op, `v${k}[${JSON.stringify(op.key)}]`);
      k++;
    }
  }
  body += 'if (pos !== line.length) return slow(line);\n';
  body += `return { ${[...winners].map(([key, op]) => `${JSON.stringify(key)}: ${exprOf.get(op)}`).join(', ')} };`;
  const factory = new Function(
    'slow',
    'BAD',
    'Err',
    ...fns.map((_, i) => `F${i}`),
    `${READER}\nreturn function parse(line) {\n${body}\n};`,
  ) as (...args: unknown[]) => (line: string) => Fields | LineParseError;
  return factory(slow, Symbol('bad'), LineParseError, ...fns);
}
