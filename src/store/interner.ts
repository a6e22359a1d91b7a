/**
 * Interns the values of one dimension into small integer ids, with reference counts so values
 * that no stored key uses any more are forgotten. Id 0 is the empty value and id 1 (`OTHER`) the
 * residuals' value; neither is ever freed. Keys then are tuples of integers: compact to store and
 * fast to aggregate (arrays indexed by id instead of maps keyed by strings).
 *
 * Values live as bytes in an arena, not as JavaScript strings: millions of distinct URIs cost
 * their bytes plus about 15-23 bytes each (a 1-byte length, an offset and a reference count of 4
 * bytes each, 1.25-2.75 slots of 5 bytes in the index; 4.48 M URIs of ~10 bytes: 135 MiB), where
 * as strings they cost about 70 bytes each, most of it on the garbage-collected
 * heap. A string is made only when a value is read (`value`: ~30 ns
 * for a short ASCII value), which queries do for the values they answer with and regular
 * expressions test; ties, plain-text filters and caches compare bytes (`compare`, `nextAbove`,
 * `equalsBytes`, `hasText`; caches keyed by id learn which ids were handed out again from
 * `catchUp`, and keep nothing per id here).
 *
 * - Text is stored as UTF-8, with the raw bytes of invalid sequences kept as they are
 *   (format/bytes.ts's surrogate escapes), so `value(intern(s)) === s` for every string decoded
 *   from a log's bytes. A string that no bytes decode to shares the id of the text its bytes
 *   decode to: a lone surrogate outside U+DC80–U+DCFF (only a JSON `\uD800` escape gives one) is
 *   stored as U+FFFD, and escapes of raw bytes that form valid UTF-8 (`\uDCC3\uDCA9`) as the
 *   character (`é`). Order (`compare`) is byte order: code point order.
 * - The arena is a list of 1 MiB chunks (a value longer than an eighth of one gets a chunk of its
 *   own). A value is `[length << 2 | non-ASCII << 1 | freed: varint][bytes]`: its id is not kept
 *   beside it (compacting finds a value's id through the index, `#owner`). A chunk is compacted
 *   in place when it is reused; one whose values in use take less than 64 KiB has them moved to
 *   the active chunk and is given back, as is one with none in use. Growing never copies the arena, and memory follows the values in use
 *   (within about a sixteenth of a chunk each, and the chunks being filled).
 * - The value → id index is an open-addressing table of ids in an Int32Array (a probe compares
 *   the candidate's bytes; a table rebuild hashes the values again).
 * @module
 */

import { decodeBytes, encodeString, latin1 } from '../format/bytes.ts';
import { OTHER, OTHER_TEXT } from './dimensions.ts';
import { IntList } from './int-list.ts';
import { detach, grown } from './release.ts';

const EMPTY = -1;
const DELETED = -2;
/** An id's offset when the id is free; a freed value's id in the arena. */
const FREE = 0xffffffff;
const POS_BITS = 20;
const CHUNK = 1 << POS_BITS;
const POS_MASK = CHUNK - 1;
/** A value needing more than this gets a chunk of its own. */
const LARGE = CHUNK >>> 3;
/** A chunk whose values in use take less than this is emptied into the active one and given back. */
const SPARSE = CHUNK >>> 4;
/** Chunk indexes fit the 12 bits above a position. */
const MAX_CHUNKS = 4095;
const NO_CHUNK = Buffer.alloc(0);
/** Ids handed out again that `catchUp` can name (a cache further behind forgets everything). */
const REUSE_LOG = 1 << 16;

/** FNV-1a over bytes, mixed. */
function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = s; i < e; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h ^ (h >>> 16);
}

/** Orders `x[px, px + lx)` and `y[py, py + ly)` byte by byte, the shorter first on a common prefix. */
function compareBytes(x: Uint8Array, px: number, lx: number, y: Uint8Array, py: number, ly: number): number {
  const n = lx < ly ? lx : ly;
  for (let i = 0; i < n; i++) {
    const d = (x[px + i] as number) - (y[py + i] as number);
    if (d !== 0) return d;
  }
  return lx - ly;
}

