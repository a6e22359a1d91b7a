/**
 * Interns the values of one dimension into small integer ids, with reference counts so values
 * that no stored key uses any more are forgotten. Id 0 is the empty value and never freed.
 * Keys then are tuples of integers: compact to store and fast to aggregate (arrays indexed by
 * id instead of maps keyed by strings).
 * @module
 */

export class Interner {
  readonly #ids = new Map<string, number>();
  #values: (string | undefined)[] = [''];
  #refs: Uint32Array = new Uint32Array(1024);
  readonly #free: number[] = [];
  /** Ids handed out since the last sweep whose count is still 0 (sweep candidates). */
  #fresh: number[] = [];

  constructor() {
    this.#ids.set('', 0);
    this.#refs[0] = 1;
  }

  /** Number of ids currently in use (including the empty value). */
  get size(): number {
    return this.#ids.size;
  }

  /** One past the largest id ever handed out: the length arrays indexed by id need. */
  get capacity(): number {
    return this.#values.length;
  }

  /** The id of `value`, allocating one if needed (with no reference yet). */
  intern(value: string): number {
    let id = this.#ids.get(value);
    if (id !== undefined) return id;
    // A value sliced from a log line would keep the whole line alive for as long as it is
    // interned: keep a copy of just the value (concatenation then slice makes V8 flatten it).
    value = flat(value);
    id = this.#free.pop() ?? this.#values.length;
    if (id === this.#values.length) this.#values.push(value);
    else this.#values[id] = value;
    if (id >= this.#refs.length) {
      const grown = new Uint32Array(this.#refs.length * 2);
      grown.set(this.#refs);
      this.#refs = grown;
    }
    this.#refs[id] = 0;
    this.#ids.set(value, id);
    this.#fresh.push(id);
    return id;
  }

  /** The id of `value` if it is interned. */
  lookup(value: string): number | undefined {
    return this.#ids.get(value);
  }

  value(id: number): string {
    return this.#values[id] ?? '';
  }

  acquire(id: number): void {
    this.#refs[id] = (this.#refs[id] as number) + 1;
  }

  release(id: number): void {
    const r = (this.#refs[id] as number) - 1;
    this.#refs[id] = r;
    if (r === 0 && id !== 0) this.#drop(id);
  }

  /** Acquires ids[from], ids[from + stride], … below `to` (one dimension of key-major ids). */
  acquireStrided(ids: ArrayLike<number>, from: number, to: number, stride: number): void {
    const refs = this.#refs;
    for (let i = from; i < to; i += stride) {
      const id = ids[i] as number;
      refs[id] = (refs[id] as number) + 1;
    }
  }

  /** Releases ids[from], ids[from + stride], … below `to`; ids no longer used are forgotten. */
  releaseStrided(ids: ArrayLike<number>, from: number, to: number, stride: number): void {
    const refs = this.#refs;
    for (let i = from; i < to; i += stride) {
      const id = ids[i] as number;
      const r = (refs[id] as number) - 1;
      refs[id] = r;
      if (r === 0 && id !== 0) this.#drop(id);
    }
  }

  /** Frees every id handed out since the last sweep that nothing acquired. */
  sweep(): void {
    const fresh = this.#fresh;
    this.#fresh = [];
    for (const id of fresh) if (this.#refs[id] === 0 && this.#values[id] !== undefined) this.#drop(id);
  }

  #drop(id: number): void {
    const v = this.#values[id];
    if (v === undefined) return;
    this.#ids.delete(v);
    this.#values[id] = undefined;
    this.#free.push(id);
  }
}

/**
 * A copy of `s` that shares no memory with a longer string it may be a slice of (V8 copies
 * slices shorter than 13 characters itself). A one-byte copy when every character fits one
 * (a third less memory than concatenate-and-slice, which leaves a slice of a new string).
 */
function flat(s: string): string {
  if (s.length < 13) return s;
  const copy = Buffer.from(s, 'latin1').toString('latin1');
  return copy === s ? copy : ` ${s}`.slice(1);
}
