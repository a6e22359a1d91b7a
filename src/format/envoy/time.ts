/**
 * Envoy's time operators (`%START_TIME%`, `%DOWNSTREAM_PEER_CERT_V_START%`, `…_V_END%`).
 *
 * - Without a format: ISO 8601 in UTC with milliseconds, `2026-11-22T18:55:06.123Z`.
 * - With a format (`%START_TIME(%Y/%m/%dT%H:%M:%S%z)%`): strftime, plus Envoy's own
 *   specifiers `%f` (9 fractional digits), `%1f`…`%9f` (N digits, truncated, not rounded),
 *   `%s` (epoch seconds) and `%1s`…`%9s` (epoch seconds with N fractional digits, from the
 *   spec), and absl's `%Ez`, `%E*z`, `%E#S`, `%E*S`, `%E#f`, `%E*f`, `%E4Y`. Envoy hands absl
 *   whole seconds (`absl::FromTimeT`), so absl's own sub-second specifiers always show zeros
 *   (`%E3S` → `06.000`); only `%f`/`%Nf`/`%Ns` carry the fraction.
 * - Envoy formats in UTC; `utcOffset` lets logtally render other offsets (`%z`, `%H`, …).
 *
 * A compiled format is a closure: the text of everything that depends on the second is cached
 * per second, and only the fraction digits are spliced in per call.
 * @module
 */

import { DAY_NAMES, MONTH_NAMES } from '../calendar.ts';
import { FormatSyntaxError } from '../errors.ts';

/** A UTC offset in minutes east of Greenwich, or `'local'` for the process time zone. */
export type UtcOffset = number | 'local';

/** What a time operator renders from: a Date, epoch seconds (a number), or epoch nanoseconds (a bigint). */
export type TimeInput = Date | number | bigint;

const DAYS = DAY_NAMES;
const MONTHS = MONTH_NAMES;

/** Broken-down time of one second, as strftime sees it. */
interface Tm {
  readonly epoch: number;
  readonly year: number;
  /** 0–11 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0 = Sunday */
  readonly wday: number;
  /** 0-based day of the year */
  readonly yday: number;
  /** minutes east of UTC */
  readonly offset: number;
}

function offsetAt(epoch: number, tz: UtcOffset): number {
  return tz === 'local' ? -new Date(epoch * 1000).getTimezoneOffset() : tz;
}

function tmOf(epoch: number, tz: UtcOffset): Tm {
  const offset = offsetAt(epoch, tz);
  const d = new Date((epoch + offset * 60) * 1000);
  const year = d.getUTCFullYear();
  const yday = Math.floor((d.getTime() - Date.UTC(year, 0, 1)) / 86_400_000);
  return {
    epoch,
    year,
    month: d.getUTCMonth(),
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    wday: d.getUTCDay(),
    yday,
    offset,
  };
}

function isoWeek(t: Tm): { year: number; week: number } {
  const mon0 = (t.wday + 6) % 7; // 0 = Monday
  // The Thursday of this ISO week decides its year.
  const thursday = new Date(Date.UTC(t.year, t.month, t.day + 3 - mon0));
  const y = thursday.getUTCFullYear();
  const yd = Math.floor((thursday.getTime() - Date.UTC(y, 0, 1)) / 86_400_000);
  return { year: y, week: 1 + Math.floor(yd / 7) };
}

function pad(n: number, width: number, ch: string): string {
  const s = String(n);
  return s.length >= width ? s : ch.repeat(width - s.length) + s;
}

function offsetText(off: number, colon: boolean, seconds: boolean): string {
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const hm = `${pad(Math.floor(a / 60), 2, '0')}${colon ? ':' : ''}${pad(a % 60, 2, '0')}`;
  return `${sign}${hm}${seconds ? (colon ? ':00' : '00') : ''}`;
}

/** One piece of a compiled time format. */
type Part =
  | { readonly kind: 'text'; readonly text: string; readonly pattern: string }
  /** Depends on the second only (cached per second). */
  | { readonly kind: 'second'; readonly fn: (t: Tm) => string; readonly pattern: string }
  /** The first `width` digits of the nanoseconds. */
  | { readonly kind: 'fraction'; readonly width: number };

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function text(t: string): Part {
  return { kind: 'text', text: t, pattern: reEscape(t) };
}

type Flag = '' | '-' | '_' | '0' | '^';

