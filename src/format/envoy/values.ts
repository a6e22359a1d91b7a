/**
 * The runtime of one operator occurrence: where its value comes from in the render input
 * (including the fallbacks: `REQ(X?Y)` from `REQ(X)`/`REQ(Y)`, `START_TIME(…)` from
 * `START_TIME`, metadata paths from their namespace, ports and port-less addresses from the full
 * address), how the value is written (text, typed JSON), and how written text reads back.
 * @module
 */
import { encodeString } from '../bytes.ts';
import type { FieldValue, RenderSource, RenderValue } from '../types.ts';
import { type JsonStyle, parseStructured, quoterFor, stringifyValue } from './json.ts';
import { GRPC_STATUS_NAMES } from './operators.ts';
import { compileTimeFormat, type TimeInput, type UtcOffset } from './time.ts';
import type { EnvoyOperator } from './tokenize.ts';

export interface ValueContext {
  readonly tz: UtcOffset;
  readonly style: JsonStyle;
}

/** Converts written text to a field; undefined when the text is not valid for the operator. */
export type TextConverter = (raw: string) => FieldValue | undefined;

export interface OperatorRuntime {
  readonly op: EnvoyOperator;
  /** The operator's value in the render input (after fallbacks); undefined/null: unset. */
  get(src: RenderSource): RenderValue;
  /** True when the value is just `src[op.key]` (no fallbacks). */
  readonly direct: boolean;
  /** Value → text, unset written as `unset` (RESPONSE_FLAGS: always `-`). */
  writer(unset: string): (v: RenderValue) => string;
  /** The text of a value (truncated); null when the value is unset. */
  text(v: RenderValue): string | null;
  /** Value → typed JSON text, unset written as `unset` (PROTOCOL, RESPONSE_FLAGS: `"-"`). */
  typedWriter(unset: string): (v: RenderValue) => string;
  /** Typed JSON text of a value; null when unset (written `null`, or omitted). */
  typed(v: RenderValue): string | null;
  /** What an unset value is in typed JSON when it is not `null` (PROTOCOL, RESPONSE_FLAGS: `"-"`). */
  readonly typedUnset: string | null;
  /** What an unset value is in text when it is not the format's unset text (RESPONSE_FLAGS: `-`). */
  readonly textUnset: string | null;
  /**
   * Converters of a set value's text, strictest first, for splitting a line: the strict one
   * also rejects text Envoy would not write (leading zeros, a PROTOCOL that is not `HTTP/…`,
   * metadata that starts like JSON but is not), the medium one whitespace in tokens; the last
   * is `converter`'s.
   */
  readonly levels: readonly [TextConverter, TextConverter, TextConverter];
  /** `levels[0]`, or undefined when it is the identity (plain strings). */
  readonly convertSet: TextConverter | undefined;
  /** Text → field, for a format whose unset text is `unset` (null: one that never writes unset values). */
  converter(unset: string | null): TextConverter;
  /** Typed-JSON value → field; undefined when the value does not fit the operator. */
  fromJson(v: unknown): FieldValue | undefined;
}

/** Cuts `s` to its first `z` UTF-8 bytes, as Envoy's `substr` does; a cut character's bytes stay raw. */
export function truncateBytes(s: string, z: number): string {
  if (s.length * 3 <= z) return s;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let w: number;
    let units = 1;
    if (c < 0x80) w = 1;
    else if (c < 0x800) w = 2;
    else if (c >= 0xdc80 && c <= 0xdcff) w = 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        w = 4;
        units = 2;
      } else w = 3;
    } else w = 3;
    if (bytes + w > z) {
      const room = z - bytes;
      let out = s.slice(0, i);
      if (room > 0) {
        const b = encodeString(s.slice(i, i + units));
        for (let k = 0; k < room; k++) out += String.fromCharCode(0xdc00 + (b[k] as number));
      }
      return out;
    }
    bytes += w;
    i += units - 1;
  }
  return s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function read(src: RenderSource, name: string): RenderValue {
  const v = typeof src === 'function' ? src(name) : src[name];
  return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
}

/** `1.2.3.4:80` → `1.2.3.4`, `[::1]:80` → `::1`; other addresses (pipes) unchanged. */
export function addressWithoutPort(a: string): string {
  if (a.startsWith('[')) {
    const end = a.indexOf(']:');
    return end === -1 ? a : a.slice(1, end);
  }
  const colon = a.lastIndexOf(':');
  if (colon === -1 || a.indexOf(':') !== colon || !/^\d+$/.test(a.slice(colon + 1))) return a;
  return a.slice(0, colon);
}

