/**
 * uWSGI's time and number texts: `ctime` (C `ctime()` without the newline), the C `%f` of a float
 * that `secs` writes, and a C-locale `strftime` (glibc behaviour) for `ftime` with a `logdate`
 * format, each with its parser. `ltime` is nginx's `$time_local` text and reuses its code.
 * @module
 */

import { DAY_ABBR, DAY_NAMES, digitsAt, MONTH_ABBR, MONTH_NAMES, pad2 } from '../calendar.ts';
import { parseTimeLocal, timeLocalFormatter, type UtcOffset } from '../nginx/time.ts';

export { parseTimeLocal, timeLocalFormatter, type UtcOffset };

const WDAY = DAY_ABBR;
const WDAY_FULL = DAY_NAMES;
const MON = MONTH_ABBR;
const MON_FULL = MONTH_NAMES;
const MON_INDEX: Record<string, number> = Object.fromEntries(MON.map((m, i) => [m, i]));
const MON_FULL_INDEX: Record<string, number> = Object.fromEntries(MON_FULL.map((m, i) => [m, i]));

/** Minutes east of UTC at `epochSec` for `tz`. */
export function offsetAt(epochSec: number, tz: UtcOffset): number {
  return tz === 'local' ? -new Date(epochSec * 1000).getTimezoneOffset() : tz;
}

/** Epoch seconds of a wall-clock time in `tz` (month 0-based); NaN when out of range. */
function wallToEpoch(
  tz: UtcOffset,
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
): number {
  if (tz !== 'local') return Date.UTC(y, mo, d, h, mi, s) / 1000 - tz * 60;
  const dt = new Date(2000, mo, d, h, mi, s);
  dt.setFullYear(y, mo, d);
  return dt.getTime() / 1000;
}