function num(value: (t: Tm) => number, width: number, padCh: string, flag: Flag): Part {
  const ch = flag === '_' ? ' ' : flag === '0' ? '0' : padCh;
  if (flag === '-') {
    return { kind: 'second', fn: (t) => String(value(t)), pattern: `\\d{1,${Math.max(width, 1)}}` };
  }
  return {
    kind: 'second',
    fn: (t) => pad(value(t), width, ch),
    pattern: ch === '0' ? `\\d{${width}}` : `[ \\d]{${width - 1}}\\d`,
  };
}

function word(fn: (t: Tm) => string, pattern: string, flag: Flag): Part {
  if (flag === '^') return { kind: 'second', fn: (t) => fn(t).toUpperCase(), pattern: pattern.toUpperCase() };
  return { kind: 'second', fn, pattern };
}

/** `%s`: epoch seconds. */
const EPOCH: Part = { kind: 'second', fn: (t) => String(t.epoch), pattern: '-?\\d+' };

const hour12 = (t: Tm) => (t.hour % 12 === 0 ? 12 : t.hour % 12);
const ABBR_DAY = '(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)';
const ABBR_MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';

/** The parts of one plain strftime conversion (no `E`/`O` modifier); undefined when unknown. */
function conversion(c: string, flag: Flag): Part[] | undefined {
  switch (c) {
    case 'a':
      return [word((t) => (DAYS[t.wday] as string).slice(0, 3), ABBR_DAY, flag)];
    case 'A':
      return [word((t) => DAYS[t.wday] as string, `(?:${DAYS.join('|')})`, flag)];
    case 'b':
    case 'h':
      return [word((t) => (MONTHS[t.month] as string).slice(0, 3), ABBR_MONTH, flag)];
    case 'B':
      return [word((t) => MONTHS[t.month] as string, `(?:${MONTHS.join('|')})`, flag)];
    case 'c':
      return [
        ...(conversion('a', '') as Part[]),
        text(' '),
        ...(conversion('b', '') as Part[]),
        text(' '),
        ...(conversion('e', '') as Part[]),
        text(' '),
        ...(conversion('T', '') as Part[]),
        text(' '),
        ...(conversion('Y', '') as Part[]),
      ];
    case 'C':
      return [num((t) => Math.floor(t.year / 100), 2, '0', flag)];
    case 'd':
      return [num((t) => t.day, 2, '0', flag)];
    case 'D':
    case 'x':
      return [
        ...(conversion('m', '') as Part[]),
        text('/'),
        ...(conversion('d', '') as Part[]),
        text('/'),
        ...(conversion('y', '') as Part[]),
      ];
    case 'e':
      return [num((t) => t.day, 2, ' ', flag)];
    case 'F':
      return [
        ...(conversion('Y', '') as Part[]),
        text('-'),
        ...(conversion('m', '') as Part[]),
        text('-'),
        ...(conversion('d', '') as Part[]),
      ];
    case 'g':
      return [num((t) => isoWeek(t).year % 100, 2, '0', flag)];
    case 'G':
      return [num((t) => isoWeek(t).year, 4, '0', flag)];
    case 'H':
      return [num((t) => t.hour, 2, '0', flag)];
    case 'I':
      return [num(hour12, 2, '0', flag)];
    case 'j':
      return [num((t) => t.yday + 1, 3, '0', flag)];
    case 'k':
      return [num((t) => t.hour, 2, ' ', flag)];
    case 'l':
      return [num(hour12, 2, ' ', flag)];
    case 'm':
      return [num((t) => t.month + 1, 2, '0', flag)];
    case 'M':
      return [num((t) => t.minute, 2, '0', flag)];
    case 'p':
      return [word((t) => (t.hour < 12 ? 'AM' : 'PM'), '(?:AM|PM)', flag)];
    case 'P':
      return [word((t) => (t.hour < 12 ? 'am' : 'pm'), '(?:am|pm)', flag)];
    case 'r':
      return [
        ...(conversion('I', '') as Part[]),
        text(':'),
        ...(conversion('M', '') as Part[]),
        text(':'),
        ...(conversion('S', '') as Part[]),
        text(' '),
        ...(conversion('p', '') as Part[]),
      ];
    case 'R':
      return [...(conversion('H', '') as Part[]), text(':'), ...(conversion('M', '') as Part[])];
    case 'S':
      return [num((t) => t.second, 2, '0', flag)];
    case 't':
      return [text('\t')];
    case 'T':
    case 'X':
      return [
        ...(conversion('H', '') as Part[]),
        text(':'),
        ...(conversion('M', '') as Part[]),
        text(':'),
        ...(conversion('S', '') as Part[]),
      ];
    case 'u':
      return [num((t) => (t.wday === 0 ? 7 : t.wday), 1, '0', flag)];
    case 'U':
      return [num((t) => Math.floor((t.yday + 7 - t.wday) / 7), 2, '0', flag)];
    case 'V':
      return [num((t) => isoWeek(t).week, 2, '0', flag)];
    case 'w':
      return [num((t) => t.wday, 1, '0', flag)];
    case 'W':
      return [num((t) => Math.floor((t.yday + 7 - ((t.wday + 6) % 7)) / 7), 2, '0', flag)];
    case 'y':
      return [num((t) => t.year % 100, 2, '0', flag)];
    case 'Y':
      return [num((t) => t.year, 4, '0', flag)];
    case 'z':
      return [{ kind: 'second', fn: (t) => offsetText(t.offset, false, false), pattern: '[+-]\\d{4}' }];
    case 'Z':
      return [
        word(
          (t) => (t.offset === 0 ? 'UTC' : offsetText(t.offset, false, false).replace(/00$/, '')),
          '(?:UTC|[+-]\\d{2}(?:\\d{2})?)',
          flag,
        ),
      ];
    case '%':
      return [text('%')];
    default:
      return undefined;
  }
}

