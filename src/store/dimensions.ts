/**
 * The dimensions every count is keyed by, and the measures it carries.
 * @module
 */

/** Key dimensions, in key order. */
export const DIMENSIONS = ['website', 'prefix', 'uri', 'status', 'upstream', 'method'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Number of dimensions in a key. */
export const D = DIMENSIONS.length;

export const DIM = {
  website: 0,
  prefix: 1,
  uri: 2,
  status: 3,
  upstream: 4,
  method: 5,
} as const satisfies Record<Dimension, number>;

/** What a query ranks by. */
export const ORDERS = ['requests', 'bytes', 'time'] as const;
export type Order = (typeof ORDERS)[number];

export function isDimension(s: string): s is Dimension {
  return (DIMENSIONS as readonly string[]).includes(s);
}

/**
 * The id, in every dimension's interner, of "the other keys": the value a key's dimension takes
 * when the key was folded into a residual (see `residualKey`). Its text is `OTHER_TEXT`.
 */
export const OTHER = 1;

/**
 * The text of `OTHER` wherever values travel as strings (snapshot entries, dictionaries, state
 * files, history rows): a NUL then `other`. A server does not log it (HTTP parsers refuse a NUL
 * in a request line or header, and nginx would write it escaped); a forged line with `\x00other`
 * (nginx's escape) in a field is counted under "(other)", nothing lost. Shown as "(other)".
 */
export const OTHER_TEXT = '\u0000other';

/**
 * Whether the key at `ids[off..off+D)` is a residual: the sum of keys that were pushed out of a
 * table or cut at a bucket's top K, kept by website, status, upstream and method (client prefix
 * and URI `OTHER`). Residuals are never pushed out or cut, so sums by website and by status stay
 * exact. When there are too many, the lightest lose their upstream and method, then their
 * website (`bucket.ts`: `capResiduals`, `residualFor`).
 */
export function isResidual(ids: ArrayLike<number>, off: number): boolean {
  return ids[off + 1] === OTHER && ids[off + 2] === OTHER;
}

/** Writes into `out` the residual key that the key at `ids[off..off+D)` folds into. */
export function residualKey(ids: ArrayLike<number>, off: number, out: Uint32Array): Uint32Array {
  out[0] = ids[off] as number;
  out[1] = OTHER;
  out[2] = OTHER;
  out[3] = ids[off + 3] as number;
  out[4] = ids[off + 4] as number;
  out[5] = ids[off + 5] as number;
  return out;
}
