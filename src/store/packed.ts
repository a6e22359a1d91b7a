/**
 * A dimension's values by id in one buffer, as a state file holds them (little-endian): a u32
 * count, then per id a u32 byte length and the value's bytes (UTF-8, with the raw bytes of
 * invalid sequences as they are; length 0 for an id not in use). An interner writes it
 * (`Interner.pack`) and takes values from it by their bytes (`internBytes`), so a state saved,
 * restored or handed over by a worker thread makes no string per value.
 * @module
 */
import { decodeBytes, encodeLine } from '../format/bytes.ts';
import { IntList } from './int-list.ts';

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
  /** Per record: id, source, start, length. */
  readonly #records = new IntList(1024);
  readonly #sources: Uint8Array[] = [];

  get size(): number {
    return this.#records.length >>> 2;
  }

  /** Forgets the records from the `size`-th on (a group refused after some of its values were logged). */
  truncate(size: number): void {
    this.#records.truncate(size * 4);
  }

  /** The index of buffer `b` among the sources of values (`add`'s `source`): the last one's again, or a new one. */
  source(b: Uint8Array): number {
    if (this.#sources.at(-1) !== b) this.#sources.push(b);
    return this.#sources.length - 1;
  }

  /** Forgets every record and gives their memory back now (the sources are the caller's). */
  release(): void {
    this.#records.release();
    this.#sources.length = 0;
  }

  /** Id's value is `sources[source][start, start + len)` (from now on). */
  add(id: number, source: number, start: number, len: number): void {
    const r = this.#records;
    r.push(id);
    r.push(source);
    r.push(start);
    r.push(len);
  }

  /** The last record of each id written, by id (-1 where none): an array one past the largest id. */
  latest(): Int32Array {
    const r = this.#records;
    let max = -1;
    for (let i = 0; i < r.length; i += 4) max = Math.max(max, r.get(i));
    const out = new Int32Array(max + 1).fill(-1);
    for (let i = 0; i < r.length; i += 4) out[r.get(i)] = i >>> 2;
    return out;
  }

  len(record: number): number {
    return this.#records.get(record * 4 + 3);
  }

  /** Copies the record's bytes into `out` at `at`. */
  copy(record: number, out: Uint8Array, at: number): void {
    const r = this.#records;
    const s = r.get(record * 4 + 2);
    out.set((this.#sources[r.get(record * 4 + 1)] as Uint8Array).subarray(s, s + this.len(record)), at);
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