/** How a compiled format reads back: `number` when it is epoch seconds (`%s`, `%s.%3f`, `%6s`). */
export interface CompiledTime {
  /** The format text (`''` for Envoy's default). */
  readonly format: string;
  /** Renders a time (Date, epoch seconds, or epoch nanoseconds as a bigint). */
  render(t: TimeInput): string;
  /** A regular expression (source, no anchors, no groups) matching every rendered text. */
  readonly pattern: string;
  /** True when parsing gives epoch seconds (a number) rather than the text. */
  readonly numeric: boolean;
  /** Parses rendered text: epoch seconds, the text itself, or undefined when it does not match. */
  parse(s: string): number | string | undefined;
}

let scratchSec = 0;
let scratchNanos = 0;

/** Splits a time input into whole epoch seconds and nanoseconds (into the scratch variables). */
function split(t: TimeInput): void {
  if (typeof t === 'number') {
    // A double holds epoch seconds to about 0.24 µs: round to whole microseconds so that
    // 1795373706.123 renders as .123 and not .122999906.
    let s = Math.floor(t);
    let us = Math.round((t - s) * 1e6);
    if (us >= 1e6) {
      s += 1;
      us -= 1e6;
    }
    scratchSec = s;
    scratchNanos = us * 1000;
  } else if (typeof t === 'bigint') {
    let s = t / 1_000_000_000n;
    let ns = t - s * 1_000_000_000n;
    if (ns < 0n) {
      s -= 1n;
      ns += 1_000_000_000n;
    }
    scratchSec = Number(s);
    scratchNanos = Number(ns);
  } else {
    const ms = t.getTime();
    const s = Math.floor(ms / 1000);
    scratchSec = s;
    scratchNanos = (ms - s * 1000) * 1e6;
  }
}

function nanosText(ns: number): string {
  const s = String(ns);
  return s.length >= 9 ? s : '000000000'.slice(s.length) + s;
}

const DEFAULT_PATTERN = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

function d2(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return Number.NaN;
  return a * 10 + b;
}

let cacheIsoPrefix = '';
let cacheIsoMs = Number.NaN;

