/**
 * C-locale calendar names and the small digit helpers every dialect's time code shares.
 * @module
 */

export const DAY_NAMES = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
] as const;
export const DAY_ABBR = DAY_NAMES.map((d) => d.slice(0, 3));
export const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
export const MONTH_ABBR = MONTH_NAMES.map((m) => m.slice(0, 3));

/** `7` → `07`. */
export function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** The decimal number in `s[from, from + len)`, or NaN when a character is not a digit. */
export function digitsAt(s: string, from: number, len: number): number {
  let v = 0;
  for (let i = from; i < from + len; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return Number.NaN;
    v = v * 10 + c;
  }
  return v;
}
