/**
 * Saves and restores a store's rings (and its live minute) in a compact binary file, so a
 * restarted collector keeps its history. Written atomically (temporary file + rename).
 *
 * Layout: `LTSTATE1`, u32 header length, JSON header, then per dimension the id → value table
 * (u32 count, then per value u32 byte length + UTF-8 bytes), then per bucket (fine, coarse,
 * live, in header order) its columns as little-endian arrays: ids u32×6, requests f64, bytes
 * f64, time f64; versions 2 and 3 end with a u32 CRC-32 (zlib's) of every byte before it, so a
 * file changed or damaged anywhere is refused instead of restored with wrong counts. Version 3's
 * header adds the snapshot's generation (which journal extends it: `journal.ts`) and the
 * caller's meta (the collector's file positions). Versions 1 (no checksum) and 2 are still read.
 * @module
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { crc32 } from 'node:zlib';
import type { Bucket } from './bucket.ts';
import { D } from './dimensions.ts';
import { packedLength } from './packed.ts';
import { detach } from './release.ts';
import { type ImportedState, ownState, type PendingBucket, type Store, type StoreState } from './store.ts';

const MAGIC = 'LTSTATE1';

/** Bytes of one bucket entry on disk: D u32 ids, then requests, bytes and time as f64. */
export const ENTRY_BYTES = D * 4 + 3 * 8;

export interface BucketHeader {
  start: number;
  span: number;
  size: number;
  totalRequests: number;
  totalBytes: number;
  totalTime: number;
}

interface Header {
  version: 1 | 2 | 3;
  savedAt: number;
  /** Version 3: names this snapshot (a journal extends the snapshot of its generation). */
  generation?: string;
  /** Version 3: what the caller saved with the counts (the collector: its file positions). */
  meta?: unknown;
  liveStart: number;
  fine: BucketHeader[];
  coarse: BucketHeader[];
  live: BucketHeader;
}

/** What `readState` returns: the store's state, and the snapshot's generation and meta (version 3). */
export interface SavedState extends StoreState {
  generation?: string;
  meta?: unknown;
}

/** Options of `saveState`. */
export interface SaveOptions {
  generation?: string;
  meta?: unknown;
  /** fsync the file before it replaces the old one (a crash of the machine keeps one whole file). */
  sync?: boolean;
}

/** The f64 requests column of a bucket as written or read (its u32 counts widened): one array reused. */
let f64 = new Float64Array(0);

/**
 * Hands a bucket's columns to `write` as the state file and the journal lay them out: ids u32×6,
 * requests (widened in one array reused from bucket to bucket), bytes and time as f64. `write`
 * must take each before it returns.
 */
export function writeColumns(b: Bucket, write: (bytes: Uint8Array) => void): void {
  if (f64.length < b.size) f64 = new Float64Array(Math.max(b.size, f64.length * 2));
  f64.set(b.requests.subarray(0, b.size));
  write(new Uint8Array(b.ids.buffer, b.ids.byteOffset, b.size * D * 4));
  write(new Uint8Array(f64.buffer, 0, b.size * 8));
  write(new Uint8Array(b.bytes.buffer, b.bytes.byteOffset, b.size * 8));
  write(new Uint8Array(b.time.buffer, b.time.byteOffset, b.size * 8));
}

/** `n` as 4 bytes, little-endian. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

export const head = (b: Bucket): BucketHeader => ({
  start: b.start,
  span: b.span,
  size: b.size,
  totalRequests: b.totalRequests,
  totalBytes: b.totalBytes,
  totalTime: b.totalTime,
});

/** Writes the store's state to `path` atomically. Returns the bytes written. */
export function saveState(store: Store, path: string, o: SaveOptions = {}): number {
  const s = store.exportBuckets();
  const header: Header = {
    version: 3,
    savedAt: store.now(),
    ...(o.generation === undefined ? {} : { generation: o.generation }),
    ...(o.meta === undefined ? {} : { meta: o.meta }),
    liveStart: s.liveStart,
    fine: s.fine.map(head),
    coarse: s.coarse.map(head),
    live: head(s.live),
  };
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  let written = 0;
  let crc = 0;
  const write = (buf: Uint8Array) => {
    crc = crc32(buf, crc);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    written += buf.length;
  };
  try {
    const h = Buffer.from(JSON.stringify(header));
    write(Buffer.from(MAGIC));
    write(u32(h.length));
    write(h);
    for (const it of store.interners) it.packTo(write);
    for (const b of [...s.fine, ...s.coarse, s.live]) writeColumns(b, write);
    write(u32(crc));
    if (o.sync) fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    // A failed save (a full disk, say) leaves nothing behind: the next save starts clean.
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(tmp);
    } catch {
      // not there
    }
    throw e;
  }
  return written;
}

