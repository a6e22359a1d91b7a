/**
 * Time ranges of history queries: the long windows (7d, 30d), `--from/--to` times (ISO or
 * relative to now), and the bucket length a Trend over a range comes in.
 * @module
 */
import type { TimeRange } from './sink.ts';

/** Windows answered from a history sink, and their length in seconds. */
export const HISTORY_WINDOWS = { '7d': 7 * 86_400, '30d': 30 * 86_400 } as const;
export type HistoryWindow = keyof typeof HISTORY_WINDOWS;

export function isHistoryWindow(s: string): s is HistoryWindow {
  return Object.hasOwn(HISTORY_WINDOWS, s);
}

/** Longest range a query may ask for (a bound on client-supplied work). */
export const MAX_RANGE_SECONDS = 400 * 86_400;

const MINUTE = 60;

/**
 * The completed minutes of a long window: from `window` ago to the start of the current minute
 * (the minute in progress is not in history yet).
 */
export function windowRange(window: HistoryWindow, nowSeconds: number): TimeRange {
  const to = Math.floor(nowSeconds / MINUTE) * MINUTE;
  return { from: to - HISTORY_WINDOWS[window], to };
}

/** Bucket length of a Trend over `range`: minutes up to 6 hours, 5 minutes up to 2 days, hours beyond. */
export function trendSpan(range: TimeRange): number {
  const len = range.to - range.from;
  return len <= 6 * 3600 ? 60 : len <= 2 * 86_400 ? 300 : 3600;
}

/**
 * A time as given to `--from`/`--to`: `now`, relative (`-3d`, `-12h`, `-90m`, `-2w`) or an ISO
 * date/time (`2026-11-02`, `2026-11-02T14:00`, `2026-11-02T14:00:00Z`; without a zone it is
 * local time, as JavaScript reads it). Returns epoch seconds, or a message saying what is wrong.
 */
export function parseTime(s: string, nowSeconds: number): number | string {
  const t = s.trim();
  if (t === 'now') return nowSeconds;
  const rel = /^-(\d+)(m|h|d|w)$/.exec(t);
  if (rel) {
    const unit = { m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
    return nowSeconds - Number(rel[1]) * unit[rel[2] as keyof typeof unit];
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const ms = Date.parse(t.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms / 1000;
  }
  return `expected now, a relative time such as -3d, -12h or -90m, or an ISO time such as 2026-11-02T14:00Z, got "${s}"`;
}

/**
 * The range of `from`/`to` (epoch seconds; 0 or undefined: unset). A missing `to` is now; a
 * missing `from` is `defaultLength` before `to`. Both are aligned down to the minute.
 */
export function resolveRange(
  from: number | undefined,
  to: number | undefined,
  nowSeconds: number,
  defaultLength = HISTORY_WINDOWS['7d'],
): TimeRange | string {
  const end = Math.floor((to || nowSeconds) / MINUTE) * MINUTE;
  const start = from ? Math.floor(from / MINUTE) * MINUTE : end - defaultLength;
  if (!Number.isFinite(start) || !Number.isFinite(end)) return 'not a finite time';
  if (start >= end) return `from (${iso(start)}) must be before to (${iso(end)}), at least a minute apart`;
  if (end - start > MAX_RANGE_SECONDS)
    return `at most ${MAX_RANGE_SECONDS / 86_400} days, got ${((end - start) / 86_400).toFixed(1)}`;
  return { from: start, to: end };
}

function iso(s: number): string {
  return new Date(s * 1000).toISOString().replace(':00.000Z', 'Z');
}
