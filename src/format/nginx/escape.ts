/**
 * nginx's three escape modes for variable values in `log_format`, and their inverses.
 * - `default`: `"`, `\`, bytes < 0x20 and bytes >= 0x7F as `\xXX` (upper-case hex).
 * - `json`: `"` and `\` backslashed, `\n \r \t \b \f`, other bytes < 0x20 as `\u00XX`
 *   (upper-case hex); bytes >= 0x80 are copied raw.
 * - `none`: copied unchanged.
 * Strings carry bytes as described in ../bytes.ts (UTF-8, raw bytes as U+DC80–U+DCFF).
 * @see ../../../../shared/spec/formats.md
 * @module
 */
import { decodeBytes, pushBytes } from '../bytes.ts';

export type EscapeMode = 'default' | 'json' | 'none';

const HEX = '0123456789ABCDEF';
const NEEDS_DEFAULT = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
const NEEDS_JSON = /["\\\x00-\x1f]/;

/** `escape=default`. */
export function escapeDefault(s: string): string {
  if (!NEEDS_DEFAULT.test(s)) return s;
  const bytes: number[] = [];
  pushBytes(s, bytes);
  let out = '';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c || b < 0x20 || b >= 0x7f) {
      out += `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
    } else {
      out += String.fromCharCode(b);
    }
  }
  return out;
}

/** `escape=json`. */
export function escapeJson(s: string): string {
  if (!NEEDS_JSON.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x1f) {
      out += c === 0x22 ? '\\"' : c === 0x5c ? '\\\\' : s[i];
      continue;
    }
    switch (c) {
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      case 0x08:
        out += '\\b';
        break;
      case 0x0c:
        out += '\\f';
        break;
      default:
        out += `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    }
  }
  return out;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Undoes `escape=default`: `\xXX` sequences become bytes, and the bytes are decoded as UTF-8
 * (invalid bytes surrogate-escaped). A backslash not followed by `x` and two hex digits is kept.
 */
export function unescapeDefault(s: string): string {
  if (s.indexOf('\\') === -1) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c && s.charCodeAt(i + 1) === 0x78 /* x */) {
      const h = hexVal(s.charCodeAt(i + 2));
      const l = hexVal(s.charCodeAt(i + 3));
      if (h >= 0 && l >= 0) {
        bytes.push((h << 4) | l);
        i += 3;
        continue;
      }
    }
    if (c < 0x80) bytes.push(c);
    else pushBytes(s[i] as string, bytes);
  }
  return decodeBytes(Uint8Array.from(bytes));
}

/** Undoes `escape=json` (and any standard JSON string escape, including `\uXXXX` pairs). */
export function unescapeJson(s: string): string {
  if (s.indexOf('\\') === -1) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x5c || i + 1 >= s.length) {
      out += s[i];
      continue;
    }
    const e = s[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const code = Number.parseInt(s.slice(i + 1, i + 5), 16);
        if (/^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) {
          out += String.fromCharCode(code);
          i += 4;
        } else {
          out += '\\u';
        }
        break;
      }
      default:
        out += e; // \" \\ \/ and anything else: the character itself
    }
  }
  return out;
}

export function escaperFor(mode: EscapeMode): (s: string) => string {
  return mode === 'default' ? escapeDefault : mode === 'json' ? escapeJson : (s) => s;
}

export function unescaperFor(mode: EscapeMode): (s: string) => string {
  return mode === 'default' ? unescapeDefault : mode === 'json' ? unescapeJson : (s) => s;
}

/** What nginx writes for a variable that is not found. */
export function missingFor(mode: EscapeMode): string {
  return mode === 'default' ? '-' : '';
}