/** The varint at `b[p]` that starts a value: its length × 4 + non-ASCII × 2 + freed. */
function readVarint(b: Uint8Array, p: number): number {
  let v = b[p] as number;
  if (v < 0x80) return v;
  v &= 0x7f;
  for (let shift = 128; ; shift *= 128) {
    const x = b[++p] as number;
    v += (x & 0x7f) * shift;
    if (x < 0x80) return v;
  }
}

/** How many bytes the varint `v` takes. */
function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

export class Interner {
  /** The arena's chunks (NO_CHUNK where one was given back). */
  readonly #chunks: Buffer[] = [];
  /** Per chunk: bytes written, and bytes of freed values among them. */
  readonly #ends: number[] = [];
  readonly #dead: number[] = [];
  /** Indexes of chunks given back, for reuse. */
  readonly #spare: number[] = [];
  /** The chunk new values are appended to (-1: none yet). */
  #active = -1;
  /** The chunk being emptied (-1: none), never made the active one. */
  #evacuating = -1;
  /** Per id: chunk << 20 | position of its value (its length first), or FREE. */
  #offsets: Uint32Array = new Uint32Array(1024).fill(FREE);
  #refs: Uint32Array = new Uint32Array(1024);
  /**
   * The last `REUSE_LOG` ids handed out again (from the free list), by `reuses` modulo its length;
   * made at the first one (256 KiB: an interner whose values are never forgotten has none).
   */
  #reuseLog: Int32Array | null = null;
  /**
   * How many times an id was handed out again, naming another value: a cache keyed by id learns
   * which of its ids did since it last looked from `catchUp`.
   */
  reuses = 0;
  #capacity = 0;
  /** Slots of ids (EMPTY, DELETED or an id), a power of two long. */
  #table: Int32Array = new Int32Array(2048).fill(EMPTY);
  /** Per slot: the top 8 bits of its value's hash, so a probe reads a value only when they agree. */
  #tags: Uint8Array = new Uint8Array(2048);
  #used = 0;
  #deleted = 0;
  readonly #free: number[] = [];
  /**
   * Ids handed out since the last sweep whose count is still 0 (sweep candidates): 4 bytes an id
   * (a backfill hands out millions between sweeps).
   */
  readonly #fresh = new IntList();
  /** Ids freed so far: a cache of value → id is valid only while this has not moved. */
  drops = 0;

  // Where #locate found a value (out parameters, to allocate nothing).
  #buf: Buffer = NO_CHUNK;
  #pos = 0;
  #len = 0;
  #ascii = true;
  /** Where `intern` and `lookup` write a string's bytes. */
  #text = new Uint8Array(256);

  /** The highest chunk index (a test lowers it to reach the limit). */
  readonly #maxChunks: number;

  constructor(o: { maxChunks?: number } = {}) {
    this.#maxChunks = Math.min(o.maxChunks ?? MAX_CHUNKS, MAX_CHUNKS);
    this.intern('');
    this.#refs[0] = 1;
    this.intern(OTHER_TEXT);
    this.#refs[OTHER] = 1;
    this.#fresh.clear();
  }

  /** Number of ids currently in use (including the empty value). */
  get size(): number {
    return this.#used;
  }

