/**
 * A dimension's values by id in one buffer, as a state file holds them (little-endian): a u32
 * count, then per id a u32 byte length and the value's bytes (UTF-8, with the raw bytes of
 * invalid sequences as they are; length 0 for an id not in use). An interner writes it
 * (`Interner.pack`) and takes values from it by their bytes (`internBytes`), so a state saved,
 * restored or handed over by a worker thread makes no string per value.
 * @module
 */
import { decodeBytes, encodeLine } from '../format/bytes.ts';

/**
 * Where each id's bytes start in packed values `p`: the returned array has count + 1 entries,
 * id's bytes being `p[at[id], at[id + 1] - 4)` (the next entry's length field follows them).
 * Throws `short()` when `p` is cut or holds more than the count says.
 */
export function packedIndex(p: Uint8Array, short: () => Error): Uint32Array {
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (p.length < 4) throw short();
  const n = view.getUint32(0, true);
  if (n > (p.length - 4) / 4) throw short();
  const at = new Uint32Array(n + 1);
  let off = 4;
  for (let id = 0; id < n; id++) {
    if (off + 4 > p.length) throw short();
    const len = view.getUint32(off, true);
    off += 4;
    at[id] = off;
    if (off + len > p.length) throw short();
    off += len;
  }
  if (off !== p.length) throw short();
  at[n] = off + 4;
  return at;
}

/** The length of packed values starting at `p[off]` (their count, lengths and bytes); throws `short()` when cut. */
export function packedLength(p: Uint8Array, off: number, short: () => Error): number {
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (off + 4 > p.length) throw short();
  const n = view.getUint32(off, true);
  let at = off + 4;
  for (let id = 0; id < n; id++) {
    if (at + 4 > p.length) throw short();
    at += 4 + view.getUint32(at, true);
    if (at > p.length) throw short();
  }
  return at - off;
}

/**
 * Values of ids in the order they were written (a journal's groups), a later one of an id
 * replacing an earlier: typed arrays of where each value's bytes are, no object per value.
 */
export class ValueLog {
  #ids = new Int32Array(256);
  #src = new Uint32Array(256);
  #starts = new Int32Array(256);
  #lens = new Int32Array(256);
  #n = 0;
  readonly #sources: Uint8Array[] = [];

  get size(): number {
    return this.#n;
  }

  /** Forgets the records from the `size`-th on (a group refused after some of its values were logged). */
  truncate(size: number): void {
    this.#n = Math.min(this.#n, size);
  }

  /** The index of buffer `b` among the sources of values (`add`'s `source`): the last one's again, or a new one. */
  source(b: Uint8Array): number {
    if (this.#sources.at(-1) !== b) this.#sources.push(b);
    return this.#sources.length - 1;
  }

  /** Id's value is `sources[source][start, start + len)` (from now on). */
  add(id: number, source: number, start: number, len: number): void {
    const i = this.#n;
    if (i === this.#ids.length) {
      const grow = <T extends Int32Array | Uint32Array>(a: T, b: T): T => {
        b.set(a);
        return b;
      };
      this.#ids = grow(this.#ids, new Int32Array(i * 2));
      this.#src = grow(this.#src, new Uint32Array(i * 2));
      this.#starts = grow(this.#starts, new Int32Array(i * 2));
      this.#lens = grow(this.#lens, new Int32Array(i * 2));
    }
    this.#ids[i] = id;
    this.#src[i] = source;
    this.#starts[i] = start;
    this.#lens[i] = len;
    this.#n = i + 1;
  }

  /**
   * The last record of each id written, by id (-1 where none): an array one past the largest id.
   */
  latest(): Int32Array {
    let max = -1;
    for (let r = 0; r < this.#n; r++) max = Math.max(max, this.#ids[r] as number);
    const out = new Int32Array(max + 1).fill(-1);
    for (let r = 0; r < this.#n; r++) out[this.#ids[r] as number] = r;
    return out;
  }

  len(r: number): number {
    return this.#lens[r] as number;
  }

  /** Copies record r's bytes into `out` at `at`. */
  copy(r: number, out: Uint8Array, at: number): void {
    const s = this.#starts[r] as number;
    out.set(
      (this.#sources[this.#src[r] as number] as Uint8Array).subarray(s, s + (this.#lens[r] as number)),
      at,
    );
  }
}

/**
 * Packed values `p` with the values the log wrote replacing theirs (a journal's values over its
 * snapshot's), ids past `p`'s count added (those between them empty). Unchanged runs are copied
 * whole. `p` itself when the log is empty.
 */
export function withValues(p: Uint8Array, log: ValueLog, short: () => Error): Uint8Array {
  if (log.size === 0) return p;
  const at = packedIndex(p, short);
  const count = at.length - 1;
  const latest = log.latest();
  const n = Math.max(count, latest.length);
  // Start of id's length field in `p`, and its entry's size there (0 past the count).
  const field = (id: number) => (at[id] as number) - 4;
  const size = (id: number) => (id < count ? (at[id + 1] as number) - (at[id] as number) : 0);
  let total = 4 + (p.length - 4) + (n - count) * 4;
  for (let id = 0; id < latest.length; id++) {
    const r = latest[id] as number;
    if (r >= 0) total += 4 + log.len(r) - (id < count ? size(id) : 4);
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  let o = 4;
  let from = 0;
  const copyUpTo = (id: number) => {
    const end = Math.min(id, count);
    if (from < end) {
      const s = field(from);
      const e = field(end);
      out.set(p.subarray(s, e), o);
      o += e - s;
    }
    // Ids past the count and before `id`: empty.
    for (let j = Math.max(from, count); j < id; j++) {
      view.setUint32(o, 0, true);
      o += 4;
    }
  };
  for (let id = 0; id < latest.length; id++) {
    const r = latest[id] as number;
    if (r < 0) continue;
    copyUpTo(id);
    view.setUint32(o, log.len(r), true);
    log.copy(r, out, o + 4);
    o += 4 + log.len(r);
    from = id + 1;
  }
  copyUpTo(n);
  return out;
}

/** Packs strings (the journal's values, tests): `value(id)` of each is its text, as the interner's. */
export function packStrings(values: readonly string[]): Uint8Array {
  const bytes = values.map((v) => encodeLine(v));
  const out = new Uint8Array(4 + bytes.reduce((n, b) => n + 4 + b.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, values.length, true);
  let off = 4;
  for (const b of bytes) {
    view.setUint32(off, b.length, true);
    out.set(b, off + 4);
    off += 4 + b.length;
  }
  return out;
}

/** The texts of packed values, by id. */
export function unpackStrings(p: Uint8Array): string[] {
  const at = packedIndex(p, () => new Error('packed values cut short'));
  const out: string[] = [];
  for (let id = 0; id + 1 < at.length; id++)
    out.push(decodeBytes(p.subarray(at[id], (at[id + 1] as number) - 4)));
  return out;
}
