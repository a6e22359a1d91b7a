/**
 * Exponential backoff delays (doubling from `initialMs`, capped at `maxMs`).
 * @module
 */

/** Backoff settings: the first retry waits `initialMs`, each next one twice as long, up to `maxMs`. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** Default reopen backoff of the tailer: 100 ms doubling up to 5 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 5000 };

/**
 * One backoff sequence; `next()` gives the delay before the next attempt, `reset()` starts over.
 * @example
 * const b = new Backoff({ initialMs: 100, maxMs: 400 });
 * [b.next(), b.next(), b.next(), b.next()]; // [100, 200, 400, 400]
 */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  #current = 0;

  constructor(options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError('backoff needs 0 < initialMs <= maxMs');
    }
    this.#initial = options.initialMs;
    this.#max = options.maxMs;
  }

  next(): number {
    this.#current = this.#current === 0 ? this.#initial : Math.min(this.#current * 2, this.#max);
    return this.#current;
  }

  reset(): void {
    this.#current = 0;
  }
}
