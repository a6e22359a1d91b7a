/**
 * nginx's size, time and number syntaxes (`ngx_parse_size`, `ngx_parse_time`, `ngx_atoi` in
 * src/core/ngx_parse.c and ngx_string.c).
 * @see https://nginx.org/en/docs/syntax.html
 * @module
 */
import { LogtallyError } from '../errors.ts';

const MAX = Number.MAX_SAFE_INTEGER;

/** `ngx_atoi`: one or more ASCII digits, nothing else. `undefined` when invalid. */
export function atoi(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX ? n : undefined;
}

/** `ngx_parse_size`: `undefined` when invalid. */
export function sizeOrUndefined(s: string): number | undefined {
  const unit = s[s.length - 1];
  let scale = 1;
  let digits = s;
  if (unit === 'k' || unit === 'K') scale = 1024;
  else if (unit === 'm' || unit === 'M') scale = 1024 * 1024;
  if (scale !== 1) digits = s.slice(0, -1);
  const n = atoi(digits);
  if (n === undefined || n * scale > MAX) return undefined;
  return n * scale;
}

/**
 * Parses an nginx size: bytes, or a number with `k`/`K` (KiB) or `m`/`M` (MiB).
 * @throws LogtallyError ERR_CONF_DIRECTIVE `invalid size "x"`.
 * @example parseNginxSize('64k') // 65536
 */
export function parseNginxSize(s: string): number {
  const n = sizeOrUndefined(s);
  if (n === undefined) throw new LogtallyError('ERR_CONF_DIRECTIVE', `invalid size "${s}"`);
  return n;
}

// ngx_parse_time's steps: each unit must come after the larger ones.
const ST_START = 0;
const ST_YEAR = 1;
const ST_MONTH = 2;
const ST_WEEK = 3;
const ST_DAY = 4;
const ST_HOUR = 5;
const ST_MIN = 6;
const ST_SEC = 7;
const ST_MSEC = 8;
const ST_LAST = 9;

const DAY = 24 * 60 * 60;

/**
 * `ngx_parse_time`. In milliseconds mode (`seconds` false) the result is milliseconds and `y`
 * and `M` are not accepted; in seconds mode the result is seconds and `ms` is not accepted.
 * `undefined` when invalid.
 */
export function timeOrUndefined(s: string, seconds: boolean): number | undefined {
  let valid = false;
  let value = 0;
  let total = 0;
  let step = seconds ? ST_START : ST_MONTH;
  const n = s.length;
  let p = 0;
  while (p < n) {
    const c = s.charCodeAt(p);
    if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      if (value > MAX) return undefined;
      valid = true;
      p++;
      continue;
    }
    p++;
    let scale: number;
    switch (String.fromCharCode(c)) {
      case 'y':
        if (step > ST_START) return undefined;
        step = ST_YEAR;
        scale = 365 * DAY;
        break;
      case 'M':
        if (step >= ST_MONTH) return undefined;
        step = ST_MONTH;
        scale = 30 * DAY;
        break;
      case 'w':
        if (step >= ST_WEEK) return undefined;
        step = ST_WEEK;
        scale = 7 * DAY;
        break;
      case 'd':
        if (step >= ST_DAY) return undefined;
        step = ST_DAY;
        scale = DAY;
        break;
      case 'h':
        if (step >= ST_HOUR) return undefined;
        step = ST_HOUR;
        scale = 60 * 60;
        break;
      case 'm':
        if (s[p] === 's') {
          if (seconds || step >= ST_MSEC) return undefined;
          p++;
          step = ST_MSEC;
          scale = 1;
          break;
        }
        if (step >= ST_MIN) return undefined;
        step = ST_MIN;
        scale = 60;
        break;
      case 's':
        if (step >= ST_SEC) return undefined;
        step = ST_SEC;
        scale = 1;
        break;
      case ' ':
        // A bare number followed by a space counts as seconds.
        if (step >= ST_SEC) return undefined;
        step = ST_LAST;
        scale = 1;
        break;
      default:
        return undefined;
    }
    if (step !== ST_MSEC && !seconds) scale *= 1000;
    value *= scale;
    total += value;
    if (total > MAX) return undefined;
    value = 0;
    while (p < n && s[p] === ' ') p++;
  }
  if (!valid) return undefined;
  if (!seconds) value *= 1000;
  total += value;
  return total > MAX ? undefined : total;
}

/**
 * Parses an nginx time in milliseconds, as directives with millisecond resolution do
 * (`flush=`, timeouts): units `ms s m h d w`, largest first, e.g. `1m30s`; a bare number is
 * seconds. `M` and `y` are rejected here, as nginx does for millisecond values.
 * @throws LogtallyError ERR_CONF_DIRECTIVE `invalid time "x"`.
 * @example parseNginxTime('1m30s') // 90000
 */
export function parseNginxTime(s: string): number {
  const n = timeOrUndefined(s, false);
  if (n === undefined) throw new LogtallyError('ERR_CONF_DIRECTIVE', `invalid time "${s}"`);
  return n;
}

/**
 * Parses an nginx time in seconds, as directives with second resolution do
 * (`open_log_file_cache inactive=`, `expires`): units `s m h d w M y`, largest first; `ms` is
 * rejected. A bare number is seconds.
 * @throws LogtallyError ERR_CONF_DIRECTIVE `invalid time "x"`.
 * @example parseNginxSeconds('1h') // 3600
 */
export function parseNginxSeconds(s: string): number {
  const n = timeOrUndefined(s, true);
  if (n === undefined) throw new LogtallyError('ERR_CONF_DIRECTIVE', `invalid time "${s}"`);
  return n;
}
