/**
 * Checkpoints of a store that cost what changed, not what is held: a full snapshot (the state
 * file, `persist.ts`) now and then, and between snapshots a journal (`PATH.journal`) to which
 * each checkpoint appends one group: the values new since, the buckets sealed or changed since
 * (whole), the live minute, and the caller's meta (the collector's file positions). Restoring
 * reads the snapshot and applies the journal's groups in order; a group cut short by a crash, or
 * damaged (CRC-32 over the group), ends the journal there, so what is restored is always one
 * checkpoint's consistent state. A journal belongs to the snapshot whose generation it names.
 *
 * Group layout: u32 payload length, payload, u32 CRC-32 of the payload. Payload: u32 JSON
 * length, JSON {liveStart, meta, buckets: headers, live}, then per dimension the values the group
 * adds (u32 count, then per value u32 id, u32 byte length and the bytes; groups written before
 * had them in the JSON as `values`, [[id, text]...] per dimension, and are still read), then the
 * columns of each bucket and of the live minute as in the state file. Ids are the
 * store's: a group writes the value of each id its buckets use that is new since the snapshot, or
 * was handed out again (`KnownValues`); a later value of an id replaces the earlier one.
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  openSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { crc32 } from 'node:zlib';
import { encodeLine } from '../format/bytes.ts';
import { D } from './dimensions.ts';
import type { Interner } from './interner.ts';
import { ValueLog, withValues } from './packed.ts';
import {
  type BucketHeader,
  crc32Of,
  ENTRY_BYTES,
  fileReader,
  head,
  isBucketHeader,
  type OpenState,
  openState,
  pendingBucket,
  saveState,
  u32,
  writeColumns,
} from './persist.ts';
import { detach, detachBucket } from './release.ts';
import type { Store } from './store.ts';

const MAGIC = 'LTJRNL01';
/** Ids a group may name (an interner hands out far fewer): past this, the group is refused. */
const MAX_ID = 1 << 28;

interface GroupHeader {
  liveStart: number;
  meta?: unknown;
  /**
   * Groups written before the values followed the header (per dimension `Interner.packIds`): the
   * values here, per dimension [id, text] pairs.
   */
  values?: [number, string][][];
  buckets: BucketHeader[];
  live: BucketHeader;
}

/** A restore that failed once the store had begun to take the state: the store holds part of it. */
export class PartialRestoreError extends Error {
  constructor(path: string, cause: unknown) {
    super(
      `${path}: cannot restore (${cause instanceof Error ? cause.message : String(cause)}) after part of the state was taken`,
      { cause },
    );
    this.name = 'PartialRestoreError';
  }
}

/** What a restore found (its counts are in the store). */
export interface Restored {
  /** What the last checkpoint saved with the counts (the collector: its file positions). */
  meta: unknown;
  /** Journal groups applied on top of the snapshot. */
  groups: number;
  /** Why the journal ended before its end (a cut or damaged group), if it did. */
  journalProblem?: string;
}

/** Outcome of one checkpoint. */
export interface CheckpointResult {
  kind: 'snapshot' | 'journal';
  bytes: number;
}

/**
 * Which of the store's values a reader of the snapshot and the journal so far knows, one bit an
 * id: the journal's ids are the store's. An id is known when the snapshot held it and it has not
 * been handed out again since (the interner's `catchUp` names those), or when a group wrote its
 * value after that. A checkpoint writes the values of the unknown ids its buckets use.
 */
class KnownValues {
  #bits: Uint8Array[] = [];
  #since: number[] = [];

