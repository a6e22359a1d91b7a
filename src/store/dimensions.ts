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
 * when the key was folded (see `folded`). Its text is `OTHER_TEXT`.
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
 * Keys fold by setting dimensions to `OTHER`; a fold is a mask of dimensions (bit d: dimension d).
 * A seal folds a cut key into a coarser key (`PREFIX` or `URI` made OTHER), or into its residual
 * (`RESIDUAL`: both); past `MAX_RESIDUALS`, residuals fold further by `RESIDUAL_TIERS`.
 */
export const PREFIX = 1 << DIM.prefix;
export const URI = 1 << DIM.uri;
export const RESIDUAL = PREFIX | URI;

/** At most this many residuals in a bucket (a bucket holds at most its top K plus this). */
export const MAX_RESIDUALS = 8192;

/**
 * How residuals fold past `MAX_RESIDUALS`, in order: upstream and method; then website too; then
 * status too (one residual of everything).
 */
export const RESIDUAL_TIERS = [
  RESIDUAL | (1 << DIM.upstream) | (1 << DIM.method),
  RESIDUAL | (1 << DIM.upstream) | (1 << DIM.method) | (1 << DIM.website),
  RESIDUAL | (1 << DIM.upstream) | (1 << DIM.method) | (1 << DIM.website) | (1 << DIM.status),
] as const;

/**
 * Every key a key's counts can have gone to, in order: the key, its coarser keys, its residual,
 * the residual's tiers (an aggregator subtracts a withdrawn key along this chain).
 */
export const FOLD_CHAIN = [0, PREFIX, URI, RESIDUAL, ...RESIDUAL_TIERS] as const;

/**
 * Whether the key at `ids[off..off+D)` is a residual: the sum of keys that were pushed out of a
 * table or cut at a bucket's top K, kept by website, status, upstream and method (client prefix
 * and URI `OTHER`). Residuals are never pushed out or cut, so sums by website and by status stay
 * exact. When there are too many, they fold further by `RESIDUAL_TIERS`.
 */
export function isResidual(ids: ArrayLike<number>, off: number): boolean {
  return ids[off + 1] === OTHER && ids[off + 2] === OTHER;
}

/** Writes into `out` the key at `ids[off..off+D)` with the dimensions in `mask` set to OTHER. */
export function folded(ids: ArrayLike<number>, off: number, mask: number, out: Uint32Array): Uint32Array {
  for (let d = 0; d < D; d++) out[d] = ((mask >> d) & 1) === 1 ? OTHER : (ids[off + d] as number);
  return out;
}
