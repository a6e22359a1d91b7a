/**
 * Time sources the writer uses, injectable so tests drive flush timers and cache expiry
 * without sleeping.
 * @module
 */

/** A timer API (the global one by default; timers created by the writer are unref'd). */
export interface WriterTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The global timers, unref'd so a pending flush never keeps the process alive. */
export const realTimers: WriterTimers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** Milliseconds since the epoch. */
export type Clock = () => number;