/** Parses Envoy's default text `2026-11-22T18:55:06.123Z` to epoch seconds; NaN when malformed. */
export function parseEnvoyTime(s: string): number {
  if (s.length !== 24 || s.charCodeAt(19) !== 0x2e || s.charCodeAt(23) !== 0x5a) return Number.NaN;
  const ms2 = d2(s, 20);
  const last = s.charCodeAt(22) - 48;
  if (Number.isNaN(ms2) || last < 0 || last > 9) return Number.NaN;
  const ms = ms2 * 10 + last;
  if (cacheIsoPrefix !== '' && s.indexOf(cacheIsoPrefix) === 0) return (cacheIsoMs + ms) / 1000;
  if (
    s.charCodeAt(4) !== 0x2d ||
    s.charCodeAt(7) !== 0x2d ||
    s.charCodeAt(10) !== 0x54 ||
    s.charCodeAt(13) !== 0x3a ||
    s.charCodeAt(16) !== 0x3a
  ) {
    return Number.NaN;
  }
  const y = d2(s, 0) * 100 + d2(s, 2);
  const mo = d2(s, 5);
  const d = d2(s, 8);
  const h = d2(s, 11);
  const mi = d2(s, 14);
  const se = d2(s, 17);
  if (
    Number.isNaN(y + mo + d + h + mi + se) ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > 31 ||
    h > 23 ||
    mi > 59 ||
    se > 60
  ) {
    return Number.NaN;
  }
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, se, 0);
  cacheIsoPrefix = s.slice(0, 19);
  cacheIsoMs = date.getTime();
  return (cacheIsoMs + ms) / 1000;
}

