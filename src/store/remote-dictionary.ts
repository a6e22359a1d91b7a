/**
 * A sender's dictionaries, as learned from a columnar snapshot stream: per dimension, the
 * sender's id → the local interned id. Each mapped local id is held (acquired) until the sender
 * gives its id to another value or the stream ends (`release`).
 * @module
 */
import { D } from './dimensions.ts';
import type { Interner } from './interner.ts';

/**
 * Sender ids from this one up are refused: a bound on the memory a sender can make us spend
 * (32 MiB per dimension). A collector's ids stay below its largest number of distinct values.
 */
export const MAX_REMOTE_ID = 1 << 23;

export interface DictionaryDeltaData {
  readonly ids: readonly number[];
  readonly values: readonly string[];
}

export class RemoteDictionary {
  readonly #interners: readonly Interner[];
  #maps: Int32Array[] = Array.from({ length: D }, () => new Int32Array(1024).fill(-1));
  #size = 0;

  /** Values the dictionary holds (each keeps its interned value alive). */
  get size(): number {
    return this.#size;
  }

  constructor(interners: readonly Interner[]) {
    this.#interners = interners;
  }

  /** Applies one snapshot's deltas (one per dimension). Throws on a malformed delta. */
  apply(deltas: readonly DictionaryDeltaData[]): void {
    if (deltas.length !== D && deltas.length !== 0) {
      throw new Error(`columns.dictionary has ${deltas.length} dimensions, not ${D}`);
    }
    deltas.forEach((delta, d) => {
      if (delta.ids.length !== delta.values.length) {
        throw new Error(
          `columns.dictionary[${d}]: ${delta.ids.length} ids but ${delta.values.length} values`,
        );
      }
      const interner = this.#interners[d] as Interner;
      for (let i = 0; i < delta.ids.length; i++) {
        const sid = delta.ids[i] as number;
        if (!Number.isInteger(sid) || sid < 0 || sid >= MAX_REMOTE_ID) {
          throw new Error(`columns.dictionary[${d}]: id ${sid} out of range`);
        }
        let map = this.#maps[d] as Int32Array;
        if (sid >= map.length) {
          let n = map.length;
          while (n <= sid) n *= 2;
          const grown = new Int32Array(n).fill(-1);
          grown.set(map);
          map = grown;
          this.#maps[d] = map;
        }
        const local = interner.intern(delta.values[i] as string);
        interner.acquire(local);
        const old = map[sid] as number;
        if (old >= 0) interner.release(old);
        else this.#size++;
        map[sid] = local;
      }
    });
  }

  /**
   * Maps `n` keys of sender ids (D per key) to local ids into `out` (which may be `keys`).
   * Returns false when an id was never defined by the sender.
   */
  resolve(keys: Uint32Array, n: number, out: Uint32Array): boolean {
    const maps = this.#maps;
    for (let d = 0; d < D; d++) {
      const map = maps[d] as Int32Array;
      const len = map.length;
      for (let i = d; i < n * D; i += D) {
        const sid = keys[i] as number;
        const id = sid < len ? (map[sid] as number) : -1;
        if (id < 0) return false;
        out[i] = id;
      }
    }
    return true;
  }

  /** Lets go of every held id (the stream ended). */
  release(): void {
    this.#maps.forEach((map, d) => {
      const interner = this.#interners[d] as Interner;
      for (let i = 0; i < map.length; i++) if ((map[i] as number) >= 0) interner.release(map[i] as number);
    });
    this.#maps = Array.from({ length: D }, () => new Int32Array(1024).fill(-1));
    this.#size = 0;
  }
}
