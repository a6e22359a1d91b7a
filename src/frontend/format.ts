/**
 * Number and time formatting for the dashboard.
 * @module
 */

/** `18432` → `18 432` (the space thousands separator of the reference's tables). */
export function thousands(n: number): string {
  const rounded = Math.round(n);
  const sign = rounded < 0 ? '-' : '';
  return sign + String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes with a decimal unit: `1 234` → `1.2 kB`. */
export function bytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${thousands(v)} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[u]}`;
}

/** Summed request time: `0.004` → `4 ms`, `75.2` → `75.2 s`, `7260` → `2.0 h`. */
export function seconds(s: number): string {
  if (s < 1) return `${thousands(s * 1000)} ms`;
  if (s < 600) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  if (s < 36_000) return `${(s / 60).toFixed(1)} min`;
  return `${thousands(s / 3600)} h`;
}

/** A share as a percentage: `0.3456` → `34.6%`; tiny non-zero shares read `<0.1%`. */
export function percent(share: number): string {
  if (share > 0 && share < 0.001) return '<0.1%';
  return `${(share * 100).toFixed(1)}%`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Epoch seconds → `18:05` (UTC). */
export function hhmm(epoch: number): string {
  const d = new Date(epoch * 1000);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** Epoch seconds → `12-02 18:05` (UTC): for axes that span more than a few hours. */
export function dayHhmm(epoch: number): string {
  return `${new Date(epoch * 1000).toISOString().slice(5, 10)} ${hhmm(epoch)}`;
}

/** `1 bucket`, `2 buckets`, `1 234 requests`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${thousands(n)} ${n === 1 ? one : many}`;
}

/** Epoch seconds → `18:05:09` (UTC). */
export function hhmmss(epoch: number): string {
  const d = new Date(epoch * 1000);
  return `${hhmm(epoch)}:${pad(d.getUTCSeconds())}`;
}

/** Epoch seconds → `2026-11-23 18:05:09 UTC`. */
export function isoUtc(epoch: number): string {
  return `${new Date(epoch * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A duration in seconds as `12 s`, `4 min`, `3 h`, `2 d`. */
export function ago(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** Window name → seconds. */
export const WINDOW_SECONDS: Record<string, number> = {
  '1m': 60,
  '5m': 300,
  '15m': 900,
  '60m': 3600,
  '6h': 21_600,
  '24h': 86_400,
  '7d': 7 * 86_400,
  '30d': 30 * 86_400,
};
