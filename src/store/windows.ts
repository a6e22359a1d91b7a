/**
 * The six query windows and which ring serves each.
 * @module
 */

export const WINDOWS = ['1m', '5m', '15m', '60m', '6h', '24h'] as const;
export type Window = (typeof WINDOWS)[number];

/** Completed buckets a window spans: fine minutes for ≤ 60m, coarse 5-minute buckets above. */
export const WINDOW_SPANS: Record<Window, { ring: 'fine' | 'coarse'; buckets: number }> = {
  '1m': { ring: 'fine', buckets: 1 },
  '5m': { ring: 'fine', buckets: 5 },
  '15m': { ring: 'fine', buckets: 15 },
  '60m': { ring: 'fine', buckets: 60 },
  '6h': { ring: 'coarse', buckets: 72 },
  '24h': { ring: 'coarse', buckets: 288 },
};

export function isWindow(s: string): s is Window {
  return (WINDOWS as readonly string[]).includes(s);
}