/** Envoy's default time text, cached per second. */
function defaultTime(): CompiledTime {
  let lastSec = Number.NaN;
  let prefix = '';
  return {
    format: '',
    pattern: DEFAULT_PATTERN,
    numeric: true,
    render(t) {
      split(t);
      if (scratchSec !== lastSec) {
        lastSec = scratchSec;
        const d = new Date(scratchSec * 1000);
        const iso = d.toISOString(); // 2026-11-22T18:55:06.000Z (years 0–9999)
        prefix = iso.slice(0, iso.length - 4);
      }
      const ms = Math.floor(scratchNanos / 1e6);
      return `${prefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
    },
    parse(s) {
      const v = parseEnvoyTime(s);
      return Number.isNaN(v) ? undefined : v;
    },
  };
}

/**
 * Compiles a time format (`undefined` or `''`: Envoy's default text).
 * @param column 1-based column of the format's first character in the enclosing format string,
 *   for error messages.
 * @throws FormatSyntaxError for an unknown or unsupported specifier, or `%n` (Envoy rejects
 *   newlines in time formats).
 */
export function compileTimeFormat(format: string | undefined, tz: UtcOffset = 0, column = 1): CompiledTime {
  if (format === undefined || format === '') return defaultTime();
  const parts: Part[] = [];
  let lit = '';
  const flushLit = () => {
    if (lit !== '') parts.push(text(lit));
    lit = '';
  };
  let i = 0;
  const n = format.length;
  while (i < n) {
    const ch = format[i] as string;
    if (ch !== '%') {
      if (ch === '\n') throw new FormatSyntaxError('a time format must not contain a newline', column + i);
      lit += ch;
      i++;
      continue;
    }
    const at = i;
    i++;
    let flag: Flag = '';
    const f = format[i];
    if (f === '-' || f === '_' || f === '0' || f === '^') {
      flag = f;
      i++;
    }
    let digits = '';
    while (i < n && /[0-9]/.test(format[i] as string)) digits += format[i++];
    let mod = '';
    if (format[i] === 'E' || format[i] === 'O') mod = format[i++] as string;
    let star = false;
    if (mod === 'E' && format[i] === '*') {
      star = true;
      i++;
    }
    if (mod === 'E' && !star && digits === '' && /[0-9]/.test(format[i] ?? '')) {
      while (i < n && /[0-9]/.test(format[i] as string)) digits += format[i++];
    }
    const c = format[i];
    i++;
    const bad = (why: string): never => {
      throw new FormatSyntaxError(`${why} in time format ${JSON.stringify(format)}`, column + at);
    };
    if (c === undefined) bad('"%" at the end');
    if (c === 'n') bad('"%n" (a newline) is not allowed');
    const width = digits === '' ? undefined : Number(digits);
    // Envoy's own specifiers: %f, %1f…%9f, %s, %1s…%9s.
    if (mod === '' && (c === 'f' || c === 's')) {
      if (flag !== '' || (width !== undefined && (width < 1 || width > 9 || digits.length > 1))) {
        bad(`invalid "${format.slice(at, i)}" (expected %${c} or %1${c}…%9${c})`);
      }
      flushLit();
      if (c === 'f') {
        parts.push({ kind: 'fraction', width: width ?? 9 });
      } else {
        parts.push(EPOCH);
        if (width !== undefined) {
          parts.push(text('.'));
          parts.push({ kind: 'fraction', width });
        }
      }
      continue;
    }
    if (mod === 'E') {
      // absl extensions. Envoy passes whole seconds to absl: sub-second digits are zeros.
      flushLit();
      if (c === 'z' && width === undefined) {
        parts.push({
          kind: 'second',
          fn: (t) => offsetText(t.offset, true, star),
          pattern: star ? '[+-]\\d\\d:\\d\\d:\\d\\d' : '[+-]\\d\\d:\\d\\d',
        });
        continue;
      }
      if (c === 'S' && (star || width !== undefined)) {
        parts.push(...(conversion('S', '') as Part[]));
        if (!star && width !== undefined && width > 0) parts.push(text(`.${'0'.repeat(width)}`));
        continue;
      }
      if (c === 'f' && (star || width !== undefined)) {
        parts.push(text(star ? '0' : '0'.repeat(width ?? 0)));
        continue;
      }
      if (c === 'Y' && width === 4 && !star) {
        parts.push(num((t) => t.year, 4, '0', flag));
        continue;
      }
      if (!star && width === undefined && c !== undefined && 'cCxXyY'.includes(c)) {
        const p = conversion(c, flag);
        if (p) parts.push(...p);
        continue;
      }
      bad(`unsupported "%E${star ? '*' : (digits ?? '')}${c}"`);
    }
    if (width !== undefined) bad(`unsupported width in "%${digits}${c}"`);
    if (mod === 'O' && !'deHImMSuUVwWy'.includes(c as string)) bad(`unsupported "%O${c}"`);
    const p = conversion(c as string, flag);
    if (!p) bad(`unknown conversion "%${c}"`);
    if ((p as Part[]).length === 1 && (p as Part[])[0]?.kind === 'text') {
      lit += ((p as Part[])[0] as { text: string }).text;
      continue;
    }
    flushLit();
    parts.push(...(p as Part[]));
  }
  flushLit();
  return customTime(format, parts, tz);
}

function customTime(format: string, parts: readonly Part[], tz: UtcOffset): CompiledTime {
  // Chunks of second-dependent text between the fraction specifiers.
  const widths: number[] = [];
  const groups: Part[][] = [[]];
  let pattern = '';
  for (const p of parts) {
    if (p.kind === 'fraction') {
      widths.push(p.width);
      groups.push([]);
      pattern += `\\d{${p.width}}`;
    } else {
      (groups[groups.length - 1] as Part[]).push(p);
      pattern += p.pattern;
    }
  }
  const k = widths.length;
  const chunks: string[] = new Array(k + 1).fill('');
  let lastSec = Number.NaN;
  const fill = (sec: number) => {
    const tm = tmOf(sec, tz);
    for (let g = 0; g <= k; g++) {
      let s = '';
      for (const p of groups[g] as Part[])
        s += p.kind === 'text' ? p.text : p.kind === 'second' ? p.fn(tm) : '';
      chunks[g] = s;
    }
    lastSec = sec;
  };
  const render =
    k === 0
      ? (t: TimeInput) => {
          split(t);
          if (scratchSec !== lastSec) fill(scratchSec);
          return chunks[0] as string;
        }
      : (t: TimeInput) => {
          split(t);
          if (scratchSec !== lastSec) fill(scratchSec);
          const ns = nanosText(scratchNanos);
          let out = chunks[0] as string;
          for (let i = 0; i < k; i++) out += ns.slice(0, widths[i]) + chunks[i + 1];
          return out;
        };
  // Epoch-seconds formats read back as numbers while a double can hold them exactly enough to
  // render the same text again (up to 6 fractional digits).
  const sig = parts.map((p) =>
    p === EPOCH ? '%s' : p.kind === 'fraction' ? `f${p.width}` : p.kind === 'text' ? p.text : '?',
  );
  const epochOnly =
    format === '%s' ||
    (sig.length === 3 && sig[0] === '%s' && sig[1] === '.' && /^f[1-6]$/.test(sig[2] as string));
  const re = new RegExp(`^(?:${pattern})$`);
  return {
    format,
    pattern,
    numeric: epochOnly,
    render,
    parse: epochOnly ? (s) => (re.test(s) ? Number(s) : undefined) : (s) => (re.test(s) ? s : undefined),
  };
}
