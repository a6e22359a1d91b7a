/**
 * Lossless conversion between log bytes and JS strings. Log files hold bytes, not text: a URI may
 * carry `\x80\xFF`, which is not UTF-8. logtally decodes bytes as UTF-8 and maps every byte of an
 * invalid sequence to a lone surrogate U+DC80–U+DCFF (Python's "surrogateescape"), and encodes
 * those surrogates back to the same byte, so bytes → string → bytes is the identity.
 * @module
 */

/** Strict UTF-8 that keeps a leading U+FEFF (a BOM is text like any other here: lossless). */
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes bytes to a string; invalid UTF-8 bytes become U+DC80+byte. */
export function decodeBytes(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] as number) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  try {
    return fatal.decode(bytes);
  } catch {
    return decodeSlow(bytes);
  }
}

function decodeSlow(b: Uint8Array): string {
  let out = '';
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i] as number;
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    let need = 0;
    let cp = 0;
    let min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      cp = c & 0x1f;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      cp = c & 0x0f;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      cp = c & 0x07;
      min = 0x10000;
    }
    let ok = need > 0 && i + need < n;
    if (ok) {
      for (let k = 1; k <= need; k++) {
        const cc = b[i + k];
        if (cc === undefined || (cc & 0xc0) !== 0x80) {
          ok = false;
          break;
        }
        cp = (cp << 6) | (cc & 0x3f);
      }
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (ok) {
      out += String.fromCodePoint(cp);
      i += need + 1;
    } else {
      out += String.fromCharCode(0xdc00 + c);
      i++;
    }
  }
  return out;
}

/** Appends the bytes of one string to `out` (UTF-8, with lone U+DC80–U+DCFF back to their byte). */
export function encodeString(s: string): Uint8Array {
  const out: number[] = [];
  pushBytes(s, out);
  return Uint8Array.from(out);
}

/** Pushes the bytes of `s` onto `out`; see {@link encodeString}. */
export function pushBytes(s: string, out: number[]): void {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out.push(c);
    } else if (c < 0x800) {
      out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
      } else {
        out.push(0xef, 0xbf, 0xbd);
      }
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      out.push(c - 0xdc00);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out.push(0xef, 0xbf, 0xbd);
    } else {
      out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
  }
}

const LONE = /[\ud800-\udfff]/;

/** Encodes a rendered log line to bytes, honouring surrogate-escaped raw bytes. */
export function encodeLine(line: string): Buffer {
  if (!LONE.test(line)) return Buffer.from(line, 'utf8');
  return Buffer.from(encodeString(line));
}

const char = String.fromCharCode;

/**
 * The ASCII (or latin1) text of `b[s, e)`: one string, made for this text only. Up to 16 bytes
 * it is made by one String.fromCharCode call (~20 ns, a quarter of a call into Buffer's C++).
 */
export function latin1(b: Uint8Array, s: number, e: number): string {
  const c = (i: number) => b[s + i] as number;
  // biome-ignore format: one call a length, a line each
  switch (e - s) {
    case 0:
      return '';
    case 1:
      return char(c(0));
    case 2:
      return char(c(0), c(1));
    case 3:
      return char(c(0), c(1), c(2));
    case 4:
      return char(c(0), c(1), c(2), c(3));
    case 5:
      return char(c(0), c(1), c(2), c(3), c(4));
    case 6:
      return char(c(0), c(1), c(2), c(3), c(4), c(5));
    case 7:
      return char(c(0), c(1), c(2), c(3), c(4), c(5), c(6));
    case 8:
      return char(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7));
    case 9:
      return char(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), c(8));
    case 10:
      return char(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), c(8), c(9));
    case 11:
      return char(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), c(8), c(9), c(10));
    case 12:
      return char(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), c(8), c(9), c(10), c(11));
    case 13:
      return char(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), c(8), c(9), c(10), c(11), c(12));
    case 14:
      return char(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), c(8), c(9), c(10), c(11), c(12), c(13));
    case 15:
      return char(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), c(8), c(9), c(10), c(11), c(12), c(13), c(14));
    case 16:
      return char(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), c(8), c(9), c(10), c(11), c(12), c(13), c(14), c(15));
    default:
      return Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('latin1');
  }
}

/**
 * `b[s, e)` as an unsigned C integer: 1–15 ASCII digits (leading zeros allowed), else -1. The
 * byte form of the parsers' `parseUint`.
 */
