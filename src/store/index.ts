/**
 * The counting store: keys, interning, live minute, fine and coarse rings, windows, top-K.
 * @module
 */
export { type Bucket, emptyBucket, sealBucket, topIndices } from './bucket.ts';
export { D, DIM, DIMENSIONS, type Dimension, isDimension, ORDERS, type Order } from './dimensions.ts';
export { compileFilter, type Filter, parseStatusFilter, type StatusOp } from './filter.ts';
export { Interner } from './interner.ts';
export { readState, saveState } from './persist.ts';
export { PrefixMasker, parseIPv4, parseIPv6 } from './prefix.ts';
export {
  type AddResult,
  COARSE_SLOTS,
  FINE_SLOTS,
  Store,
  type StoreOptions,
  type StoreState,
  type StoreStats,
  type TopEntry,
  type TopNQuery,
  type TrendPoint,
} from './store.ts';
export { TupleTable } from './tuple-table.ts';
export { isWindow, WINDOW_SPANS, WINDOWS, type Window } from './windows.ts';
