/**
 * A list of 32-bit integers in one typed array that doubles as it grows: 4 bytes an entry where a
 * JS array of numbers takes 8 and more while it grows (lists of millions of ids: a backfill's
 * new values, a journal group's, a restore's). `clear` empties it for reuse, and lets a long
 * array go.
 * @module
 */
export class IntList {
  #a: Int32Array;
  length = 0;

  constructor(initial = 256) {
    this.#a = new Int32Array(initial);
  }

  /** The entries, `[0, length)` valid (a view of the list's array until it next grows). */
  get array(): Int32Array {
    return this.#a;
  }

  push(v: number): void {
    if (this.length === this.#a.length) {
      const grown = new Int32Array(this.#a.length * 2);
      grown.set(this.#a);
      this.#a = grown;
    }
    this.#a[this.length++] = v;
  }

  get(i: number): number {
    return this.#a[i] as number;
  }

  /** Empties the list; an array past 65 536 entries is let go of. */
  clear(): void {
    this.length = 0;
    if (this.#a.length > 1 << 16) this.#a = new Int32Array(256);
  }

  /** Forgets the entries from `length` on. */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }
}