export function readUint(b: Uint8Array, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = (b[i] as number) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * `b[s, e)` as a C unsigned integer as printf writes it: 1–15 ASCII digits without a leading zero
 * (`0` itself is one), else -1. Longer texts are -1 too (the caller leaves them to the text parser).
 */
export function readCUint(b: Uint8Array, s: number, e: number): number {
  if (e - s > 1 && b[s] === 0x30) return -1;
  return readUint(b, s, e);
}

/** Exact powers of ten up to 1e15 (a decimal read as an integer, divided once). */
export const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * `b[s, e)` as a decimal (`123`, `0.456`: digits with at most one `.` between digits), else NaN;
 * rounded exactly as `Number(text)` (an exact integer divided once by an exact power of ten). The
 * byte form of the parsers' `parseDecimal`.
 */
export function readDecimal(b: Uint8Array, s: number, e: number): number {
  return decimalInto(b, s, e, decimal, 0) ? (decimal[0] as number) : Number.NaN;
}
const decimal = new Float64Array(1);

/**
 * As {@link readDecimal}, the value written to `out[i]`; false (nothing written) when the text is
 * not a decimal. For a hot path: a fraction returned from a call that is not inlined is a new heap
 * number each time.
 */
export function decimalInto(b: Uint8Array, s: number, e: number, out: Float64Array, i: number): boolean {
  const n = e - s;
  if (n <= 0) return false;
  let v = 0;
  let dot = -1;
  for (let k = s; k < e; k++) {
    const c = b[k] as number;
    if (c === 0x2e && dot === -1 && k > s && k < e - 1) dot = k - s;
    else if (c < 0x30 || c > 0x39) return false;
    else v = v * 10 + (c - 0x30);
  }
  if (dot === -1) out[i] = n <= 15 ? v : +latin1(b, s, e);
  else out[i] = n <= 16 ? v / (POW10[n - 1 - dot] as number) : +latin1(b, s, e);
  return true;
}

/** Whether `b[s, e)` is the ASCII text `t`. */
export function bytesEqual(b: Uint8Array, s: number, e: number, t: string): boolean {
  if (e - s !== t.length) return false;
  for (let i = 0; i < t.length; i++) if (b[s + i] !== t.charCodeAt(i)) return false;
  return true;
}

/** Where the group of an nginx list starting at `pos` ends: at the next ` : ` (or `e`). */
function listGroupEnd(b: Uint8Array, pos: number, e: number): number {
  let end = pos;
  while (end < e && !(end + 3 <= e && b[end] === 0x20 && b[end + 1] === 0x3a && b[end + 2] === 0x20)) end++;
  return end;
}

/** Where the list element starting at `p` ends in a group ending at `end`: at the next `, ` (or `end`). */
function listElementEnd(b: Uint8Array, p: number, end: number): number {
  let q = p;
  while (q < end && !(q + 2 <= end && b[q] === 0x2c && b[q + 1] === 0x20)) q++;
  return q;
}

/**
 * Whether `b[s, e)` is a list of numbers as nginx writes `$upstream_status` or
 * `$upstream_response_time`: groups split at each ` : `, their elements at each `, ` (as
 * `String.split` splits, left to right), every element `-` or a number (`readUint`, or
 * `readDecimal` when `decimal`). The byte form of the nginx parser's list converters.
 */
export function isNumberList(b: Uint8Array, s: number, e: number, decimal: boolean): boolean {
  for (let pos = s; ; ) {
    const end = listGroupEnd(b, pos, e);
    for (let p = pos; ; ) {
      const q = listElementEnd(b, p, end);
      const dash = q - p === 1 && b[p] === 0x2d;
      if (!dash && (decimal ? Number.isNaN(readDecimal(b, p, q)) : readUint(b, p, q) < 0)) return false;
      if (q >= end) break;
      p = q + 2;
    }
    if (end >= e) return true;
    pos = end + 3;
  }
}

/** Where the last element of the last group of the nginx list `b[s, e)` starts (`$upstream_addr`). */
export function lastListElement(b: Uint8Array, s: number, e: number): number {
  let pos = s;
  for (let end = listGroupEnd(b, pos, e); end < e; end = listGroupEnd(b, pos, e)) pos = end + 3;
  for (let q = listElementEnd(b, pos, e); q < e; q = listElementEnd(b, pos, e)) pos = q + 2;
  return pos;
}
