/**
 * The dashboard's row limits, in a module of their own: `logtally frontend --help` needs them
 * without loading the dashboard's state handling (and the protobuf code it uses).
 * @module
 */

/** Rows an HTML page shows at most; `raw=1` allows up to the service's own limit. */
export const MAX_ROWS_HTML = 1000;
export const MAX_ROWS_RAW = 100_000;