  /** One past the largest id ever handed out: the length arrays indexed by id need. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Bytes held by the arena and the per-id arrays (for stats and benchmarks). */
  get memory(): number {
    let n = this.#table.byteLength + this.#tags.byteLength + this.#offsets.byteLength + this.#refs.byteLength;
    n += this.#reuseLog?.byteLength ?? 0;
    for (const c of this.#chunks) n += c.length;
    return n;
  }

  /**
   * Makes room in the index for `extra` more values at once (a bulk load: a state file, a worker
   * thread's values), so it is rebuilt once, not at every doubling.
   */
  reserve(extra: number): void {
    if ((this.#used + this.#deleted + extra) * 5 > this.#table.length * 4) this.#rebuild(extra);
    const ids = this.#capacity + Math.max(0, extra - this.#free.length);
    if (ids > this.#refs.length) this.#grow(ids);
  }

  /** The id of `value`, allocating one if needed (with no reference yet). */
  intern(value: string): number {
    const n = this.#encode(value);
    return this.internBytes(this.#text, 0, n);
  }

  /**
   * The id of the UTF-8 text `b[s, e)` (what the ASCII lines of a log give), allocating one if
   * needed (with no reference yet): the same id `intern` gives its text, found and stored
   * without making a string.
   */
  internBytes(b: Uint8Array, s: number, e: number): number {
    const h = hashBytes(b, s, e);
    const found = this.#findBytes(b, s, e, h);
    if (found >= 0) return found;
    let ascii = true;
    for (let i = s; i < e; i++) {
      if ((b[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    const v = (e - s) * 4 + (ascii ? 0 : 2);
    const need = varintLength(v) + e - s;
    // Room first: a full arena throws before the id is taken and indexed.
    const c = this.#room(need);
    const id = this.#newId(h);
    const buf = this.#place(c, id, v, need);
    const p = this.#pos - s;
    if (e - s > 32) buf.set(b.subarray(s, e), p + s);
    else for (let i = s; i < e; i++) buf[p + i] = b[i] as number;
    return id;
  }

  /** The id of `value` if it is interned. */
  lookup(value: string): number | undefined {
    const n = this.#encode(value);
    const id = this.#findBytes(this.#text, 0, n, hashBytes(this.#text, 0, n));
    return id >= 0 ? id : undefined;
  }

  /** Writes `value`'s bytes (UTF-8, raw bytes for their escapes) into #text; returns their length. */
  #encode(value: string): number {
    const n = value.length;
    if (this.#text.length < n) this.#text = new Uint8Array(n * 2);
    const text = this.#text;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) {
        const bytes = encodeString(value);
        if (text.length < bytes.length) this.#text = new Uint8Array(bytes.length * 2);
        this.#text.set(bytes);
        return bytes.length;
      }
      text[i] = c;
    }
    return n;
  }

  /** The text of an id ('' for an id not in use): a new string each call. */
  value(id: number): string {
    if (!this.#locate(id)) return '';
    const p = this.#pos;
    return this.#ascii
      ? latin1(this.#buf, p, p + this.#len)
      : decodeBytes(this.#buf.subarray(p, p + this.#len));
  }

  /**
   * Brings a cache keyed by id up to date with the ids handed out again (naming another value)
   * since `reuses` was `since`: `forget(id)` for each, in order, or `forgetAll()` once when more
   * did than the log holds. Returns `reuses`, the `since` of the next call. Nothing is kept per id
   * here, nor in the cache but its entries.
   */
  catchUp(since: number, forget: (id: number) => void, forgetAll: () => void): number {
    const log = this.#reuseLog;
    if (this.reuses - since > REUSE_LOG) forgetAll();
    else if (log !== null) for (let i = since; i < this.reuses; i++) forget(log[i % REUSE_LOG] as number);
    return this.reuses;
  }

  /** Whether id's value is the text `b[s, e)` (false for an id not in use). */
  equalsBytes(id: number, b: Uint8Array, s: number, e: number): boolean {
    if (!this.#locate(id) || this.#len !== e - s) return false;
    const buf = this.#buf;
    const p = this.#pos - s;
    for (let i = s; i < e; i++) if (buf[p + i] !== b[i]) return false;
    return true;
  }

  /** Orders two ids by their values' bytes (code point order): negative, 0 or positive. */
  compare(a: number, b: number): number {
    if (!this.#locate(a)) return this.#locate(b) ? -1 : 0;
    const ba = this.#buf;
    const pa = this.#pos;
    const la = this.#len;
    if (!this.#locate(b)) return 1;
    return compareBytes(ba, pa, la, this.#buf, this.#pos, this.#len);
  }

  /**
   * The first index i in [from, to) whose id ranks above `bound` (of order `y`): a larger
   * `order`, or the same and a smaller value (byte order, as `compare`); `to` when none does.
   * TopN's scan of a flood of tied ids, with the bound's bytes and the arena in locals.
   */
  nextAbove(
    ids: Int32Array,
    from: number,
    to: number,
    order: Float64Array,
    y: number,
    bound: number,
  ): number {
    if (!this.#locate(bound)) {
      for (let i = from; i < to; i++) if ((order[ids[i] as number] as number) > y) return i;
      return to;
    }
    const bb = this.#buf;
    const pb = this.#pos;
    const lb = this.#len;
    const offsets = this.#offsets;
    const chunks = this.#chunks;
    for (let i = from; i < to; i++) {
      const id = ids[i] as number;
      const x = order[id] as number;
      if (x < y) continue;
      if (x > y) return i;
      const o = offsets[id] as number;
      if (o === FREE) return i;
      const buf = chunks[o >>> POS_BITS] as Buffer;
      const v = readVarint(buf, o & POS_MASK);
      const p = (o & POS_MASK) + varintLength(v);
      if (compareBytes(buf, p, Math.floor(v / 4), bb, pb, lb) < 0) return i;
    }
    return to;
  }

  /**
   * Whether id's value holds the UTF-8 text `needle`: at its start (`start`), at its end
   * (`end`), both (equal), or anywhere. False for an id not in use.
   */
  hasText(id: number, needle: Uint8Array, start: boolean, end: boolean): boolean {
    if (!this.#locate(id)) return false;
    const buf = this.#buf;
    const p = this.#pos;
    const len = this.#len;
    const n = needle.length;
    if (n > len || (start && end && n !== len)) return false;
    const first = end && !start ? len - n : 0;
    const last = start ? 0 : len - n;
    outer: for (let at = first; at <= last; at++) {
      for (let i = 0; i < n; i++) if (buf[p + at + i] !== needle[i]) continue outer;
      return true;
    }
    return false;
  }

  /** Every id's value, by id, in the packed layout (`packed.ts`: what a worker thread hands over), in one buffer. */
  pack(): Uint8Array {
    // Sized first, so the values are written once, into a buffer of their own (not a slice of
    // Node's pool: what a worker posts and a store may detach).
    let size = 4 + 4 * this.#capacity;
    for (let id = 0; id < this.#capacity; id++) {
      const o = this.#offsets[id] as number;
      if (o !== FREE)
        size += Math.floor(readVarint(this.#chunks[o >>> POS_BITS] as Buffer, o & POS_MASK) / 4);
    }
    let out: Uint8Array = new Uint8Array(0);
    this.packTo((b) => {
      out = b;
    }, size);
    return out;
  }

  /**
   * Every id's value, by id, in the packed layout, handed to `write` in pieces of about `piece`
   * bytes (what a state file saves, without the whole in memory): copied from the arena, no
   * string made. `write` must take each piece before it returns (its buffer is reused).
   */
  packTo(write: (piece: Uint8Array) => void, piece = 1 << 20): void {
    let id = 0;
    this.#records(this.#capacity, () => id++, false, write, piece);
  }

  /**
   * The values of `count` ids, in the order `nextId()` gives them, as a journal group holds them:
   * a u32 count, then per id a u32 id, a u32 byte length and the bytes (little-endian); handed to
   * `write` in pieces as `packTo`.
   */
  packIds(count: number, nextId: () => number, write: (piece: Uint8Array) => void, piece = 1 << 20): void {
    this.#records(count, nextId, true, write, piece);
  }

  /** A u32 count, then per id (`count` calls of `nextId`) its u32 id when `withId`, u32 length and bytes. */
  #records(
    count: number,
    nextId: () => number,
    withId: boolean,
    write: (piece: Uint8Array) => void,
    piece: number,
  ): void {
    const offsets = this.#offsets;
    const chunks = this.#chunks;
    const out = Buffer.allocUnsafeSlow(Math.max(piece, 8));
    out.writeUInt32LE(count, 0);
    let w = 4;
    const head = withId ? 8 : 4;
    for (let i = 0; i < count; i++) {
      const id = nextId();
      const o = offsets[id] ?? FREE;
      if (w + head > piece) {
        write(out.subarray(0, w));
        w = 0;
      }
      if (withId) {
        out.writeUInt32LE(id, w);
        w += 4;
      }
      if (o === FREE) {
        out.writeUInt32LE(0, w);
        w += 4;
        continue;
      }
      const buf = chunks[o >>> POS_BITS] as Buffer;
      const v = readVarint(buf, o & POS_MASK);
      const p = (o & POS_MASK) + varintLength(v);
      const len = Math.floor(v / 4);
      out.writeUInt32LE(len, w);
      w += 4;
      if (w + len > piece) {
        // A value that does not fit what is left: the piece so far, then the value as it is.
        write(out.subarray(0, w));
        w = 0;
        if (len > piece) {
          write(buf.subarray(p, p + len));
          continue;
        }
      }
      if (len < 32) for (let k = 0; k < len; k++) out[w + k] = buf[p + k] as number;
      else buf.copy(out, w, p, p + len);
      w += len;
    }
    if (w > 0) write(out.subarray(0, w));
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
    for (let i = 0; i < fresh.length; i++) {
      const id = fresh.get(i);
      if (this.#refs[id] === 0 && this.#offsets[id] !== FREE) this.#drop(id);
    }
    fresh.clear();
  }

  /** Points #buf/#pos/#len/#ascii at id's value; false for an id not in use. */
  #locate(id: number): boolean {
    const o = this.#offsets[id];
    if (o === undefined || o === FREE) return false;
    const buf = this.#chunks[o >>> POS_BITS] as Buffer;
    const v = readVarint(buf, o & POS_MASK);
    this.#buf = buf;
    this.#pos = (o & POS_MASK) + varintLength(v);
    this.#len = Math.floor(v / 4);
    this.#ascii = Math.floor(v / 2) % 2 === 0;
    return true;
  }

  #findBytes(b: Uint8Array, s: number, e: number, h: number): number {
    const table = this.#table;
    const tags = this.#tags;
    const tag = h >>> 24;
    const mask = table.length - 1;
    const n = e - s;
    probe: for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const id = table[slot] as number;
      if (id === EMPTY) return -1;
      if (id < 0 || tags[slot] !== tag || !this.#locate(id) || this.#len !== n) continue;
      const buf = this.#buf;
      const p = this.#pos - s;
      for (let i = s; i < e; i++) if (buf[p + i] !== b[i]) continue probe;
      return id;
    }
  }

  /** Room for ids below `n` in the per-id arrays (the old ones given back at once, not at a later collection). */
  #grow(n: number): void {
    const had = this.#offsets.length;
    this.#offsets = grown(this.#offsets, n).fill(FREE, had);
    this.#refs = grown(this.#refs, n);
  }

  /** Hands out an id for a new value of hash `h` (its value placed next by the caller). */
  #newId(h: number): number {
    const again = this.#free.pop();
    const id = again ?? this.#capacity++;
    if (again !== undefined) {
      this.#reuseLog ??= new Int32Array(REUSE_LOG);
      this.#reuseLog[this.reuses++ % REUSE_LOG] = again;
    }
    if (id >= this.#refs.length) this.#grow(Math.max(id + 1, Math.floor(this.#refs.length * 1.5)));
    this.#refs[id] = 0;
    this.#fresh.push(id);
    if ((this.#used + this.#deleted + 1) * 5 > this.#table.length * 4) this.#rebuild(1);
    const table = this.#table;
    const mask = table.length - 1;
    let s = h & mask;
    while ((table[s] as number) >= 0) s = (s + 1) & mask;
    if (table[s] === DELETED) this.#deleted--;
    table[s] = id;
    this.#tags[s] = h >>> 24;
    this.#used++;
    return id;
  }

  /** The chunk a value taking `need` bytes goes to: the active one (another made active when full), or its own when large. */
  #room(need: number): number {
    if (need > LARGE) return this.#chunk(need);
    const c = this.#active;
    if (c < 0 || (this.#ends[c] as number) + need > CHUNK) return this.#activate(need);
    return c;
  }

  /**
   * Writes the varint `v` (its length × 4 + non-ASCII × 2) of id's value, taking `need` bytes in
   * all, in chunk `c` (from `#room`) and points #buf/#pos where its bytes go; returns #buf.
   */
  #place(c: number, id: number, v: number, need: number): Buffer {
    const buf = this.#chunks[c] as Buffer;
    const at = this.#ends[c] as number;
    this.#ends[c] = at + need;
    this.#offsets[id] = (c * CHUNK + at) >>> 0;
    let q = at;
    let x = v;
    while (x >= 0x80) {
      buf[q++] = (x % 128) | 0x80;
      x = Math.floor(x / 128);
    }
    buf[q++] = x;
    this.#buf = buf;
    this.#pos = q;
    this.#len = Math.floor(v / 4);
    this.#ascii = (v & 2) === 0;
    return buf;
  }

  /**
   * Makes a chunk with room for `need` bytes the active one: a chunk at least a quarter free once
   * compacted (compacting it), else a new one.
   */
  #activate(need: number): number {
    const chunks = this.#chunks;
    for (let c = 0; c < chunks.length; c++) {
      if (c === this.#active || c === this.#evacuating || (chunks[c] as Buffer).length !== CHUNK) continue;
      const live = (this.#ends[c] as number) - (this.#dead[c] as number);
      if (CHUNK - live < Math.max(need, CHUNK / 4)) continue;
      this.#compact(c);
      this.#active = c;
      return c;
    }
    this.#active = this.#chunk(CHUNK);
    return this.#active;
  }

  /** A new chunk of `size` bytes (in a spare index if there is one); returns its index. */
  #chunk(size: number): number {
    const buf = Buffer.alloc(size);
    const c = this.#spare.pop() ?? this.#chunks.length;
    if (c > this.#maxChunks) throw new RangeError('interned values exceed 4 GiB');
    this.#chunks[c] = buf;
    this.#ends[c] = 0;
    this.#dead[c] = 0;
    return c;
  }

  /** Moves chunk c's values in use to its start, in order (their offsets follow). */
  #compact(c: number): void {
    if (this.#dead[c] === 0) return;
    const buf = this.#chunks[c] as Buffer;
    const end = this.#ends[c] as number;
    const offsets = this.#offsets;
    let w = 0;
    let run = -1; // start of the run of values in use being moved
    for (let p = 0; p < end; ) {
      const v = readVarint(buf, p);
      const next = p + varintLength(v) + Math.floor(v / 4);
      if (v % 2 === 1) {
        if (run >= 0) {
          buf.copyWithin(w, run, p);
          w += p - run;
          run = -1;
        }
      } else {
        if (run < 0) run = p;
        offsets[this.#owner(c, p, v)] = (c * CHUNK + w + (p - run)) >>> 0;
      }
      p = next;
    }
    if (run >= 0) {
      buf.copyWithin(w, run, end);
      w += end - run;
    }
    this.#ends[c] = w;
    this.#dead[c] = 0;
  }

  /**
   * A table sized for the ids in use (1.375 to 2.75 slots an id; rebuilt past 4 in 5 slots used,
   * deleted ones too), without deleted slots.
   */
  #rebuild(extra: number): void {
    // At least 1.375 slots an id: a tenth of the ids in use can come (or leave a deleted slot)
    // before the next rebuild, which a steady churn of values would otherwise bring at once.
    let n = 2048;
    while (n < (this.#used + extra) * 1.375) n *= 2;
    const table = new Int32Array(n).fill(EMPTY);
    const tags = new Uint8Array(n);
    const mask = n - 1;
    const old = this.#table;
    const oldTags = this.#tags;
    for (let i = 0; i < old.length; i++) {
      const id = old[i] as number;
      if (id < 0) continue;
      this.#locate(id);
      const h = hashBytes(this.#buf, this.#pos, this.#pos + this.#len);
      let s = h & mask;
      while (table[s] !== EMPTY) s = (s + 1) & mask;
      table[s] = id;
      tags[s] = h >>> 24;
    }
    this.#table = table;
    this.#tags = tags;
    this.#deleted = 0;
    // Nothing else holds them: their memory back now (a bulk load rebuilds tables of tens of MB).
    detach(old);
    detach(oldTags);
  }

  #drop(id: number): void {
    if (!this.#locate(id)) return;
    const buf = this.#buf;
    const table = this.#table;
    const mask = table.length - 1;
    let s = hashBytes(buf, this.#pos, this.#pos + this.#len) & mask;
    while (table[s] !== id) s = (s + 1) & mask;
    table[s] = DELETED;
    this.#deleted++;
    this.#used--;
    const o = this.#offsets[id] as number;
    const c = o >>> POS_BITS;
    buf[o & POS_MASK] = (buf[o & POS_MASK] as number) | 1; // freed: the varint's lowest bit
    const dead = (this.#dead[c] as number) + (this.#pos + this.#len - (o & POS_MASK));
    this.#dead[c] = dead;
    this.#offsets[id] = FREE;
    this.#free.push(id);
    this.drops++;
    const live = (this.#ends[c] as number) - dead;
    if (c === this.#active || c === this.#evacuating) return;
    if (live === 0) this.#giveBack(c);
    else if (live < SPARSE && buf.length === CHUNK) {
      // A few values keep a whole chunk (a burst of values mostly forgotten): move them on.
      this.#evacuate(c);
      this.#giveBack(c);
    }
  }

  /** Moves chunk c's values in use into the active chunk (their offsets follow). */
  #evacuate(c: number): void {
    const from = this.#chunks[c] as Buffer;
    const end = this.#ends[c] as number;
    this.#evacuating = c;
    for (let p = 0; p < end; ) {
      const v = readVarint(from, p);
      const next = p + varintLength(v) + Math.floor(v / 4);
      if (v % 2 === 0) {
        const id = this.#owner(c, p, v);
        const need = next - p;
        const t = this.#room(need);
        const at = this.#ends[t] as number;
        (this.#chunks[t] as Buffer).set(from.subarray(p, next), at);
        this.#ends[t] = at + need;
        this.#offsets[id] = (t * CHUNK + at) >>> 0;
      }
      p = next;
    }
    this.#evacuating = -1;
  }

  /**
   * The id whose value is the one in use at chunk c, position p (its varint `v`): found through
   * the index by the value's hash, the one whose offset is that position (a value's id is not
   * kept beside it: 4 bytes a value saved, a hash a value moved).
   */
  #owner(c: number, p: number, v: number): number {
    const buf = this.#chunks[c] as Buffer;
    const q = p + varintLength(v);
    const h = hashBytes(buf, q, q + Math.floor(v / 4));
    const at = (c * CHUNK + p) >>> 0;
    const table = this.#table;
    const tags = this.#tags;
    const tag = h >>> 24;
    const mask = table.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = table[s] as number;
      if (id === EMPTY) throw new Error(`interner: no id for the value at ${c}:${p}`);
      if (id >= 0 && tags[s] === tag && this.#offsets[id] === at) return id;
    }
  }

  /** Gives chunk c back (nothing in it is in use). */
  #giveBack(c: number): void {
    this.#chunks[c] = NO_CHUNK;
    this.#ends[c] = 0;
    this.#dead[c] = 0;
    this.#spare.push(c);
  }
}
