/**
 * Interns the values of one dimension into small integer ids, with reference counts so values
 * that no stored key uses any more are forgotten. Id 0 is the empty value and never freed.
 * Keys then are tuples of integers: compact to store and fast to aggregate (arrays indexed by
 * id instead of maps keyed by strings).
 *
 * The value → id index is an open-addressing table of ids in an Int32Array (with each id's
 * hash kept beside it), not a Map: 12 bytes an entry instead of about 50, which is most of the
 * memory of millions of distinct URIs.
 * @module
 */

import { bytesEqual, latin1 } from '../format/bytes.ts';
import { OTHER, OTHER_TEXT } from './dimensions.ts';

const EMPTY = -1;
const DELETED = -2;

/** FNV-1a over the UTF-16 code units, mixed. */
function hashOf(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  return h;
}

export class Interner {
  #values: (string | undefined)[] = ['', OTHER_TEXT];
  #refs: Uint32Array = new Uint32Array(1024);
  /** Each id's hash (valid while the id is in use). */
  #hashes: Int32Array = new Int32Array(1024);
  /** Slots of ids (EMPTY, DELETED or an id), a power of two long. */
  #table: Int32Array = new Int32Array(2048).fill(EMPTY);
  #used = 0;
  #deleted = 0;
  readonly #free: number[] = [];
  /** Ids handed out since the last sweep whose count is still 0 (sweep candidates). */
  #fresh: number[] = [];
  /** Ids freed so far: a cache of value → id is valid only while this has not moved. */
  drops = 0;

  constructor() {
    this.#insert(0, hashOf(''));
    this.#refs[0] = 1;
    this.#insert(OTHER, hashOf(OTHER_TEXT));
    this.#refs[OTHER] = 1;
  }

  /** Number of ids currently in use (including the empty value). */
  get size(): number {
    return this.#used;
  }

  /** One past the largest id ever handed out: the length arrays indexed by id need. */
  get capacity(): number {
    return this.#values.length;
  }

  /** The id of `value`, allocating one if needed (with no reference yet). */
  intern(value: string): number {
    const h = hashOf(value);
    const found = this.#find(value, h);
    if (found >= 0) return found;
    // A value sliced from a log line would keep the whole line alive for as long as it is
    // interned: keep a copy of just the value.
    return this.#add(flat(value), h);
  }

  /**
   * The id of the ASCII text `b[s, e)`, allocating one if needed (with no reference yet): the
   * same id `intern` gives its text, found without making a string (one is made for a new value).
   */
  internBytes(b: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = s; i < e; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
    h ^= h >>> 16;
    const table = this.#table;
    const mask = table.length - 1;
    const hashes = this.#hashes;
    const values = this.#values;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const id = table[slot] as number;
      if (id === EMPTY) break;
      if (id >= 0 && hashes[id] === h && bytesEqual(b, s, e, values[id] as string)) return id;
    }
    return this.#add(latin1(b, s, e), h);
  }

  #add(v: string, h: number): number {
    const id = this.#free.pop() ?? this.#values.length;
    if (id === this.#values.length) this.#values.push(v);
    else this.#values[id] = v;
    if (id >= this.#refs.length) {
      const refs = new Uint32Array(this.#refs.length * 2);
      refs.set(this.#refs);
      this.#refs = refs;
      const hashes = new Int32Array(this.#hashes.length * 2);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
    }
    this.#refs[id] = 0;
    this.#insert(id, h);
    this.#fresh.push(id);
    return id;
  }

  /** The id of `value` if it is interned. */
  lookup(value: string): number | undefined {
    const id = this.#find(value, hashOf(value));
    return id >= 0 ? id : undefined;
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
    if (r === 0 && id > OTHER) this.#drop(id);
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
      if (r === 0 && id > OTHER) this.#drop(id);
    }
  }

  /** Frees every id handed out since the last sweep that nothing acquired. */
  sweep(): void {
    const fresh = this.#fresh;
    this.#fresh = [];
    for (const id of fresh) if (this.#refs[id] === 0 && this.#values[id] !== undefined) this.#drop(id);
  }

  #find(value: string, h: number): number {
    const table = this.#table;
    const mask = table.length - 1;
    const hashes = this.#hashes;
    const values = this.#values;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = table[s] as number;
      if (id === EMPTY) return -1;
      if (id >= 0 && hashes[id] === h && values[id] === value) return id;
    }
  }

  #insert(id: number, h: number): void {
    if ((this.#used + this.#deleted + 1) * 2 > this.#table.length) this.#rebuild();
    const table = this.#table;
    const mask = table.length - 1;
    let s = h & mask;
    while ((table[s] as number) >= 0) s = (s + 1) & mask;
    if (table[s] === DELETED) this.#deleted--;
    table[s] = id;
    this.#hashes[id] = h;
    this.#used++;
  }

  /** A table sized for the ids in use (2.5 to 5 slots an id), without deleted slots. */
  #rebuild(): void {
    let n = 2048;
    while (n < (this.#used + 1) * 2.5) n *= 2;
    const table = new Int32Array(n).fill(EMPTY);
    const mask = n - 1;
    const old = this.#table;
    for (let i = 0; i < old.length; i++) {
      const id = old[i] as number;
      if (id < 0) continue;
      let s = (this.#hashes[id] as number) & mask;
      while (table[s] !== EMPTY) s = (s + 1) & mask;
      table[s] = id;
    }
    this.#table = table;
    this.#deleted = 0;
  }

  #drop(id: number): void {
    const v = this.#values[id];
    if (v === undefined) return;
    const table = this.#table;
    const mask = table.length - 1;
    let s = (this.#hashes[id] as number) & mask;
    while (table[s] !== id) s = (s + 1) & mask;
    table[s] = DELETED;
    this.#deleted++;
    this.#used--;
    this.#values[id] = undefined;
    this.#free.push(id);
    this.drops++;
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
