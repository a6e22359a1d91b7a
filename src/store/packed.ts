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
 * Packed values `p` with the values of some ids replaced by the bytes in `set` (a journal's values
 * over its snapshot's),
 * ids past `p`'s count added (those between them empty). Unchanged runs are copied whole.
 */
export function withValues(
  p: Uint8Array,
  set: ReadonlyMap<number, Uint8Array>,
  short: () => Error,
): Uint8Array {
  if (set.size === 0) return p;
  const at = packedIndex(p, short);
  const count = at.length - 1;
  const ids = [...set.keys()].sort((a, b) => a - b);
  const n = Math.max(count, (ids.at(-1) as number) + 1);
  const enc = set;
  // Start of id's length field in `p`, and its entry's size there (0 past the count).
  const field = (id: number) => (at[id] as number) - 4;
  const size = (id: number) => (id < count ? (at[id + 1] as number) - (at[id] as number) : 0);
  let total = 4 + (p.length - 4) + (n - count) * 4;
  for (const [id, b] of enc) total += 4 + b.length - (id < count ? size(id) : 4);
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
  for (const id of ids) {
    copyUpTo(id);
    const b = enc.get(id) as Uint8Array;
    view.setUint32(o, b.length, true);
    out.set(b, o + 4);
    o += 4 + b.length;
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