/** Creates a cached formatter for `ctime` (`Mon Nov  3 07:05:09 2026`). Input: epoch seconds. */
export function ctimeFormatter(tz: UtcOffset = 'local'): (epochSec: number) => string {
  let lastSec = Number.NaN;
  let lastText = '';
  return (epochSec) => {
    const s = Math.floor(epochSec);
    if (s === lastSec) return lastText;
    const d = new Date((s + offsetAt(s, tz) * 60) * 1000);
    const day = d.getUTCDate();
    lastText =
      `${WDAY[d.getUTCDay()]} ${MON[d.getUTCMonth()]} ${day < 10 ? ' ' : ''}${day} ` +
      `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
    lastSec = s;
    return lastText;
  };
}

/**
 * Creates a cached parser for `ctime` text in `tz` (ctime carries no zone): epoch seconds, or
 * NaN when the text is not a valid ctime (the weekday must agree with the date).
 */
export function ctimeParser(tz: UtcOffset = 'local'): (text: string) => number {
  const fmt = ctimeFormatter(tz);
  let lastText = '';
  let lastValue = Number.NaN;
  return (s) => {
    if (s === lastText) return lastValue;
    const n = s.length;
    if (n < 24 || s[3] !== ' ' || s[7] !== ' ' || s[10] !== ' ' || s[13] !== ':' || s[16] !== ':') {
      return Number.NaN;
    }
    if (s[19] !== ' ') return Number.NaN;
    const mo = MON_INDEX[s.slice(4, 7)];
    if (mo === undefined) return Number.NaN;
    const day = s[8] === ' ' ? digitsAt(s, 9, 1) : digitsAt(s, 8, 2);
    const v = wallToEpoch(
      tz,
      digitsAt(s, 20, n - 20),
      mo,
      day,
      digitsAt(s, 11, 2),
      digitsAt(s, 14, 2),
      digitsAt(s, 17, 2),
    );
    if (Number.isNaN(v) || fmt(v) !== s) return Number.NaN;
    lastText = s;
    lastValue = v;
    return v;
  };
}

/**
 * C's `snprintf(buf, 11, "%f", (float) x)`, as uWSGI writes `secs`: the value rounded to a float,
 * six decimals (ties to even, as glibc), cut to 10 characters.
 */
export function formatCFloat(x: number): string {
  const f = Math.fround(x);
  let s: string;
  if (Number.isNaN(f)) s = '-nan';
  else if (!Number.isFinite(f)) s = f > 0 ? 'inf' : '-inf';
  else if (Math.abs(f) >= 1e21) s = `${BigInt(f)}.000000`;
  else {
    s = f.toFixed(6);
    // An exact tie at the 7th decimal: glibc rounds half to even, toFixed rounds half up.
    const y = Math.abs(f) * 2e6; // exact for |f| < 2^24
    if (Math.abs(f) < 16777216 && Number.isInteger(y) && y % 2 === 1) {
      let k = Math.floor(y / 2);
      if (k % 2 === 1) k++;
      const frac = String(k % 1e6).padStart(6, '0');
      s = `${f < 0 ? '-' : ''}${Math.floor(k / 1e6)}.${frac}`;
    }
  }
  return s.length > 10 ? s.slice(0, 10) : s;
}

// ---------------------------------------------------------------------------------------------
// strftime (glibc, C locale)

type Role = 'Y' | 'y' | 'C' | 'm' | 'b' | 'B' | 'd' | 'j' | 'H' | 'I' | 'p' | 'M' | 'S' | 's' | 'z' | 'Z';

interface Spec {
  readonly conv: string;
  readonly flag: string; // '', '-', '_', '0', '^', '#'
  readonly width: number; // 0 = default
}
type Piece = string | Spec;

/** The C locale's composite conversions. */
const COMPOSITE: Record<string, string> = {
  c: '%a %b %e %H:%M:%S %Y',
  D: '%m/%d/%y',
  F: '%Y-%m-%d',
  r: '%I:%M:%S %p',
  R: '%H:%M',
  T: '%H:%M:%S',
  x: '%m/%d/%y',
  X: '%H:%M:%S',
  h: '%b',
};
const SIMPLE = new Set([...'aAbBCdegGHIjklmMnpPsStuUVwWyYzZ%']);

function tokenizeStrftime(fmt: string, depth = 0): Piece[] {
  const out: Piece[] = [];
  let lit = '';
  let i = 0;
  while (i < fmt.length) {
    const ch = fmt[i] as string;
    if (ch !== '%') {
      lit += ch;
      i++;
      continue;
    }
    let j = i + 1;
    let flag = '';
    while (j < fmt.length && '_-0^#'.includes(fmt[j] as string)) flag = fmt[j++] as string;
    let w = '';
    while (j < fmt.length && /\d/.test(fmt[j] as string)) w += fmt[j++];
    if (fmt[j] === 'E' || fmt[j] === 'O') j++;
    const conv = fmt[j];
    if (conv === undefined || !(SIMPLE.has(conv) || Object.hasOwn(COMPOSITE, conv))) {
      // glibc writes an unknown conversion (and a `%` at the end) as it stands.
      const end = conv === undefined ? fmt.length : j + 1;
      lit += fmt.slice(i, end);
      i = end;
      continue;
    }
    if (lit !== '') out.push(lit);
    lit = '';
    if (Object.hasOwn(COMPOSITE, conv) && depth < 2) {
      out.push(...tokenizeStrftime(COMPOSITE[conv] as string, depth + 1));
    } else if (conv === '%') {
      out.push('%');
    } else if (conv === 'n' || conv === 't') {
      out.push(conv === 'n' ? '\n' : '\t');
    } else {
      out.push({ conv, flag, width: w === '' ? 0 : Number(w) });
    }
    i = j + 1;
  }
  if (lit !== '') out.push(lit);
  // merge adjacent literals
  const merged: Piece[] = [];
  for (const p of out) {
    const last = merged.at(-1);
    if (typeof p === 'string' && typeof last === 'string') merged[merged.length - 1] = last + p;
    else merged.push(p);
  }
  return merged;
}

/** Numeric conversions: default width and default padding. */
const NUMERIC: Record<string, readonly [number, '0' | ' ']> = {
  C: [2, '0'],
  d: [2, '0'],
  e: [2, ' '],
  g: [2, '0'],
  G: [1, '0'],
  H: [2, '0'],
  I: [2, '0'],
  j: [3, '0'],
  k: [2, ' '],
  l: [2, ' '],
  m: [2, '0'],
  M: [2, '0'],
  s: [1, '0'],
  S: [2, '0'],
  u: [1, '0'],
  U: [2, '0'],
  V: [2, '0'],
  w: [1, '0'],
  W: [2, '0'],
  y: [2, '0'],
  Y: [1, '0'],
};

interface Broken {
  readonly sec: number; // epoch seconds
  readonly d: Date; // wall clock as UTC fields
  readonly off: number; // minutes east
  readonly zone: string;
}

function isoWeek(d: Date): { year: number; week: number } {
  const wd = (d.getUTCDay() + 6) % 7; // Monday = 0
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) + (3 - wd) * 86400000;
  const year = new Date(thursday).getUTCFullYear();
  return { year, week: 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / 86400000 / 7) };
}

function yday(d: Date): number {
  return Math.round(
    (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) /
      86400000,
  );
}

function numericValue(conv: string, b: Broken): number {
  const d = b.d;
  switch (conv) {
    case 'C':
      return Math.floor(d.getUTCFullYear() / 100);
    case 'd':
    case 'e':
      return d.getUTCDate();
    case 'g':
      return isoWeek(d).year % 100;
    case 'G':
      return isoWeek(d).year;
    case 'H':
    case 'k':
      return d.getUTCHours();
    case 'I':
    case 'l':
      return d.getUTCHours() % 12 || 12;
    case 'j':
      return yday(d) + 1;
    case 'm':
      return d.getUTCMonth() + 1;
    case 'M':
      return d.getUTCMinutes();
    case 's':
      return b.sec;
    case 'S':
      return d.getUTCSeconds();
    case 'u':
      return d.getUTCDay() || 7;
    case 'U':
      return Math.floor((yday(d) + 7 - d.getUTCDay()) / 7);
    case 'V':
      return isoWeek(d).week;
    case 'w':
      return d.getUTCDay();
    case 'W':
      return Math.floor((yday(d) + 7 - ((d.getUTCDay() + 6) % 7)) / 7);
    case 'y':
      return d.getUTCFullYear() % 100;
    default: // Y
      return d.getUTCFullYear();
  }
}

function alphaValue(conv: string, b: Broken): string {
  const d = b.d;
  switch (conv) {
    case 'a':
      return WDAY[d.getUTCDay()] as string;
    case 'A':
      return WDAY_FULL[d.getUTCDay()] as string;
    case 'b':
      return MON[d.getUTCMonth()] as string;
    case 'B':
      return MON_FULL[d.getUTCMonth()] as string;
    case 'p':
      return d.getUTCHours() < 12 ? 'AM' : 'PM';
    case 'P':
      return d.getUTCHours() < 12 ? 'am' : 'pm';
    case 'z': {
      const a = Math.abs(b.off);
      return `${b.off < 0 ? '-' : '+'}${pad2(Math.floor(a / 60))}${pad2(a % 60)}`;
    }
    default: // Z
      return b.zone;
  }
}

function renderSpec(s: Spec, b: Broken): string {
  const num = Object.hasOwn(NUMERIC, s.conv) ? NUMERIC[s.conv] : undefined;
  if (num) {
    const v = numericValue(s.conv, b);
    const neg = v < 0;
    let t = String(Math.abs(v));
    const width = s.width || num[0];
    const pad = s.flag === '-' ? '' : s.flag === '_' ? ' ' : s.flag === '0' ? '0' : num[1];
    if (pad !== '' && t.length < width - (neg ? 1 : 0)) t = t.padStart(width - (neg ? 1 : 0), pad);
    return neg ? `-${t}` : t;
  }
  let t = alphaValue(s.conv, b);
  if (s.flag === '^') t = t.toUpperCase();
  else if (s.flag === '#') t = s.conv === 'p' || s.conv === 'Z' ? t.toLowerCase() : t.toUpperCase();
  if (s.width > t.length) t = t.padStart(s.width, s.flag === '0' ? '0' : ' ');
  return t;
}

function zoneName(epochSec: number, off: number, tz: UtcOffset): string {
  if (tz === 'local') {
    try {
      const parts = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(
        new Date(epochSec * 1000),
      );
      const z = parts.find((p) => p.type === 'timeZoneName')?.value;
      if (z) return z;
    } catch {
      // fall through to the numeric name
    }
  }
  if (off === 0) return 'UTC';
  const a = Math.abs(off);
  return `${off < 0 ? '-' : '+'}${pad2(Math.floor(a / 60))}${pad2(a % 60)}`;
}

function renderPieces(pieces: readonly Piece[], sec: number, off: number, zone: string): string {
  const b: Broken = { sec, d: new Date((sec + off * 60) * 1000), off, zone };
  let out = '';
  for (const p of pieces) out += typeof p === 'string' ? p : renderSpec(p, b);
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function specPattern(s: Spec): string {
  const num = Object.hasOwn(NUMERIC, s.conv) ? NUMERIC[s.conv] : undefined;
  if (num) {
    if (s.conv === 's') return '-?\\d+';
    const width = s.width || num[0];
    const pad = s.flag === '-' ? '' : s.flag === '_' ? ' ' : s.flag === '0' ? '0' : num[1];
    if (pad === '' || width <= 1) return '-?\\d+';
    if (pad === ' ') return ` {0,${width - 1}}\\d+`;
    return `-?\\d{${width},}|-\\d+`;
  }
  const pad = s.width > 0 ? '[ 0]*' : '';
  switch (s.conv) {
    case 'a':
    case 'b':
      return `${pad}[A-Za-z]{3}`;
    case 'A':
    case 'B':
      return `${pad}[A-Za-z]+`;
    case 'p':
    case 'P':
      return `${pad}[AaPp][Mm]`;
    case 'z':
      return `${pad}[+-]\\d{4}`;
    default: // Z
      return '[^\\s]*';
  }
}

/** A compiled strftime format: render an instant, and read one back from the text. */
export interface Strftime {
  /** Formats epoch seconds (fraction ignored) in the compile-time zone. */
  format(epochSec: number): string;
  /** A regular-expression source (no capturing groups) that matches every output. */
  readonly pattern: string;
  /**
   * Epoch seconds for a text this format wrote, when the format pins the instant down (a year and
   * a day, or `%s`) and formatting that instant gives the same text back; otherwise undefined.
   */
  parse(text: string): number | undefined;
}

/**
 * Compiles a strftime format as glibc does in the C locale: flags `_ - 0 ^ #`, a width, `E`/`O`
 * modifiers; unknown conversions are written as they stand. `%Z` is the zone abbreviation of the
 * process (`'local'`) or `UTC`/`+hhmm` for a fixed offset.
 */
export function compileStrftime(fmt: string, tz: UtcOffset = 'local'): Strftime {
  const pieces = tokenizeStrftime(fmt);
  let pattern = '';
  let capture = '^';
  const roles: (Role | null)[] = [];
  for (const p of pieces) {
    if (typeof p === 'string') {
      pattern += escapeRegExp(p);
      capture += escapeRegExp(p);
      continue;
    }
    const pat = specPattern(p);
    pattern += `(?:${pat})`;
    capture += `(${pat})`;
    const c = p.conv;
    const role: Role | null =
      c === 'e'
        ? 'd'
        : c === 'k'
          ? 'H'
          : c === 'l'
            ? 'I'
            : c === 'P'
              ? 'p'
              : c === 'A'
                ? null
                : 'YyCmbBdjHIpMSszZ'.includes(c)
                  ? (c as Role)
                  : null;
    roles.push(role);
  }
  const re = new RegExp(`${capture}$`);
  let lastSec = Number.NaN;
  let lastText = '';
  const format = (epochSec: number): string => {
    const s = Math.floor(epochSec);
    if (s === lastSec) return lastText;
    const off = offsetAt(s, tz);
    lastText = renderPieces(pieces, s, off, zoneName(s, off, tz));
    lastSec = s;
    return lastText;
  };
  let cacheText: string | undefined;
  let cacheValue: number | undefined;
  const parse = (text: string): number | undefined => {
    if (text === cacheText) return cacheValue;
    const v = parseUncached(text);
    cacheText = text;
    cacheValue = v;
    return v;
  };
  const parseUncached = (text: string): number | undefined => {
    const m = re.exec(text);
    if (m === null) return undefined;
    const got: Partial<Record<Role, string>> = {};
    roles.forEach((r, i) => {
      if (r !== null) got[r] = (m[i + 1] as string).trim();
    });
    let off: number | undefined;
    if (got.z !== undefined) {
      const z = got.z;
      off = (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)));
    }
    let sec: number;
    if (got.s !== undefined) {
      sec = Number(got.s);
    } else {
      let year: number | undefined;
      if (got.Y !== undefined) year = Number(got.Y);
      else if (got.y !== undefined) {
        const y = Number(got.y);
        year = got.C !== undefined ? Number(got.C) * 100 + y : y < 69 ? 2000 + y : 1900 + y;
      }
      let month: number | undefined;
      if (got.m !== undefined) month = Number(got.m) - 1;
      else if (got.b !== undefined) month = MON_INDEX[got.b];
      else if (got.B !== undefined) month = MON_FULL_INDEX[got.B];
      let day = got.d !== undefined ? Number(got.d) : undefined;
      if ((month === undefined || day === undefined) && got.j !== undefined) {
        month = 0;
        day = Number(got.j);
      }
      if (year === undefined || month === undefined || day === undefined) return undefined;
      let hour = 0;
      if (got.H !== undefined) hour = Number(got.H);
      else if (got.I !== undefined) {
        if (got.p === undefined) return undefined;
        hour = (Number(got.I) % 12) + (got.p.toUpperCase() === 'PM' ? 12 : 0);
      }
      const min = got.M !== undefined ? Number(got.M) : 0;
      const s = got.S !== undefined ? Number(got.S) : 0;
      sec = wallToEpoch(off ?? tz, year, month, day, hour, min, s);
    }
    if (!Number.isFinite(sec)) return undefined;
    const o = off ?? offsetAt(sec, tz);
    const zone = got.Z ?? zoneName(sec, o, tz);
    return renderPieces(pieces, sec, o, zone) === text ? sec : undefined;
  };
  return { format, pattern, parse };
}