/** The port of `1.2.3.4:80` / `[::1]:80`; undefined when the address has none. */
export function addressPort(a: string): string | undefined {
  const m = /^(?:\[[^\]]*\]|[^:]*):(\d+)$/.exec(a);
  return m ? m[1] : undefined;
}

const PORT_OF: Readonly<Record<string, string>> = {
  DOWNSTREAM_LOCAL_PORT: 'DOWNSTREAM_LOCAL_ADDRESS',
  DOWNSTREAM_REMOTE_PORT: 'DOWNSTREAM_REMOTE_ADDRESS',
  DOWNSTREAM_DIRECT_REMOTE_PORT: 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS',
};

function walk(v: RenderValue, keys: readonly string[], from: number): RenderValue {
  let cur: unknown = v;
  for (let i = from; i < keys.length; i++) {
    if (!isPlainObject(cur)) return undefined;
    cur = Object.hasOwn(cur, keys[i] as string) ? cur[keys[i] as string] : undefined;
  }
  return cur as RenderValue;
}

/** The getter of an operator, with the fallbacks described in the module documentation. */
function getterFor(op: EnvoyOperator): (src: RenderSource) => RenderValue {
  const key = op.key;
  if (op.headers && op.headers.length === 2) {
    const a = `${op.name}(${op.headers[0]})`;
    const b = `${op.name}(${op.headers[1]})`;
    return (src) => {
      const v = read(src, key);
      if (v !== undefined) return v;
      const x = read(src, a);
      return x !== undefined && x !== null ? x : read(src, b);
    };
  }
  if (op.type === 'time' && op.args !== undefined) {
    const bare = op.name;
    return (src) => {
      const v = read(src, key);
      return v !== undefined ? v : read(src, bare);
    };
  }
  if (op.name.endsWith('_WITHOUT_PORT')) {
    const full = op.name.slice(0, -'_WITHOUT_PORT'.length);
    return (src) => {
      const v = read(src, key);
      if (v !== undefined) return v;
      const a = read(src, full);
      return typeof a === 'string' ? addressWithoutPort(a) : a;
    };
  }
  const portOf = PORT_OF[op.name];
  if (portOf !== undefined) {
    return (src) => {
      const v = read(src, key);
      if (v !== undefined) return v;
      const a = read(src, portOf);
      return typeof a === 'string' ? (addressPort(a) ?? null) : a === null ? null : undefined;
    };
  }
  if (op.path) {
    // Metadata: `NAME(ns:a:b)`, else `NAME(ns:a)` walking b, …, `NAME(ns)` walking a:b, and
    // finally the bare `NAME` walking ns:a:b. FILTER_STATE(KEY:F): `FILTER_STATE(KEY)`, `FILTER_STATE`.
    const path = op.path;
    const tries: [string, number][] = [];
    if (op.name === 'FILTER_STATE') {
      if (key !== `FILTER_STATE(${path[0]})`) tries.push([`FILTER_STATE(${path[0]})`, 1]);
    } else {
      const first = op.name === 'METADATA' ? 2 : 1;
      for (let j = path.length - 1; j >= first; j--)
        tries.push([`${op.name}(${path.slice(0, j).join(':')})`, j]);
    }
    tries.push([op.name, 0]);
    return (src) => {
      const v = read(src, key);
      if (v !== undefined) return v;
      for (const [name, from] of tries) {
        const p = read(src, name);
        if (p !== undefined) return walk(p, path, from);
      }
      return undefined;
    };
  }
  return directGet;
}

/** Marks an operator without fallbacks: its value is `src[key]`. */
function directGet(this: void, _src: RenderSource): RenderValue {
  return undefined;
}

function plainText(v: RenderValue, style: JsonStyle): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
  }
  if (v instanceof Date) return v.toISOString();
  return stringifyValue(v as FieldValue, style);
}

const DIGITS = /^\d+$/;

/** A non-negative decimal integer; undefined when `s` is anything else. */
function parseDigits(s: string): number | undefined {
  const n = s.length;
  if (n === 0) return undefined;
  if (n > 15) return DIGITS.test(s) ? Number(s) : undefined;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return v;
}

/** {@link parseDigits} without leading zeros (as Envoy writes integers). */
function parseDigitsStrict(s: string): number | undefined {
  return s.length > 1 && s.charCodeAt(0) === 0x30 ? undefined : parseDigits(s);
}

const WHITESPACE = /[ \t\r\n]/;

/** Text without space, tab, CR or LF. */
function isToken(s: string): boolean {
  return !WHITESPACE.test(s);
}