  /** After a snapshot: every id below the interners' capacity is known (a free one's '' is only read once it is handed out again, which `catchUp` reports first). */
  reset(interners: readonly Interner[]): void {
    this.#bits = interners.map((it) => {
      const bits = new Uint8Array((it.capacity + 7) >>> 3);
      bits.fill(0xff, 0, it.capacity >>> 3);
      for (let id = it.capacity & ~7; id < it.capacity; id++) (bits[id >>> 3] as number) |= 1 << (id & 7);
      return bits;
    });
    this.#since = interners.map((it) => it.reuses);
  }

  /**
   * Forgets the ids handed out again since the last call. When more were than the interner can
   * name, it forgets every id of that dimension: the next group writes the values of all the ids
   * its buckets use (an id it does not write is used by a bucket unchanged since, so still names
   * the value written before).
   */
  catchUp(interners: readonly Interner[]): void {
    interners.forEach((it, d) => {
      const bits = this.#bits[d] as Uint8Array;
      this.#since[d] = it.catchUp(
        this.#since[d] as number,
        (id) => {
          if (id >>> 3 < bits.length) (bits[id >>> 3] as number) &= ~(1 << (id & 7));
        },
        () => bits.fill(0),
      );
    });
  }

  /**
   * Per dimension, the ids whose values the next group writes, one bit an id (millions after a
   * backfill: a bit each, where a list of them took 4 bytes each and doubled), and how many.
   */
  #pending: Uint8Array[] = [];
  readonly counts: number[] = Array.from({ length: D }, () => 0);

  /** Forgets the ids the next group was to write (written, or a failed group's). */
  trim(): void {
    for (let d = 0; d < D; d++) {
      if (this.counts[d] !== 0) this.#pending[d]?.fill(0);
      this.counts[d] = 0;
    }
  }

  /** Notes that the next group writes id's value, unless it is known (and knows it from now on). */
  note(d: number, id: number): void {
    let bits = this.#bits[d] as Uint8Array;
    const i = id >>> 3;
    const bit = 1 << (id & 7);
    if (i < bits.length && ((bits[i] as number) & bit) !== 0) return;
    if (i >= bits.length)
      this.#bits[d] = bits = widened(bits, Math.max(i + 1, bits.length + (bits.length >>> 1)));
    let pending = this.#pending[d] ?? new Uint8Array(0);
    if (pending.length < bits.length) this.#pending[d] = pending = widened(pending, bits.length);
    (bits[i] as number) |= bit;
    (pending[i] as number) |= bit;
    this.counts[d] = (this.counts[d] as number) + 1;
  }

  /** The ids noted in dimension `d`, in increasing order: one a call, `counts[d]` calls. */
  pendingIds(d: number): () => number {
    const pending = this.#pending[d] ?? new Uint8Array(0);
    let id = -1;
    return () => {
      for (id++; ; id++) {
        if (id >>> 3 >= pending.length) throw new Error('journal: fewer ids noted than counted');
        const byte = pending[id >>> 3] as number;
        if (byte === 0) id |= 7;
        else if ((byte & (1 << (id & 7))) !== 0) return id;
      }
    };
  }
}

/** `a`'s bytes at the start of a new array `n` long. */
function widened(a: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(a);
  return out;
}

export interface StateKeeperOptions {
  /** Compact (write a full snapshot) when the journal outgrows max(this, the snapshot). Default 16 MiB. */
  journalMinBytes?: number;
}

/**
 * Keeps a store's state in `path` (+ `path.journal`): `restore()` at start, `checkpoint(meta)`
 * as often as wanted, `snapshot(meta)` at shutdown.
 */
export class StateKeeper {
  readonly path: string;
  readonly journalPath: string;
  readonly #store: Store;
  readonly #known = new KnownValues();
  readonly #minBytes: number;
  #snapshotBytes = 0;
  #journalBytes = 0;
  /** Set when the files on disk cannot be extended (none yet, a failed write): snapshot next. */
  #needSnapshot = true;

  constructor(store: Store, path: string, o: StateKeeperOptions = {}) {
    this.#store = store;
    this.path = path;
    this.journalPath = `${path}.journal`;
    this.#minBytes = o.journalMinBytes ?? 16 << 20;
  }