/**
 * Whether `b` (from a state file's or a journal group's JSON) is a bucket header a reader can
 * take: at most `maxSize` whole keys, a finite start and totals, and the span given, if one is.
 */
export function isBucketHeader(b: unknown, maxSize: number, span?: number): b is BucketHeader {
  if (typeof b !== 'object' || b === null) return false;
  const h = b as BucketHeader;
  return (
    Number.isInteger(h.size) &&
    h.size >= 0 &&
    h.size <= maxSize &&
    Number.isFinite(h.start) &&
    (span === undefined || h.span === span) &&
    [h.totalRequests, h.totalBytes, h.totalTime].every(Number.isFinite)
  );
}

/** `read(pos, into)`: fills `into` from the file at `pos`; throws `short()` past its end. */
export function fileReader(fd: number, short: () => Error): (pos: number, into: Uint8Array) => void {
  return (pos, into) => {
    let off = 0;
    while (off < into.length) {
      const n = readSync(fd, into, off, into.length - off, pos + off);
      if (n === 0) throw short();
      off += n;
    }
  };
}

/**
 * The CRC-32 of the bytes [from, to) that `read` reads, in pieces the size of `piece` (one buffer
 * for every call of a restore: a buffer each would wait for a garbage collection, a MiB a group).
 */
export function crc32Of(
  read: (pos: number, into: Uint8Array) => void,
  from: number,
  to: number,
  piece: Uint8Array,
): number {
  let crc = 0;
  for (let pos = from; pos < to; pos += piece.length) {
    const part = piece.subarray(0, Math.min(piece.length, to - pos));
    read(pos, part);
    crc = crc32(part, crc);
  }
  return crc;
}

/**
 * Reads a state file written by `saveState`. Throws with a clear message when it is not one. Read
 * in pieces: the checksum over the file, then the values, then each bucket's columns straight
 * into its arrays (the file is never in memory whole beside what is made of it).
 */
export function readState(path: string): SavedState {
  const fd = openSync(path, 'r');
  try {
    const state = openState(fd, fstatSync(fd).size, path);
    const read = (b: Bucket | PendingBucket) => ('read' in b ? b.read(true) : b);
    const { scratch: _, ...rest } = state;
    return ownState({ ...rest, fine: state.fine.map(read), coarse: state.coarse.map(read) });
  } finally {
    closeSync(fd);
  }
}

/** A state file's state whose ring buckets are read only when taken (`PendingBucket`). */
export interface OpenState extends Omit<SavedState, 'fine' | 'coarse'>, ImportedState {
  /** The arrays its pending buckets are read into (a journal's buckets too: `pendingBucket`). */
  scratch: ColumnScratch;
}

/**
 * Reads the state file open as `fd` (of `size` bytes) as `readState` does, all but its rings'
 * columns: each ring bucket is pending (read when `importState` takes it, while `fd` is still
 * open), so a restore holds the store's copy of the counts and one bucket of the file's at a
 * time. Every check of the file (its checksum, its header, that every bucket's columns are in
 * it) is done here, before any is read.
 */
