/**
 * A list of 32-bit integers in one typed array that doubles as it grows: 4 bytes an entry where a
 * JS array of numbers takes 8 and more while it grows (lists of millions of ids: a backfill's
 * new values, a journal group's, a restore's). `clear` empties it for reuse, and lets a long
 * array go.
 * @module
 */
import { detach, grown } from './release.ts';

export class IntList {
  #a: Int32Array;
  length = 0;

  constructor(initial = 256) {
    this.#a = new Int32Array(initial);
  }

  /** The entries, `[0, length)` valid: the list's array, which reads as empty once it is outgrown, released or cleared long. */
  get array(): Int32Array {
    return this.#a;
  }

  push(v: number): void {
    // The old array's memory is given back as it grows (millions of entries at a restore).
    if (this.length === this.#a.length) this.#a = grown(this.#a, this.#a.length * 2);
    this.#a[this.length++] = v;
  }

  get(i: number): number {
    return this.#a[i] as number;
  }

  /** Empties the list; an array past 65 536 entries is given back (as by `release`). */
  clear(): void {
    if (this.#a.length > 1 << 16) this.release();
    this.length = 0;
  }

  /** Empties the list and gives its array's memory back now (views of it read as empty). */
  release(): void {
    detach(this.#a);
    this.#a = new Int32Array(256);
    this.length = 0;
  }

  /** Forgets the entries from `length` on. */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }
}
