/**
 * How Envoy values become JSON text: format-dictionary log lines, and metadata / filter state
 * written into a text format.
 *
 * Two styles:
 * - `reference` (default): what reference 003 shows. Objects as `{"test_key": "foo", "n": 1}`
 *   (`": "` and `", "`), keys in the order given; strings escape only what JSON requires
 *   (`\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`, lower-case hex); every other
 *   character, and raw bytes (U+DC80–U+DCFF, see ../bytes.ts), are copied. A metadata value that
 *   is a string is written bare in a text format (`%DYNAMIC_METADATA(ns:test_key)%` → `foo`).
 * - `protobuf`: what Envoy's protobuf JSON printer (Envoy 1.x before its own serializer) writes:
 *   compact (`{"a":"b","n":1}`); additionally escapes `<` `>` DEL, U+0080–U+009F and the
 *   invisible formatting characters protobuf escapes; a string metadata value is quoted (`"foo"`).
 *   Raw bytes are copied (protobuf would drop invalid UTF-8; logtally keeps them).
 * @module
 */
import type { FieldValue } from '../types.ts';

/** How JSON text is written; see the module documentation. */
export type JsonStyle = 'reference' | 'protobuf';

const HEX = '0123456789abcdef';
const NEEDS_PROTOBUF =
  /["\\\x00-\x1f<>\x7f-\x9f\u00ad\u0600-\u0603\u06dd\u070f\u17b4\u17b5\u200b-\u200f\u2028-\u202e\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb]|\udb40[\udc01\udc20-\udc7f]|\ud834[\udd73-\udd7a]/;

function u4(c: number): string {
  return `\\u${HEX[(c >> 12) & 15]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`;
}

function control(c: number): string {
  switch (c) {
    case 0x08:
      return '\\b';
    case 0x09:
      return '\\t';
    case 0x0a:
      return '\\n';
    case 0x0c:
      return '\\f';
    case 0x0d:
      return '\\r';
    default:
      return u4(c);
  }
}

/** `"…"` with only the escapes JSON requires. */
export function quoteMinimal(s: string): string {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) break;
  }
  if (i === s.length) return `"${s}"`;
  let out = '"';
  let from = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(from, i) + (c === 0x22 ? '\\"' : c === 0x5c ? '\\\\' : control(c));
    from = i + 1;
  }
  return `${out + s.slice(from)}"`;
}

function protobufEscape(c: number): boolean {
  return (
    c < 0x20 ||
    c === 0x22 ||
    c === 0x5c ||
    c === 0x3c ||
    c === 0x3e ||
    (c >= 0x7f && c <= 0x9f) ||
    c === 0xad ||
    (c >= 0x600 && c <= 0x603) ||
    c === 0x6dd ||
    c === 0x70f ||
    c === 0x17b4 ||
    c === 0x17b5 ||
    (c >= 0x200b && c <= 0x200f) ||
    (c >= 0x2028 && c <= 0x202e) ||
    (c >= 0x2060 && c <= 0x2064) ||
    (c >= 0x206a && c <= 0x206f) ||
    c === 0xfeff ||
    (c >= 0xfff9 && c <= 0xfffb)
  );
}

/** `"…"` escaped as protobuf's JSON printer does. */
export function quoteProtobuf(s: string): string {
  if (!NEEDS_PROTOBUF.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out +=
          cp === 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0020 && cp <= 0xe007f)
            ? u4(c) + u4(d)
            : s.slice(i, i + 2);
        i++;
        continue;
      }
    }
    if (!protobufEscape(c)) out += s[i];
    else out += c === 0x22 ? '\\"' : c === 0x5c ? '\\\\' : c < 0x20 ? control(c) : u4(c);
  }
  return `${out}"`;
}

/** The string quoter of a style. */
export function quoterFor(style: JsonStyle): (s: string) => string {
  return style === 'protobuf' ? quoteProtobuf : quoteMinimal;
}

function numberText(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * Serialises a field value (metadata, filter state) as JSON in the given style. Keys keep their
 * order; non-finite numbers become `null`.
 */
export function stringifyValue(v: FieldValue, style: JsonStyle): string {
  const quote = quoterFor(style);
  const colon = style === 'protobuf' ? ':' : ': ';
  const comma = style === 'protobuf' ? ',' : ', ';
  const go = (x: FieldValue): string => {
    if (x === null) return 'null';
    switch (typeof x) {
      case 'string':
        return quote(x);
      case 'number':
        return numberText(x);
      case 'boolean':
        return x ? 'true' : 'false';
    }
    if (Array.isArray(x)) {
      let out = '[';
      for (let i = 0; i < x.length; i++) out += (i > 0 ? comma : '') + go(x[i] as FieldValue);
      return `${out}]`;
    }
    let out = '{';
    let first = true;
    for (const k of Object.keys(x)) {
      const e = (x as Record<string, FieldValue>)[k];
      if (e === undefined) continue;
      out += (first ? '' : comma) + quote(k) + colon + go(e);
      first = false;
    }
    return `${out}}`;
  };
  return go(v);
}

/**
 * Reads back the text a structured value (metadata, filter state) was written as: the JSON value
 * when the text is exactly how {@link stringifyValue} writes it (so rendering it again gives the
 * same text), otherwise the text itself (a plain string, or JSON cut by a `:Z` truncation).
 */
export function parseStructured(text: string, style: JsonStyle): FieldValue {
  const c = text.charCodeAt(0);
  const jsonish =
    style === 'protobuf' ||
    c === 0x7b || // {
    c === 0x5b || // [
    c === 0x2d || // -
    (c >= 0x30 && c <= 0x39) ||
    text === 'true' ||
    text === 'false';
  if (!jsonish) return text;
  let v: FieldValue;
  try {
    v = JSON.parse(text) as FieldValue;
  } catch {
    return text;
  }
  if (v === null) return text;
  if (style === 'reference' && typeof v === 'string') return text;
  return stringifyValue(v, style) === text ? v : text;
}
