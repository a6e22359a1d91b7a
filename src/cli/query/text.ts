/**
 * Text helpers of the query commands: numbers with a space as thousands separator, labels made
 * safe for a terminal, UTC timestamps, right-aligned columns and the trend sparkline.
 * @module
 */

import { OTHER_TEXT } from '../../store/dimensions.ts';

/** `18432` → `18 432`; non-integers keep `decimals` digits (`1234.5` → `1 234.500` for 3). */
export function formatCount(n: number, decimals = 0): string {
  if (!Number.isFinite(n)) return String(n);
  const fixed = Math.abs(n).toFixed(decimals);
  const dot = fixed.indexOf('.');
  const int = dot === -1 ? fixed : fixed.slice(0, dot);
  const frac = dot === -1 ? '' : fixed.slice(dot);
  let grouped = '';
  for (let i = int.length; i > 0; i -= 3) {
    const part = int.slice(Math.max(0, i - 3), i);
    grouped = grouped === '' ? part : `${part} ${grouped}`;
  }
  return `${n < 0 && Number(fixed) !== 0 ? '-' : ''}${grouped}${frac}`;
}

const HEX = '0123456789ABCDEF';

function hexByte(b: number): string {
  return `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
}

/**
 * Characters a terminal must not receive raw: C0/C1 controls and DEL, format characters (bidi
 * overrides, zero-width), lone surrogates, private use, unassigned code points, and line or
 * paragraph separators.
 */
const UNSAFE = /[\p{C}\p{Zl}\p{Zp}\\]/gu;

/**
 * A label as a table shows it: escaped, `(none)` for the empty label (a log without that field),
 * as the dashboard does, and `(other)` for a residual's value (keys not kept one by one: the
 * value's text, or `other` from a TopN entry or stream summary whose label is then empty).
 */
export function shownLabel(label: string, other = label === OTHER_TEXT): string {
  return other ? '(other)' : label === '' ? '(none)' : escapeLabel(label);
}

/**
 * Makes an attacker-controlled label safe to print in a table: `\` becomes `\\`; ASCII controls
 * and DEL become `\xNN` (as nginx escapes them: ESC → `\x1B`, newline → `\x0A`); lone surrogates
 * U+DC80–U+DCFF (raw bytes of invalid UTF-8, see format/bytes.ts) become the byte as `\xNN`; every
 * other unsafe code point becomes `\u{XXXX}`. Printable text, including non-ASCII, is unchanged.
 */
export function escapeLabel(s: string): string {
  return s.replace(UNSAFE, (c) => {
    if (c === '\\') return '\\\\';
    const cp = c.codePointAt(0) as number;
    if (cp < 0x80) return hexByte(cp);
    if (cp >= 0xdc80 && cp <= 0xdcff) return hexByte(cp - 0xdc00);
    return `\\u{${cp.toString(16).toUpperCase()}}`;
  });
}

/** Epoch seconds → `2026-11-22T18:55:00Z`. */
export function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Right-aligns a column: every cell padded on the left to the widest (header included). */
export function rightAlign(cells: readonly string[]): string[] {
  const width = Math.max(0, ...cells.map((c) => c.length));
  return cells.map((c) => c.padStart(width));
}

/** Left-aligns a column: every cell padded on the right to the widest (header included). */
export function leftAlign(cells: readonly string[]): string[] {
  const width = Math.max(0, ...cells.map((c) => c.length));
  return cells.map((c) => c.padEnd(width));
}

/**
 * Joins aligned columns into lines, two spaces apart. The last column is not padded, so a
 * long label never pushes trailing spaces.
 */
export function joinColumns(columns: readonly (readonly string[])[]): string[] {
  const rows = columns[0]?.length ?? 0;
  const out: string[] = [];
  for (let r = 0; r < rows; r++) out.push(columns.map((c) => c[r] ?? '').join('  '));
  return out;
}

const BARS = '▁▂▃▄▅▆▇█';

/**
 * A one-line sparkline scaled from zero to the largest value: zero (and anything not positive)
 * is `▁`, the largest value `█`, and any positive value at least `▂`, so a quiet bucket can be told
 * from an empty one.
 */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values.filter((v) => Number.isFinite(v)));
  let out = '';
  for (const v of values) {
    if (!(v > 0) || max === 0 || !Number.isFinite(v)) {
      out += BARS[0];
      continue;
    }
    const level = Math.min(7, Math.max(1, Math.ceil((v / max) * 7)));
    out += BARS[level];
  }
  return out;
}
