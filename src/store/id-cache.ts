/**
 * A direct-mapped cache from a number (a whole number below 2^53: a masked IPv4 or IPv6 network)
 * to an id: typed arrays, so a lookup allocates nothing (a Map boxes every key past 2^30), and
 * emptied at once by a new generation. A key that lands on another key's slot takes it.
 * @module
 */
export class IdCache {
  readonly #keys: Float64Array;
  readonly #ids: Int32Array;
  /** The generation each slot was set in: only the current one's are valid. */
  readonly #gens: Uint32Array;
  #gen = 1;
  readonly #mask: number;

  /** A cache of 2^bits slots (16 bytes each). */
  constructor(bits: number) {
    const n = 1 << bits;
    this.#keys = new Float64Array(n);
    this.#ids = new Int32Array(n);
    this.#gens = new Uint32Array(n);
    this.#mask = n - 1;
  }

  #slot(key: number): number {
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.#mask;
  }

  /** The id of `key`, or -1. */
  get(key: number): number {
    const s = this.#slot(key);
    return this.#gens[s] === this.#gen && this.#keys[s] === key ? (this.#ids[s] as number) : -1;
  }

  set(key: number, id: number): void {
    const s = this.#slot(key);
    this.#keys[s] = key;
    this.#ids[s] = id;
    this.#gens[s] = this.#gen;
  }

  /** Forgets every key. */
  clear(): void {
    if (++this.#gen === 0xffffffff) {
      this.#gens.fill(0);
      this.#gen = 1;
    }
  }
}