  /**
   * Reads the snapshot and its journal into the store (which must be empty); undefined when there
   * is no state file. Each bucket is read from the files when the store takes it (`openState`).
   * Throws when the files are unreadable: every check of them comes before the store takes
   * anything. A read that fails after (an I/O error, the files changed meanwhile) throws a
   * `PartialRestoreError`: the store then holds part of the state.
   */
  restore(): Restored | undefined {
    if (!existsSync(this.path)) return undefined;
    const fds: number[] = [];
    const open = (path: string) => {
      const fd = openSync(path, 'r');
      fds.push(fd);
      return { fd, size: fstatSync(fd).size };
    };
    try {
      const snapshot = open(this.path);
      const state = openState(snapshot.fd, snapshot.size, this.path);
      let groups = 0;
      let journalProblem: string | undefined;
      if (state.generation !== undefined && existsSync(this.journalPath)) {
        const journal = open(this.journalPath);
        const r = applyJournal(state, journal.fd, journal.size, this.journalPath);
        groups = r.groups;
        journalProblem = r.problem;
      }
      const meta = state.meta;
      try {
        this.#store.importState(state);
      } catch (e) {
        throw new PartialRestoreError(this.path, e);
      }
      return { meta, groups, ...(journalProblem ? { journalProblem } : {}) };
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  /** Writes a full snapshot with `meta` and starts a new, empty journal. */
  snapshot(meta: unknown): CheckpointResult {
    const generation = randomUUID();
    // The ids of the snapshot are the store's as exported: late lines are merged first, since
    // merging may free values the export would then write as ''.
    this.#store.flushLate();
    this.#known.reset(this.#store.interners);
    const bytes = saveState(this.#store, this.path, { generation, meta, sync: true });
    this.#store.clearChanges();
    this.#snapshotBytes = bytes;
    const header = Buffer.from(JSON.stringify({ generation }));
    const start = Buffer.alloc(12);
    start.write(MAGIC, 0, 'latin1');
    start.writeUInt32LE(header.length, 8);
    const tmp = `${this.journalPath}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeAll(fd, Buffer.concat([start, header]));
      closeSync(fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    renameSync(tmp, this.journalPath);
    this.#journalBytes = 12 + header.length;
    this.#needSnapshot = false;
    return { kind: 'snapshot', bytes };
  }

  /**
   * Saves what changed since the last checkpoint with `meta`: appended to the journal, or as a
   * full snapshot when the journal has grown past the snapshot's size (or a write failed).
   * Throws on failure; the next checkpoint then writes a full snapshot.
   */
  checkpoint(meta: unknown): CheckpointResult {
    if (this.#needSnapshot || this.#journalBytes > Math.max(this.#minBytes, this.#snapshotBytes)) {
      this.#needSnapshot = true;
      return this.snapshot(meta);
    }
    const view = this.#store.checkpointView();
    const it = this.#store.interners;
    const known = this.#known;
    known.catchUp(it);
    known.trim();
    // Values are known from here on as if the group were written: until it is, whole, any failure
    // (a write, a meta that will not serialize) makes the next checkpoint a snapshot.
    this.#needSnapshot = true;
    const buckets = [...view.fine, ...view.coarse];
    for (const b of [...buckets, view.live]) {
      const n = b.size * D;
      for (let i = 0; i < n; i++) known.note(i % D, b.ids[i] as number);
    }
    const header: GroupHeader = {
      liveStart: view.liveStart,
      ...(meta === undefined ? {} : { meta }),
      buckets: buckets.map(head),
      live: head(view.live),
    };
    const json = Buffer.from(JSON.stringify(header));
    let fd: number;
    try {
      fd = openSync(this.journalPath, 'r+');
    } catch (e) {
      // The journal is gone (or unreachable): the next checkpoint writes everything anew.
      this.#needSnapshot = true;
      throw e;
    }
    let length = 0;
    try {
      const before = fstatSync(fd).size;
      try {
        // The group is written in pieces after its length (known at the end) and closed by the
        // CRC-32 of what was written: nothing of its size is held in memory.
        let at = before + 4;
        let crc = 0;
        const put = (b: Uint8Array) => {
          writeAll(fd, b, at);
          at += b.length;
          crc = crc32(b, crc);
        };
        put(u32(json.length));
        put(json);
        for (let d = 0; d < D; d++)
          (it[d] as Interner).packIds(known.counts[d] as number, known.pendingIds(d), put);
        for (const b of [...buckets, view.live]) writeColumns(b, put);
        length = at - before - 4;
        known.trim();
        writeAll(fd, u32(crc), at);
        writeAll(fd, u32(length), before);
        fdatasyncSync(fd);
        this.#needSnapshot = false;
      } catch (e) {
        // A group cut short would end the journal there for every later one: take it back, and
        // write everything as a snapshot next time.
        this.#needSnapshot = true;
        try {
          ftruncateSync(fd, before);
        } catch {
          // the snapshot next time supersedes the journal anyway
        }
        throw e;
      }
    } finally {
      closeSync(fd);
    }
    const bytes = 12 + length;
    this.#journalBytes += bytes;
    return { kind: 'journal', bytes };
  }
}

function writeAll(fd: number, buf: Uint8Array, position?: number): void {
  let off = 0;
  while (off < buf.length) {
    off += writeSync(fd, buf, off, buf.length - off, position === undefined ? null : position + off);
  }
}

/**
 * Applies a journal's groups to a snapshot's state (in place), reading the journal in pieces: each
 * group is checked whole (its CRC-32, read through once), its values are read into a buffer of
 * their own, and only where its buckets' columns are is noted. The columns of the last version of
 * each bucket are read last, straight into their arrays: a journal near its compaction size (the
 * snapshot's) is never in memory whole beside the state made of it.
 */
function applyJournal(
  state: OpenState,
  fd: number,
  size: number,
  path: string,
): { groups: number; problem?: string } {
  const short = () => new Error(`${path}: the journal changed while it was read`);
  const read = fileReader(fd, short);
  const word = Buffer.alloc(4);
  const readU32 = (pos: number) => {
    read(pos, word);
    return word.readUInt32LE(0);
  };
  if (size < 12) return { groups: 0, problem: `${path}: not a journal` };
  const head = Buffer.alloc(12);
  read(0, head);
  if (head.toString('latin1', 0, 8) !== MAGIC) return { groups: 0, problem: `${path}: not a journal` };
  const hl = head.readUInt32LE(8);
  let generation: unknown;
  try {
    if (12 + hl > size) throw new Error('cut short');
    const hb = Buffer.alloc(hl);
    read(12, hb);
    generation = (JSON.parse(hb.toString('utf8')) as { generation?: unknown }).generation;
  } catch {
    return { groups: 0, problem: `${path}: damaged journal header` };
  }
  // A journal of another snapshot (a crash between a snapshot and its new journal) is stale.
  if (generation !== state.generation) return { groups: 0 };
  /** Where the last version of each bucket is: its header and the file position of its columns. */
  const fine = new Map<number, { h: BucketHeader; at: number }>();
  const coarse = new Map<number, { h: BucketHeader; at: number }>();
  let live: { h: BucketHeader; at: number } | undefined;
  let off = 12 + hl;
  let groups = 0;
  const logs = state.values.map(() => new ValueLog());
  /** The groups' values, read from the file (their own buffers: `allocUnsafeSlow`). */
  const sections: Buffer[] = [];
  /** The CRC-32 pass's reads, one buffer for every group. */
  const piece = new Uint8Array(Math.min(size, 1 << 20));
  while (off < size) {
    if (off + 8 > size) return finish(`a checkpoint cut short at byte ${off}`);
    const n = readU32(off);
    if (off + 8 + n > size) return finish(`a checkpoint cut short at byte ${off}`);
    let crc: number;
    try {
      crc = crc32Of(read, off + 4, off + 4 + n, piece);
    } catch {
      // Shorter than its size said when read (the file changed meanwhile): as a group cut short.
      return finish(`a checkpoint cut short at byte ${off}`);
    }
    if (crc !== readU32(off + 4 + n)) return finish(`a damaged checkpoint at byte ${off}`);
    let applied: string | undefined;
    try {
      applied = applyGroup(off + 4, n);
    } catch (e) {
      applied = `an unreadable checkpoint (${(e as Error).message})`;
    }
    if (applied) return finish(`${applied} at byte ${off}`);
    off += 8 + n;
    groups++;
  }
  return finish(undefined);

  function finish(problem: string | undefined) {
    // The values the groups wrote over the snapshot's, the later of an id's winning.
    state.values = state.values.map((p, d) =>
      withValues(p, logs[d] as ValueLog, () => new Error(`${path}: the snapshot's values are cut short`)),
    );
    // Copied into the values: their memory is given back now (tens of MB for a checkpoint at caps).
    for (const log of logs) log.release();
    for (const v of sections) detach(v);
    detach(piece);
    const pending = ({ h, at }: { h: BucketHeader; at: number }) => pendingBucket(read, at, h, state.scratch);
    // The last version of each bucket: the journal's (read when the store takes it), else the snapshot's.
    const merge = (list: OpenState['fine'], last: Map<number, { h: BucketHeader; at: number }>) => {
      const byStart = new Map(list.map((b) => [b.start, b]));
      for (const [start, where] of last) byStart.set(start, pending(where));
      return [...byStart.values()].sort((a, b) => a.start - b.start);
    };
    state.fine = merge(state.fine, fine);
    state.coarse = merge(state.coarse, coarse);
    if (live) {
      // The snapshot's live minute (read into arrays of its own) is replaced: given back now.
      detachBucket(state.live);
      state.live = pending(live).read(true);
    }
    return problem === undefined
      ? { groups }
      : { groups, problem: `${path}: ${problem}; restored up to the checkpoint before` };
  }

  /**
   * Reads the group whose payload of `n` bytes is at `at` (its CRC-32 checked), then applies it: a
   * group that does not hold together (which its CRC-32 cannot tell: a zero-filled tail left by
   * a crash of the machine is a valid empty frame) is refused with nothing of it applied.
   */
  function applyGroup(at: number, n: number): string | undefined {
    const wrong = 'a checkpoint of the wrong size';
    if (n < 4) return wrong;
    const jl = readU32(at);
    if (4 + jl > n) return wrong;
    let h: GroupHeader;
    try {
      const hb = Buffer.alloc(jl);
      read(at + 4, hb);
      h = JSON.parse(hb.toString('utf8')) as GroupHeader;
    } catch {
      return 'an unreadable checkpoint header';
    }
    const max = n / ENTRY_BYTES;
    const isBucket = (b: unknown): b is BucketHeader =>
      isBucketHeader(b, max) && (b.span === 60 || b.span === 300);
    const isId = (id: unknown): id is number =>
      Number.isInteger(id) && (id as number) >= 0 && (id as number) < MAX_ID;
    if (
      typeof h !== 'object' ||
      h === null ||
      !Number.isFinite(h.liveStart) ||
      !Array.isArray(h.buckets) ||
      !h.buckets.every(isBucket) ||
      !isBucketHeader(h.live, max) ||
      (h.values !== undefined &&
        !(
          Array.isArray(h.values) &&
          h.values.every((l) => Array.isArray(l) && l.every((x) => Array.isArray(x) && isId(x[0])))
        ))
    )
      return 'an unreadable checkpoint header';
    // The columns end the payload; the values are what lies between them and the header.
    const all = [...h.buckets, h.live];
    const columns = all.reduce((s, b) => s + b.size, 0) * ENTRY_BYTES;
    const valuesLength = n - 4 - jl - columns;
    if (valuesLength < 0) return wrong;
    // The values are logged where their bytes are (no object each) as they are checked; a group
    // that turns out wrong takes its own back.
    const marks = logs.map((l) => l.size);
    const refuse = () => {
      for (let d = 0; d < logs.length; d++) logs[d]?.truncate(marks[d] as number);
      return wrong;
    };
    if (h.values) {
      if (valuesLength !== 0) return wrong;
      // Written before the values followed the header: their texts, encoded into one buffer.
      const list = h.values.flatMap((l, d) => l.map(([id, v]) => ({ d, id, b: encodeLine(String(v)) })));
      const cat = Buffer.concat(list.map((x) => x.b));
      let o = 0;
      for (const x of list) {
        const log = logs[x.d];
        log?.add(x.id, log.source(cat), o, x.b.length);
        o += x.b.length;
      }
    } else {
      const v = Buffer.allocUnsafeSlow(valuesLength);
      sections.push(v);
      read(at + 4 + jl, v);
      let p = 0;
      for (let d = 0; d < D; d++) {
        if (p + 4 > v.length) return refuse();
        const count = v.readUInt32LE(p);
        p += 4;
        const log = logs[d] as ValueLog;
        const src = log.source(v);
        for (let i = 0; i < count; i++) {
          if (p + 8 > v.length) return refuse();
          const id = v.readUInt32LE(p);
          const len = v.readUInt32LE(p + 4);
          p += 8;
          if (id >= MAX_ID || p + len > v.length) return refuse();
          log.add(id, src, p, len);
          p += len;
        }
      }
      if (p !== v.length) return refuse();
    }
    let c = at + n - columns;
    for (const b of h.buckets) {
      (b.span === 60 ? fine : coarse).set(b.start, { h: b, at: c });
      c += b.size * ENTRY_BYTES;
    }
    live = { h: h.live, at: c };
    state.liveStart = h.liveStart;
    if (h.meta !== undefined) state.meta = h.meta;
    return undefined;
  }
}
