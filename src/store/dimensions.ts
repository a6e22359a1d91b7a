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