/** `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`, `HTTP/3`: what Envoy writes for %PROTOCOL%. */
function isHttpProtocol(s: string): boolean {
  const n = s.length;
  return (
    (n === 6 ||
      (n === 8 && s.charCodeAt(6) === 0x2e && s.charCodeAt(7) >= 0x30 && s.charCodeAt(7) <= 0x39)) &&
    s.charCodeAt(5) >= 0x30 &&
    s.charCodeAt(5) <= 0x39 &&
    s.indexOf('HTTP/') === 0
  );
}
const FLAGS = /^[A-Z]+(?:,[A-Z]+)*$/;

function intText(v: RenderValue, style: JsonStyle): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.trunc(v)) : String(v);
  return plainText(v, style);
}

/** Builds the runtime of one operator occurrence. */
export function operatorRuntime(op: EnvoyOperator, ctx: ValueContext): OperatorRuntime {
  const style = ctx.style;
  const quote = quoterFor(style);
  const z = op.truncate;
  const cut = z === undefined ? (s: string) => s : (s: string) => truncateBytes(s, z);
  const fallback = getterFor(op);
  const key = op.key;
  const get = fallback === directGet ? (src: RenderSource) => read(src, key) : fallback;
  const str = (raw: string) => raw;
  let base: (v: RenderValue) => string;
  let typedOf: ((v: RenderValue) => string) | undefined;
  let convert: TextConverter = str;
  let fromJson: (v: unknown) => FieldValue | undefined = (v) =>
    typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  let typedUnset: string | null = null;
  let textUnset: string | null = null;
  /** Splitting a line tries the strict converters first, then medium, then lenient (`convert`). */
  let strict: TextConverter | undefined;
  let medium: TextConverter | undefined;
  /** A fast path for numbers, when the type has one and nothing is truncated. */
  let numberText: ((n: number) => string) | undefined;

  switch (op.type) {
    case 'int':
    case 'duration':
    case 'port': {
      base = (v) => intText(v, style);
      if (op.type !== 'port') {
        typedOf = (v) => {
          if (typeof v === 'number') return Number.isFinite(v) ? String(Math.trunc(v)) : 'null';
          if (typeof v === 'bigint') return String(Number(v));
          const s = plainText(v, style);
          return DIGITS.test(s) ? String(Number(s)) : quote(cut(s));
        };
      }
      convert = parseDigits;
      // Envoy never writes leading zeros.
      strict = parseDigitsStrict;
      fromJson = (v) => (typeof v === 'number' ? v : typeof v === 'string' ? parseDigits(v) : undefined);
      if (z === undefined) numberText = (n) => (Number.isFinite(n) ? String(Math.trunc(n)) : String(n));
      break;
    }
    case 'time': {
      const t = compileTimeFormat(op.timeFormat, ctx.tz);
      base = (v) =>
        typeof v === 'number' || typeof v === 'bigint' || v instanceof Date
          ? t.render(v as TimeInput)
          : plainText(v, style);
      if (z === undefined) {
        convert = (raw) => t.parse(raw);
        numberText = (n) => t.render(n);
      }
      fromJson = (v) => (typeof v === 'string' ? convert(v) : undefined);
      break;
    }
    case 'flags': {
      base = (v) => {
        if (Array.isArray(v)) return v.length === 0 ? '-' : v.join(',');
        const s = plainText(v, style);
        return s === '' ? '-' : s;
      };
      textUnset = '-';
      typedUnset = '"-"';
      if (z === undefined) {
        convert = (raw) => (FLAGS.test(raw) ? raw : undefined);
      }
      fromJson = (v) => (typeof v === 'string' ? (v === '-' ? null : convert(v)) : undefined);
      break;
    }
    case 'structured': {
      const plain = op.serialize === 'PLAIN';
      // FILTER_STATE without :PLAIN is serialised as JSON (reference 003), so a string value is
      // a JSON string ("test_value", cut by :Z as "test); metadata strings are written as they are.
      const jsonString = !plain && op.name === 'FILTER_STATE';
      /** The string a whole JSON string literal (as `quote` writes it) stands for. */
      const readJsonString = (raw: string): string | undefined => {
        if (!jsonString || raw.charCodeAt(0) !== 0x22) return undefined;
        try {
          const v: unknown = JSON.parse(raw);
          return typeof v === 'string' && quote(v) === raw ? v : undefined;
        } catch {
          return undefined;
        }
      };
      base = (v) =>
        typeof v === 'string'
          ? plain || (style === 'reference' && !jsonString)
            ? v
            : jsonString
              ? quote(v)
              : stringifyValue(v, style)
          : plainText(v as FieldValue, style);
      typedOf = (v) =>
        typeof v === 'bigint'
          ? String(Number(v))
          : v instanceof Date
            ? quote(v.toISOString())
            : stringifyValue(v as FieldValue, style);
      convert = plain ? str : (raw) => readJsonString(raw) ?? parseStructured(raw, style);
      if (!plain) {
        // While splitting a line, text that starts like JSON must be whole JSON: metadata written
        // in the reference style contains spaces, the most common anchor.
        // In the protobuf style the text is always JSON (strings quoted).
        strict = (raw) => {
          const s = readJsonString(raw);
          if (s !== undefined) return s;
          const v = parseStructured(raw, style);
          const c = raw.charCodeAt(0);
          return typeof v === 'string' && (style === 'protobuf' || c === 0x7b || c === 0x5b || c === 0x22)
            ? undefined
            : v;
        };
      }
      fromJson = (v) => v as FieldValue;
      break;
    }
    case 'grpc_status': {
      base = (v) =>
        typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < GRPC_STATUS_NAMES.length
          ? (GRPC_STATUS_NAMES[v] as string)
          : plainText(v, style);
      medium = (raw) => (isToken(raw) ? raw : undefined);
      break;
    }
    case 'token': {
      // Envoy never writes whitespace in these; a value with whitespace (rendered from odd
      // input) is read only when no split of the line keeps every token whole.
      base = (v) => plainText(v, style);
      medium = (raw) => (isToken(raw) ? raw : undefined);
      if (op.name === 'PROTOCOL') {
        typedUnset = '"-"';
        convert = (raw) => (raw === '-' ? null : raw);
        medium = (raw) => (raw === '-' ? null : isToken(raw) ? raw : undefined);
        // Envoy writes HTTP/1.0, HTTP/1.1, HTTP/2 or HTTP/3; other tokens are accepted only when
        // no split of the line gives this shape.
        strict = (raw) => (raw === '-' ? null : isHttpProtocol(raw) ? raw : undefined);
        fromJson = (v) => (v === '-' ? null : typeof v === 'string' ? v : undefined);
      }
      break;
    }
    default:
      base = (v) => plainText(v, style);
  }

  const text = (v: RenderValue): string | null =>
    v === undefined || v === null || typeof v === 'function' || typeof v === 'symbol'
      ? textUnset
      : cut(base(v));
  // Strings pass through unchanged for every type but flags ('' is '-') and metadata (JSON style).
  const passString = z === undefined && op.type !== 'flags' && op.type !== 'structured';
  const num = numberText;
  const typedWriter = typedOf ?? ((v: RenderValue) => quote(cut(base(v))));
  const typed = (v: RenderValue): string | null =>
    v === undefined || v === null ? typedUnset : typedWriter(v);
  const converted = convert;
  const mid = medium ?? convert;
  const first = strict ?? mid;
  return {
    op,
    get,
    direct: fallback === directGet,
    writer(unset) {
      const u = textUnset ?? unset;
      if (passString && num) {
        return (v) => (typeof v === 'string' ? v : typeof v === 'number' ? num(v) : (text(v) ?? u));
      }
      if (passString) return (v) => (typeof v === 'string' ? v : (text(v) ?? u));
      return (v) => text(v) ?? u;
    },
    typedWriter(unset) {
      if ((op.type === 'int' || op.type === 'duration') && z === undefined) {
        return (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? `${v}` : (typed(v) ?? unset));
      }
      if (passString && num) {
        // Envoy's default time text never needs escaping.
        const q = op.type === 'time' && op.timeFormat === undefined ? (s: string) => `"${s}"` : quote;
        return (v) =>
          typeof v === 'string' ? quote(v) : typeof v === 'number' ? q(num(v)) : (typed(v) ?? unset);
      }
      if (passString) return (v) => (typeof v === 'string' ? quote(v) : (typed(v) ?? unset));
      return (v) => typed(v) ?? unset;
    },
    text,
    typed,
    typedUnset,
    textUnset,
    convertSet: first === str ? undefined : first,
    levels: [first, mid, converted],
    converter(unset) {
      if (unset === null) {
        const u = textUnset;
        return u === null ? converted : (raw) => (raw === u ? null : converted(raw));
      }
      if (textUnset !== null && textUnset !== unset) {
        const u = textUnset;
        return (raw) => (raw === unset || raw === u ? null : converted(raw));
      }
      return (raw) => (raw === unset ? null : converted(raw));
    },
    fromJson,
  };
}