export function openState(fd: number, size: number, path: string): OpenState {
  const truncated = () => new Error(`${path}: truncated state file`);
  const read = fileReader(fd, truncated);
  const start = Buffer.alloc(12);
  if (size < 12) throw new Error(`${path}: not a logtally state file`);
  read(0, start);
  if (start.toString('latin1', 0, 8) !== MAGIC) throw new Error(`${path}: not a logtally state file`);
  const hl = start.readUInt32LE(8);
  if (12 + hl > size) throw truncated();
  const hb = Buffer.alloc(hl);
  read(12, hb);
  let header: Header;
  try {
    header = JSON.parse(hb.toString('utf8')) as Header;
  } catch (e) {
    throw new Error(`${path}: corrupt state file header (${(e as Error).message})`);
  }
  const off = 12 + hl;
  if (header?.version !== 1 && header?.version !== 2 && header?.version !== 3)
    throw new Error(`${path}: unsupported state version ${String(header?.version)}`);
  let end = size;
  if (header.version >= 2) {
    if (size < off + 4) throw truncated();
    end = size - 4;
    const stored = Buffer.alloc(4);
    read(end, stored);
    const piece = new Uint8Array(Math.min(end, 1 << 20));
    const crc = crc32Of(read, 0, end, piece);
    detach(piece);
    if (crc !== stored.readUInt32LE(0))
      throw new Error(`${path}: checksum mismatch (the file was changed or damaged after it was written)`);
  }
  const validBucket = (b: unknown, span?: number) => isBucketHeader(b, size / ENTRY_BYTES, span);
  if (
    !Number.isFinite(header.liveStart) ||
    !Array.isArray(header.fine) ||
    !Array.isArray(header.coarse) ||
    !header.fine.every((b) => validBucket(b, 60)) ||
    !header.coarse.every((b) => validBucket(b, 300)) ||
    !validBucket(header.live)
  ) {
    throw new Error(`${path}: corrupt state file header`);
  }
  // Every bucket's entries must fit in what follows the header (checked before allocating any):
  // the values are what lies between the header and the columns.
  const entries = [...header.fine, ...header.coarse, header.live].reduce((n, b) => n + b.size, 0);
  const columnsAt = end - entries * ENTRY_BYTES;
  if (columnsAt < off) throw truncated();
  const vb = Buffer.allocUnsafeSlow(columnsAt - off);
  read(off, vb);
  const values: Uint8Array[] = [];
  let at = 0;
  for (let d = 0; d < D; d++) {
    const len = packedLength(vb, at, truncated);
    values.push(vb.subarray(at, at + len));
    at += len;
  }
  if (at !== vb.length) throw truncated();
  let next = columnsAt;
  const scratch = new ColumnScratch();
  const pending = (h: BucketHeader): PendingBucket => {
    const at = next;
    next += h.size * ENTRY_BYTES;
    return pendingBucket(read, at, h, scratch);
  };
  const fine = header.fine.map(pending);
  const coarse = header.coarse.map(pending);
  const live = pending(header.live).read(true);
  return ownState({
    scratch,
    liveStart: header.liveStart,
    values,
    fine,
    coarse,
    live,
    ...(typeof header.generation === 'string' ? { generation: header.generation } : {}),
    ...(header.meta === undefined ? {} : { meta: header.meta }),
  });
}

/** Arrays pending buckets are read into, reused from one bucket to the next (`readBucket`). */
export class ColumnScratch {
  ids = new Uint32Array(0);
  requests = new Uint32Array(0);
  bytes = new Float64Array(0);
  time = new Float64Array(0);
  /** The arrays, at least `n` keys long. */
  fit(n: number): this {
    if (this.requests.length < n) {
      const m = Math.max(n, this.requests.length * 2);
      this.ids = new Uint32Array(m * D);
      this.requests = new Uint32Array(m);
      this.bytes = new Float64Array(m);
      this.time = new Float64Array(m);
    }
    return this;
  }
}

/** Bucket `h`, whose columns are at `at`, pending: read by `readBucket` when taken (into `scratch` unless `own`). */
export function pendingBucket(
  read: (pos: number, into: Uint8Array) => void,
  at: number,
  h: BucketHeader,
  scratch: ColumnScratch,
): PendingBucket {
  return { ...h, read: (own) => readBucket(read, at, h, own ? undefined : scratch) };
}

/**
 * Reads the columns of the bucket `h` (ids u32×6, requests, bytes and time as f64, little-endian)
 * from `at`: `read(pos, into)` fills `into` from the file at `pos`, or throws. Into arrays of its
 * own; with `scratch` (and some keys), into views of the scratch's arrays, valid until its next use.
 */
export function readBucket(
  read: (pos: number, into: Uint8Array) => void,
  at: number,
  h: BucketHeader,
  scratch?: ColumnScratch,
): Bucket {
  const n = h.size;
  const into = scratch && n > 0 ? scratch.fit(n) : undefined;
  const column = <T extends Uint32Array | Float64Array>(a: T): T => {
    read(at, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    at += a.byteLength;
    return a;
  };
  const ids = column(into ? into.ids.subarray(0, n * D) : new Uint32Array(n * D));
  if (f64.length < n) f64 = new Float64Array(Math.max(n, f64.length * 2));
  const wide = column(f64.subarray(0, n));
  const requests = into ? into.requests.subarray(0, n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) requests[i] = wide[i] as number;
  return {
    ...h,
    ids,
    requests,
    bytes: column(into ? into.bytes.subarray(0, n) : new Float64Array(n)),
    time: column(into ? into.time.subarray(0, n) : new Float64Array(n)),
  };
}
