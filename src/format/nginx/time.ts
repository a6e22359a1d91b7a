/**
 * nginx's time variables: `$time_local` (`22/Nov/2026:18:55:06 +0000`), `$time_iso8601`
 * (`2026-11-22T18:55:06+00:00`) and the 3-decimal seconds of `$msec` and `$request_time`.
 * Formatting caches the text of the last second, as nginx does.
 * @module
 */
import { digitsAt, MONTH_ABBR, pad2 } from '../calendar.ts';

const MONTHS = MONTH_ABBR;
const MONTH_INDEX: Record<string, number> = Object.fromEntries(MONTHS.map((m, i) => [m, i]));

/** A UTC offset in minutes east of Greenwich, or `'local'` for the process time zone. */
export type UtcOffset = number | 'local';

function offsetMinutes(epochSec: number, tz: UtcOffset): number {
  return tz === 'local' ? -new Date(epochSec * 1000).getTimezoneOffset() : tz;
}

function parts(epochSec: number, tz: UtcOffset): { d: Date; off: number } {
  const off = offsetMinutes(epochSec, tz);
  return { d: new Date((epochSec + off * 60) * 1000), off };
}

function offsetText(off: number, colon: boolean): string {
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${sign}${pad2(Math.floor(a / 60))}${colon ? ':' : ''}${pad2(a % 60)}`;
}

/** Creates a cached formatter for `$time_local`. Input: epoch seconds (fraction ignored). */
export function timeLocalFormatter(tz: UtcOffset = 'local'): (epochSec: number) => string {
  let lastSec = Number.NaN;
  let lastText = '';
  return (epochSec) => {
    const s = Math.floor(epochSec);
    if (s === lastSec) return lastText;
    const { d, off } = parts(s, tz);
    lastText =
      `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
      `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${offsetText(off, false)}`;
    lastSec = s;
    return lastText;
  };
}

/** Creates a cached formatter for `$time_iso8601`. Input: epoch seconds (fraction ignored). */
export function timeIsoFormatter(tz: UtcOffset = 'local'): (epochSec: number) => string {
  let lastSec = Number.NaN;
  let lastText = '';
  return (epochSec) => {
    const s = Math.floor(epochSec);
    if (s === lastSec) return lastText;
    const { d, off } = parts(s, tz);
    lastText =
      `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T` +
      `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${offsetText(off, true)}`;
    lastSec = s;
    return lastText;
  };
}

function tzAt(s: string, at: number, colon: boolean): number {
  const sign = s[at] === '+' ? 1 : s[at] === '-' ? -1 : 0;
  const h = digitsAt(s, at + 1, 2);
  const m = digitsAt(s, at + (colon ? 4 : 3), 2);
  if (colon && s[at + 3] !== ':') return Number.NaN;
  return sign * (h * 60 + m);
}

let cacheLocalText = '';
let cacheLocalValue = Number.NaN;

/** Parses `22/Nov/2026:18:55:06 +0000` to epoch seconds; NaN when malformed. */
export function parseTimeLocal(s: string): number {
  if (s === cacheLocalText) return cacheLocalValue;
  if (s.length !== 26 || s[2] !== '/' || s[6] !== '/' || s[11] !== ':' || s[20] !== ' ') return Number.NaN;
  const month = MONTH_INDEX[s.slice(3, 6)];
  if (month === undefined) return Number.NaN;
  const off = tzAt(s, 21, false);
  const v =
    Date.UTC(
      digitsAt(s, 7, 4),
      month,
      digitsAt(s, 0, 2),
      digitsAt(s, 12, 2),
      digitsAt(s, 15, 2),
      digitsAt(s, 18, 2),
    ) /
      1000 -
    off * 60;
  cacheLocalText = s;
  cacheLocalValue = v;
  return v;
}

/** Parses `2026-11-22T18:55:06+00:00` to epoch seconds; NaN when malformed. */
export function parseTimeIso(s: string): number {
  if (s.length !== 25 || s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') {
    return Number.NaN;
  }
  const off = tzAt(s, 19, true);
  return (
    Date.UTC(
      digitsAt(s, 0, 4),
      digitsAt(s, 5, 2) - 1,
      digitsAt(s, 8, 2),
      digitsAt(s, 11, 2),
      digitsAt(s, 14, 2),
      digitsAt(s, 17, 2),
    ) /
      1000 -
    off * 60
  );
}

/** Seconds with exactly three decimals, as nginx writes `$msec` and `$request_time`. */
export function formatSeconds(sec: number): string {
  return sec.toFixed(3);
}
