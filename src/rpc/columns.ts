/**
 * The columnar snapshot form (SnapshotColumns): encoding a bucket for one subscriber, with
 * dictionary deltas over its stream, and decoding it on the receiving side. Ids and counts
 * travel as little-endian byte arrays, so decoding is a copy rather than a loop over fields.
 * @module
 */
import type { Bucket } from '../store/bucket.ts';
import { D } from '../store/dimensions.ts';
import type { Interner } from '../store/interner.ts';
import type { ColumnBuffers, ColumnData } from '../store/merged-store.ts';
import type { DictionaryDeltaData } from '../store/remote-dictionary.ts';

export interface ColumnsData {
  readonly dictionary: readonly DictionaryDeltaData[];
  readonly keys: Uint8Array;
  readonly counts: Uint8Array;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function leBytes(a: Uint32Array | Float64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  const out = new Uint8Array(a.byteLength);
  const v = new DataView(out.buffer);
  if (a instanceof Uint32Array) for (let i = 0; i < a.length; i++) v.setUint32(i * 4, a[i] as number, true);
  else for (let i = 0; i < a.length; i++) v.setFloat64(i * 8, a[i] as number, true);
  return out;
}

/**
 * Per subscriber: which ids of each dimension were sent with the value they name now, one bit an
 * id (an id the interner hands out again, `catchUp`, is sent again).
 */
export class ColumnEncoder {
  readonly #interners: readonly Interner[];
  readonly #sent: Uint8Array[] = Array.from({ length: D }, () => new Uint8Array(8));
  /** Per dimension, the interner's `reuses` when `#sent` was last brought up to date. */
  readonly #seen: number[];

  constructor(interners: readonly Interner[]) {
    this.#interners = interners;
    // Nothing sent yet: the ids handed out again so far need no forgetting.
    this.#seen = interners.map((it) => it.reuses);
  }

  encode(b: Bucket): ColumnsData {
    for (let d = 0; d < D; d++) {
      const interner = this.#interners[d] as Interner;
      let sent = this.#sent[d] as Uint8Array;
      if (interner.capacity > sent.length * 8) {
        // An eighth of room to grow into.
        const grown = new Uint8Array(((interner.capacity + (interner.capacity >>> 3)) >>> 3) + 1);
        grown.set(sent);
        sent = grown;
        this.#sent[d] = sent;
      }
      const bits = sent;
      this.#seen[d] = interner.catchUp(
        this.#seen[d] as number,
        (id) => {
          bits[id >>> 3] = (bits[id >>> 3] as number) & ~(1 << (id & 7));
        },
        () => bits.fill(0),
      );
    }
    const n = b.size;
    const ids = b.ids.subarray(0, n * D);
    const dictionary = Array.from({ length: D }, () => ({ ids: [] as number[], values: [] as string[] }));
    for (let i = 0; i < n * D; i++) {
      const d = i % D;
      const id = ids[i] as number;
      const sent = this.#sent[d] as Uint8Array;
      const bit = 1 << (id & 7);
      if ((sent[id >>> 3] as number) & bit) continue;
      sent[id >>> 3] = (sent[id >>> 3] as number) | bit;
      const delta = dictionary[d] as { ids: number[]; values: string[] };
      delta.ids.push(id);
      delta.values.push((this.#interners[d] as Interner).value(id));
    }
    const counts = new Float64Array(3 * n);
    for (let e = 0; e < n; e++) {
      counts[e] = b.requests[e] as number;
      counts[n + e] = b.bytes[e] as number;
      counts[2 * n + e] = b.time[e] as number;
    }
    return { dictionary, keys: leBytes(ids), counts: leBytes(counts) };
  }
}

/**
 * Reads the key and count arrays of a columnar snapshot into buffers of their own (from `alloc`
 * when given: the merged store recycles them). Throws when their sizes disagree.
 */
export function decodeColumns(
  c: { keys: Uint8Array; counts: Uint8Array },
  alloc: (n: number) => ColumnBuffers = (n) => ({
    keys: new Uint32Array(n * D),
    counts: new Float64Array(3 * n),
  }),
): ColumnData {
  if (c.keys.byteLength % (4 * D) !== 0) throw new Error('columns.keys is not a whole number of keys');
  const n = c.keys.byteLength / (4 * D);
  if (c.counts.byteLength !== 24 * n)
    throw new Error(`columns.counts has ${c.counts.byteLength} bytes for ${n} keys`);
  const buffers = alloc(n);
  const keys = buffers.keys.subarray(0, n * D);
  const counts = buffers.counts.subarray(0, 3 * n);
  if (LITTLE_ENDIAN) {
    new Uint8Array(keys.buffer, keys.byteOffset, keys.byteLength).set(c.keys);
    new Uint8Array(counts.buffer, counts.byteOffset, counts.byteLength).set(c.counts);
  } else {
    const kv = new DataView(c.keys.buffer, c.keys.byteOffset, c.keys.byteLength);
    for (let i = 0; i < n * D; i++) keys[i] = kv.getUint32(i * 4, true);
    const cv = new DataView(c.counts.buffer, c.counts.byteOffset, c.counts.byteLength);
    for (let i = 0; i < 3 * n; i++) counts[i] = cv.getFloat64(i * 8, true);
  }
  return {
    size: n,
    keys,
    requests: counts.subarray(0, n),
    bytes: counts.subarray(n, 2 * n),
    time: counts.subarray(2 * n, 3 * n),
    buffers,
  };
}
