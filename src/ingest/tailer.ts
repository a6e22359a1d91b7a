/**
 * Follows log files by path, like `tail -F`, and survives every logrotate style.
 *
 * How it works:
 * - Each pattern (a path or a glob) is resolved to files; their DIRECTORIES are watched with
 *   `fs.watch` (one watch per distinct directory, never the files). Every event is only a hint:
 *   the named path is re-`stat`ed and its (dev, ino) compared with the open descriptor; the
 *   descriptor is read to EOF, and when nothing is left its size is compared with our offset. A
 *   periodic poll (`pollIntervalMs`) does the same for every file, re-scans the globs and
 *   re-identifies the watched directories, for events inotify dropped or never sends (NFS).
 * - Noticing a rotation never waits for reading: each open file is read on its own queue, so a
 *   large backlog in the old file does not delay opening the new one.
 * - Files that exist at start-up are read from their end (`startAt: 'beginning'` changes that);
 *   files that appear later are read from their start. Starting at the end of a file whose last
 *   line is incomplete skips the rest of that line.
 * - Rotation by rename or remove (the path is gone, or names another inode): the old descriptor
 *   is kept open and read to EOF on every event in its directory and every poll, until no byte has
 *   arrived for `drainGraceMs` (nginx keeps writing to it until it gets SIGUSR1); then it is read
 *   to EOF one last time and closed. Meanwhile the path is retried with exponential backoff
 *   (`reopenBackoff`) and on every directory event; the new file is read from its start.
 * - copytruncate (the file is smaller than our offset): what was still unread is read from the
 *   copy (the newest file of the directory named after it, at least our offset long and with the
 *   same first bytes), then reading restarts at 0.
 * - Partial last line: held until its newline arrives. It is NOT delivered when its file ends for
 *   us (old file closed after rotation, truncation): it is dropped, counted in `partialDropped` and
 *   reported (`partial-dropped`). So every delivered line is a complete, newline-terminated line
 *   of the file; a line a crashed writer never finished is visible only in those counters.
 * - A file renamed into a name the patterns also match keeps its descriptor and offset (found by
 *   inode): it is not read twice. Two matching names of one inode (hard links) are read once.
 * - Problems (a glob matching nothing yet, a missing directory, a directory or file without
 *   permission) are reported once through `onEvent` and retried; nothing throws after `start()`.
 *   An exception thrown by `onLines` or `onEvent` is reported as an `error` event and tailing
 *   goes on.
 * - Reads are positional (`FileHandle.read` at our offset) into a small shared pool of buffers
 *   (`readConcurrency` × `readChunkBytes`), so memory does not grow with the number of files.
 *
 * The guarantees per rotation style are listed on {@link createTailer}.
 * @module
 */
import type { BigIntStats } from 'node:fs';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from './backoff.ts';
import { BufferPool } from './buffer-pool.ts';
import { DirWatchers } from './dir-watchers.ts';
import type { LineBatch } from './line-batch.ts';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from './line-splitter.ts';
import {
  compilePattern,
  type GlobPattern,
  globFiles,
  globWatchDirs,
  type LiteralPattern,
} from './patterns.ts';

/** Options of {@link createTailer}. */
export interface TailerOptions {
  /** Paths or globs; relative ones are resolved against `cwd`. */
  patterns: readonly string[];
  /**
   * Receives the complete lines of one read (a batch over the read buffer, valid only during the
   * call), in file order, with the path they came from.
   */
  onLines(batch: LineBatch, file: string): void;
  /** Rotation, truncation, new files, problems: for logs and metrics. */
  onEvent?(event: TailEvent): void;
  /** Longest line kept, without its `\n`; longer lines are counted and skipped. Default 64 KiB. */
  maxLineBytes?: number;
  /** Safety-net poll of every file, glob and directory. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Delay between attempts to reopen a missing path or watch a missing directory. Default 100 ms → 5 s. */
  reopenBackoff?: BackoffOptions;
  /** A rotated-away file is closed once no byte has arrived for this long. Default 5000 ms. */
  drainGraceMs?: number;
  /** Bytes per read. Default 256 KiB. */
  readChunkBytes?: number;
  /** Reads in flight at once (and buffers allocated), across all files. Default 4. */
  readConcurrency?: number;
  /** Where to start in files that exist at start-up. Default `'end'`. */
  startAt?: 'end' | 'beginning';
  /** Directory for relative patterns. Default `process.cwd()`. */
  cwd?: string;
  /**
   * Where a previous run stopped (its `positions()`): a file found again (same device, inode and
   * first bytes) is read on from its saved offset, under whatever matching name it has now, or
   * found among the other files of its directory when it was rotated away (read to its end,
   * then closed). A path the positions name whose file is new is read from its start;
   * `startAt` applies only to files the positions do not know.
   */
  resume?: readonly FilePosition[];
}

/**
 * How far a file was read: the end of the last line delivered, with the file's identity (device
 * and inode as decimal strings, and a CRC-32 of its first `fpLen` bytes, so a reused inode is
 * not mistaken for the file).
 */
export interface FilePosition {
  path: string;
  dev: string;
  ino: string;
  offset: number;
  fpLen: number;
  fp: number;
}

/** Bytes of a file's start that identify it (with its inode). */
export const FINGERPRINT_BYTES = 1024;

/** The position `offset` in a file, identified by device, inode and `head` (its first bytes, up to FINGERPRINT_BYTES). */
export function filePosition(
  path: string,
  dev: bigint,
  ino: bigint,
  offset: number,
  head: Uint8Array,
): FilePosition {
  const fpLen = Math.min(head.length, FINGERPRINT_BYTES);
  return { path, dev: String(dev), ino: String(ino), offset, fpLen, fp: crc32(head.subarray(0, fpLen)) };
}

/**
 * Whether a saved position still holds for the file now there with that inode: `shrank` (it is
 * shorter than the offset), `replaced` (its first bytes differ: the inode was reused) or `ok`.
 */
export function verifyPosition(
  p: FilePosition,
  head: Uint8Array,
  headLen: number,
  size: number,
): 'ok' | 'replaced' | 'shrank' {
  if (size < p.offset) return 'shrank';
  if (headLen < p.fpLen || crc32(head.subarray(0, p.fpLen)) !== p.fp) return 'replaced';
  return 'ok';
}

/** What {@link TailerOptions.onEvent} receives. `inode` is informational (may round above 2^53). */
export type TailEvent =
  | {
      type: 'opened';
      path: string;
      inode: number;
      offset: number;
      /** startup: existed at start-up; new: appeared later; rotated: replaced the file we read; reopened: came back after being missing. */
      reason: 'startup' | 'new' | 'rotated' | 'reopened';
    }
  | { type: 'rotated'; path: string; inode: number; how: 'replaced' | 'gone' }
  | { type: 'renamed'; from: string; to: string; inode: number }
  | {
      type: 'truncated';
      path: string;
      inode: number;
      offset: number;
      size: number;
      /** The copy (copytruncate) the unread rest was read from, and how many bytes that was. */
      copy?: string;
      fromCopy?: number;
    }
  | { type: 'closed'; path: string; inode: number; offset: number }
  | { type: 'partial-dropped'; path: string; inode: number; bytes: number }
  | { type: 'resumed'; path: string; inode: number; offset: number; rotated: boolean }
  | {
      type: 'resume-lost';
      path: string;
      inode: string;
      offset: number;
      /** 'gone': not found; 'shrank': shorter than the offset; 'replaced': same inode, other content. */
      reason: 'gone' | 'shrank' | 'replaced';
      /** For 'shrank': its size now. */
      size?: number;
    }
  | { type: 'overlong'; path: string; count: number; maxLineBytes: number }
  | { type: 'missing'; path: string }
  | { type: 'no-match'; pattern: string }
  | { type: 'dir-problem'; dir: string; code: string; message: string }
  | { type: 'dir-watched'; dir: string; recovered: boolean }
  | { type: 'error'; path: string; code: string; message: string };

/** Per-path counters (they survive rotations of that path). */
export interface TailFileStats {
  path: string;
  /**
   * open: reading the file at `path`; missing: nothing at `path` (rotated-away files may still be
   * read, see `retired`); alias: `path` is another name of a file read under another path.
   */
  state: 'open' | 'missing' | 'alias';
  /** Read offset in the current file (bytes consumed, including a held partial line). */
  offset: number;
  /** Inode of the current file, or null. */
  inode: number | null;
  linesRead: number;
  bytesRead: number;
  overLong: number;
  /** Bytes of the current partial line, waiting for its newline. */
  partialBytes: number;
  partialDropped: number;
  rotations: number;
  truncations: number;
  /** Rotated-away files of this path still open and read. */
  retired: number;
}

/** Totals over the tailer's life (they include files no longer tracked). */
export interface TailTotals {
  files: number;
  watchedDirs: number;
  linesRead: number;
  bytesRead: number;
  overLong: number;
  partialDropped: number;
  rotations: number;
  truncations: number;
  errors: number;
}

/** Snapshot returned by {@link Tailer.stats}. */
export interface TailStats {
  files: TailFileStats[];
  totals: TailTotals;
}

/** A running tailer. */
export interface Tailer {
  /** Resolves the patterns, opens the files that exist (at their end) and starts watching. */
  start(): Promise<void>;
  /** Stops watching and polling, waits for reads in flight, closes every descriptor. */
  stop(): Promise<void>;
  stats(): TailStats;
  /** Every open file's position (the end of its last delivered line), for `resume`. */
  positions(): FilePosition[];
}

interface Counters {
  linesRead: number;
  bytesRead: number;
  overLong: number;
  partialDropped: number;
  rotations: number;
  truncations: number;
}

interface Reader {
  path: string;
  dir: string;
  fh: FileHandle;
  dev: bigint;
  ino: bigint;
  offset: number;
  /** The file's first bytes (up to FINGERPRINT_BYTES), as far as known. */
  head: Buffer;
  headLen: number;
  splitter: LineSplitter;
  counters: Counters;
  lastDataAt: number;
  retired: boolean;
  closing: boolean;
  closed: boolean;
  queued: Promise<number> | null;
  tail: Promise<unknown>;
}

interface Entry {
  path: string;
  dir: string;
  literal: boolean;
  cur: Reader | null;
  /** Found at start-up: open at the end. */
  initial: boolean;
  everOpened: boolean;
  missingReported: boolean;
  errorCode: string | null;
  alias: boolean;
  backoff: Backoff;
  timer: NodeJS.Timeout | null;
  queued: Promise<void> | null;
  tail: Promise<unknown>;
  counters: Counters;
}

const noop = (): void => {};

function newCounters(): Counters {
  return { linesRead: 0, bytesRead: 0, overLong: 0, partialDropped: 0, rotations: 0, truncations: 0 };
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class TailerImpl implements Tailer {
  readonly #opts: TailerOptions;
  readonly #literals: LiteralPattern[] = [];
  readonly #globs: (GlobPattern & { noMatchReported: boolean })[] = [];
  readonly #entries = new Map<string, Entry>();
  readonly #retired = new Set<Reader>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #pool: BufferPool;
  readonly #watchers: DirWatchers;
  readonly #grace: number;
  readonly #maxLine: number;
  readonly #backoff: BackoffOptions;
  readonly #totals: TailTotals = {
    files: 0,
    watchedDirs: 0,
    linesRead: 0,
    bytesRead: 0,
    overLong: 0,
    partialDropped: 0,
    rotations: 0,
    truncations: 0,
    errors: 0,
  };
  #state: 'new' | 'running' | 'stopping' = 'new';
  #stopped: Promise<void> | null = null;
  #poll: NodeJS.Timeout | null = null;
  #rescanning: Promise<void> | null = null;
  #rescanAgain = false;

  constructor(opts: TailerOptions) {
    this.#opts = opts;
    this.#grace = opts.drainGraceMs ?? 5000;
    this.#maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#backoff = opts.reopenBackoff ?? DEFAULT_BACKOFF;
    new Backoff(this.#backoff); // validates
    new LineSplitter({ maxLineBytes: this.#maxLine }); // validates
    this.#pool = new BufferPool(opts.readConcurrency ?? 4, opts.readChunkBytes ?? 256 * 1024);
    for (const p of opts.resume ?? []) {
      this.#saved.set(`${p.dev}:${p.ino}`, p);
      this.#resumePaths.add(p.path);
    }
    const cwd = opts.cwd ?? process.cwd();
    const seen = new Set<string>();
    for (const source of opts.patterns) {
      const p = compilePattern(source, cwd);
      const key = p.kind === 'literal' ? p.path : p.pattern;
      if (seen.has(key)) continue;
      seen.add(key);
      if (p.kind === 'literal') this.#literals.push(p);
      else this.#globs.push({ ...p, noMatchReported: false });
    }
    this.#watchers = new DirWatchers(
      {
        onChange: (dir, type, name) => this.#onChange(dir, type, name),
        onWatched: (dir, recovered) => {
          if (recovered) this.#emit({ type: 'dir-watched', dir, recovered });
          if (this.#state === 'running') {
            void this.#rescan(false);
            // A literal path in a directory that just appeared.
            for (const e of this.#entries.values()) if (e.dir === dir && !e.cur) this.#kick(e);
          }
        },
        onProblem: (dir, code, message) => this.#emit({ type: 'dir-problem', dir, code, message }),
      },
      this.#backoff,
    );
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('tailer already started');
    this.#state = 'running';
    for (const p of this.#literals) this.#entries.set(p.path, this.#newEntry(p.path, true, true));
    // Watch the directories we know before listing, so a file created meanwhile is not missed.
    this.#watchers.want(this.#staticDirs());
    await this.#rescan(true);
    await Promise.all([...this.#entries.values()].map((e) => this.#schedule(e)));
    await this.#resumeRotated();
    const every = this.#opts.pollIntervalMs ?? 1000;
    if (this.#state === 'running') this.#poll = setInterval(() => this.#tick(), every);
  }

  stop(): Promise<void> {
    if (this.#stopped) return this.#stopped;
    this.#stopped = this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    if (this.#poll) clearInterval(this.#poll);
    this.#watchers.close();
    for (const e of this.#entries.values()) this.#clearTimer(e);
    for (let round = 0; round < 100 && this.#inflight.size > 0; round++) {
      await Promise.allSettled([...this.#inflight]);
    }
    const readers = [...this.#retired];
    for (const e of this.#entries.values()) if (e.cur) readers.push(e.cur);
    await Promise.allSettled(
      readers.map(async (r) => {
        await r.tail;
        if (r.closed) return;
        r.closed = true;
        await r.fh.close();
      }),
    );
  }

  stats(): TailStats {
    const files: TailFileStats[] = [];
    const retiredBy = new Map<Counters, number>();
    for (const r of this.#retired) retiredBy.set(r.counters, (retiredBy.get(r.counters) ?? 0) + 1);
    for (const e of this.#entries.values()) {
      const r = e.cur;
      files.push({
        path: e.path,
        state: e.alias ? 'alias' : r ? 'open' : 'missing',
        offset: r ? r.offset : 0,
        inode: r ? Number(r.ino) : null,
        ...e.counters,
        partialBytes: r ? r.splitter.partialBytes : 0,
        retired: retiredBy.get(e.counters) ?? 0,
      });
    }
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return {
      files,
      totals: { ...this.#totals, files: this.#entries.size, watchedDirs: this.#watchers.watching },
    };
  }

  positions(): FilePosition[] {
    const out: FilePosition[] = [];
    const seen = new Set<Reader>();
    const add = (r: Reader) => {
      if (seen.has(r)) return;
      seen.add(r);
      // The end of the last line delivered: a held partial line is read again.
      out.push(
        filePosition(r.path, r.dev, r.ino, r.offset - r.splitter.partialBytes, r.head.subarray(0, r.headLen)),
      );
    };
    for (const e of this.#entries.values()) if (e.cur) add(e.cur);
    for (const r of this.#retired) add(r);
    return out;
  }

  // ---- resuming --------------------------------------------------------------------------------

  /** Saved positions not yet matched to a file, by "dev:ino". */
  readonly #saved = new Map<string, FilePosition>();
  /** Paths the saved positions name (a file now there that they do not know is new). */
  readonly #resumePaths = new Set<string>();

  #takeSaved(dev: bigint, ino: bigint): FilePosition | undefined {
    const key = `${dev}:${ino}`;
    const p = this.#saved.get(key);
    if (p) this.#saved.delete(key);
    return p;
  }

  #lost(p: FilePosition, reason: 'gone' | 'shrank' | 'replaced', size: number) {
    return {
      path: p.path,
      inode: p.ino,
      offset: p.offset,
      reason,
      ...(reason === 'shrank' ? { size } : {}),
    };
  }

  /**
   * Saved files no current name leads to: look for each among the files of its directory (a
   * rotated name) and read it on from its offset as a rotated-away file; report those not found.
   */
  async #resumeRotated(): Promise<void> {
    const byDir = new Map<string, FilePosition[]>();
    for (const p of this.#saved.values()) {
      const dir = dirname(p.path);
      byDir.set(dir, [...(byDir.get(dir) ?? []), p]);
    }
    for (const [dir, list] of byDir) {
      let names: string[] = [];
      try {
        names = await readdir(dir);
      } catch {
        // the directory is gone: every file in it is lost
      }
      for (const name of names) {
        if (list.length === 0) break;
        const full = join(dir, name);
        let st: BigIntStats;
        try {
          st = await stat(full, { bigint: true });
        } catch {
          continue;
        }
        if (!st.isFile()) continue;
        const i = list.findIndex((p) => p.dev === String(st.dev) && p.ino === String(st.ino));
        if (i < 0) continue;
        const p = list[i] as FilePosition;
        list.splice(i, 1);
        this.#saved.delete(`${p.dev}:${p.ino}`);
        await this.#openRotated(p, full);
      }
      for (const p of list) {
        this.#saved.delete(`${p.dev}:${p.ino}`);
        this.#emit({ type: 'resume-lost', ...this.#lost(p, 'gone', 0) });
      }
    }
  }

  async #openRotated(p: FilePosition, full: string): Promise<void> {
    let fh: FileHandle;
    let fst: BigIntStats;
    try {
      fh = await open(full, 'r');
      fst = await fh.stat({ bigint: true });
    } catch (err) {
      this.#error(full, err);
      this.#emit({ type: 'resume-lost', ...this.#lost(p, 'gone', 0) });
      return;
    }
    const head = Buffer.alloc(FINGERPRINT_BYTES);
    const headLen = await this.#readHead(fh, head, full);
    const verdict = verifyPosition(p, head, headLen, Number(fst.size));
    if (verdict !== 'ok' || this.#holderOf(fst.dev, fst.ino)) {
      await fh.close().catch(noop);
      if (verdict !== 'ok') this.#emit({ type: 'resume-lost', ...this.#lost(p, verdict, Number(fst.size)) });
      return;
    }
    const entry = this.#entries.get(p.path);
    // Read under the name it had (its lines are that log's), as a file rotated away.
    const r = this.#reader(p.path, fh, fst, p.offset, head, headLen, entry?.counters ?? newCounters());
    r.retired = true;
    this.#retired.add(r);
    this.#emit({ type: 'resumed', path: p.path, inode: Number(fst.ino), offset: p.offset, rotated: true });
    // Saved in the middle of an over-long line being skipped: skip the rest of it.
    if (p.offset > 0) void this.#enqueue(r, () => this.#alignToLine(r));
    void this.#drain(r);
  }

  /** A reader of the open file `fh` (whose stat is `st`) under `path`, at `offset`. */
  #reader(
    path: string,
    fh: FileHandle,
    st: BigIntStats,
    offset: number,
    head: Buffer,
    headLen: number,
    counters: Counters,
  ): Reader {
    return {
      path,
      dir: dirname(path),
      fh,
      dev: st.dev,
      ino: st.ino,
      offset,
      head,
      headLen,
      splitter: new LineSplitter({ maxLineBytes: this.#maxLine }),
      counters,
      lastDataAt: Date.now(),
      retired: false,
      closing: false,
      closed: false,
      queued: null,
      tail: Promise.resolve(),
    };
  }

  /** Reads the file's first bytes (its fingerprint) into `head`; returns how many there are. */
  async #readHead(fh: FileHandle, head: Buffer, path: string): Promise<number> {
    try {
      return (await fh.read(head, 0, FINGERPRINT_BYTES, 0)).bytesRead;
    } catch (err) {
      this.#error(path, err);
      return 0;
    }
  }

  // ---- scheduling ------------------------------------------------------------------------------

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
    return p;
  }

  /** Runs the entry's check after any running one; calls made while one waits share it. */
  #schedule(e: Entry): Promise<void> {
    if (e.queued) return e.queued;
    const p = e.tail
      .then(() => {
        e.queued = null;
        return this.#service(e);
      })
      .catch((err: unknown) => this.#error(e.path, err));
    e.queued = p;
    e.tail = p;
    return this.#track(p);
  }

  /** An event or poll for `e`: check now, cancelling a pending backoff retry. */
  #kick(e: Entry): void {
    this.#clearTimer(e);
    void this.#schedule(e);
  }

  #enqueue<T>(r: Reader, job: () => Promise<T>): Promise<T> {
    const p = r.tail.then(job);
    r.tail = p.catch(noop);
    return this.#track(p);
  }

  /** Reads `r` to EOF after any job already queued on it; concurrent calls share one pending read. */
  #drain(r: Reader): Promise<number> {
    if (r.queued) return r.queued;
    const p = r.tail.then(() => {
      r.queued = null;
      return this.#readToEof(r);
    });
    r.queued = p;
    r.tail = p.catch(noop);
    return this.#track(p);
  }

  #retryLater(e: Entry): void {
    if (e.timer || this.#state !== 'running') return;
    e.timer = setTimeout(() => {
      e.timer = null;
      void this.#schedule(e);
    }, e.backoff.next());
  }

  #clearTimer(e: Entry): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
  }

  #tick(): void {
    if (this.#state !== 'running') return;
    // Entries waiting out a reopen backoff are left to their timer; the others are checked now.
    for (const e of this.#entries.values()) if (!e.timer || e.cur || e.alias) void this.#schedule(e);
    this.#maintainRetired(null);
    void this.#track(this.#watchers.verify());
    void this.#rescan(false);
  }

  #onChange(dir: string, type: string, name: string | null): void {
    if (this.#state !== 'running') return;
    if (name === null) {
      for (const e of this.#entries.values()) if (e.dir === dir) this.#kick(e);
      void this.#rescan(false);
    } else {
      const full = join(dir, name);
      const e = this.#entries.get(full);
      if (e) {
        this.#kick(e);
      } else if (this.#globs.some((g) => g.match(full))) {
        const ne = this.#newEntry(full, false, false);
        this.#entries.set(full, ne);
        void this.#schedule(ne);
      } else if (type === 'rename' && this.#globs.length > 0) {
        void this.#rescan(false);
      }
    }
    // Files rotated away keep changing under names we do not track.
    this.#maintainRetired(dir);
  }

  // ---- discovery -------------------------------------------------------------------------------

  #staticDirs(): Set<string> {
    const dirs = new Set<string>();
    for (const p of this.#literals) dirs.add(p.dir);
    for (const g of this.#globs) dirs.add(g.base);
    return dirs;
  }

  #rescan(initial: boolean): Promise<void> {
    if (this.#rescanning) {
      this.#rescanAgain = true;
      return this.#rescanning;
    }
    const run = async (): Promise<void> => {
      try {
        let first = initial;
        do {
          this.#rescanAgain = false;
          await this.#rescanOnce(first);
          first = false;
        } while (this.#rescanAgain && this.#state === 'running');
      } finally {
        this.#rescanning = null;
      }
    };
    this.#rescanning = this.#track(run());
    return this.#rescanning;
  }

  async #rescanOnce(initial: boolean): Promise<void> {
    const dirs = this.#staticDirs();
    const results = await Promise.all(
      this.#globs.map(async (g) => {
        try {
          const [files, watch] = await Promise.all([globFiles(g), globWatchDirs(g)]);
          return { g, files, watch };
        } catch (err) {
          this.#error(g.source, err);
          return { g, files: [] as string[], watch: [g.base] };
        }
      }),
    );
    if (this.#state !== 'running') return;
    for (const { g, files, watch } of results) {
      for (const d of watch) dirs.add(d);
      if (files.length === 0) {
        if (!g.noMatchReported) this.#emit({ type: 'no-match', pattern: g.source });
        g.noMatchReported = true;
      } else {
        g.noMatchReported = false;
      }
      for (const f of files) {
        if (this.#entries.has(f)) continue;
        const e = this.#newEntry(f, false, initial);
        this.#entries.set(f, e);
        if (!initial) void this.#schedule(e);
      }
    }
    this.#watchers.want(dirs);
  }

  #newEntry(path: string, literal: boolean, initial: boolean): Entry {
    return {
      path,
      dir: dirname(path),
      literal,
      cur: null,
      initial,
      everOpened: false,
      missingReported: false,
      errorCode: null,
      alias: false,
      backoff: new Backoff(this.#backoff),
      timer: null,
      queued: null,
      tail: Promise.resolve(),
      counters: newCounters(),
    };
  }

  // ---- the per-path state machine --------------------------------------------------------------

  #live(e: Entry): boolean {
    return this.#state !== 'stopping' && this.#entries.get(e.path) === e;
  }

  /**
   * Compares what `e.path` names now with the file we read, and acts on the difference. It only
   * stats and opens: reading happens on each reader's own queue and is never awaited here, so a
   * long backlog in the old file cannot delay noticing the next rotation (a short-lived file at the
   * path would be missed).
   */
  async #service(e: Entry): Promise<void> {
    if (!this.#live(e)) return;
    let st: BigIntStats | null = null;
    let code = '';
    try {
      st = await stat(e.path, { bigint: true });
      if (!st.isFile()) {
        code = st.isDirectory() ? 'EISDIR' : 'ENOTFILE';
        st = null;
      }
    } catch (err) {
      code = errCode(err);
    }
    if (!this.#live(e)) return;
    if (st === null) {
      this.#gone(e, code);
      return;
    }
    const cur = e.cur;
    if (cur && st.dev === cur.dev && st.ino === cur.ino) {
      this.#settled(e);
      void this.#drain(cur); // notices a truncation itself (fstat when nothing is left to read)
      return;
    }
    const holder = this.#holderOf(st.dev, st.ino);
    if (holder) {
      this.#adopt(e, holder);
      return;
    }
    await this.#open(e, cur);
  }

  /** `e.path` cannot be opened (`code`): retire the file we read (renamed or removed), report, retry. */
  #gone(e: Entry, code: string): void {
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const cur = e.cur;
      if (cur) {
        e.cur = null;
        e.missingReported = true; // the rotation is the news, not the gap before the new file
        this.#retire(e, cur, 'gone');
      }
      e.initial = false;
      if (!e.literal) {
        // A glob match that went away: forget the name; the glob finds it again if it comes back,
        // and the inode (still read while retired) is recognised if it is renamed back.
        this.#clearTimer(e);
        this.#entries.delete(e.path);
        return;
      }
      if (!e.missingReported) {
        e.missingReported = true;
        this.#emit({ type: 'missing', path: e.path });
      }
    } else if (code === 'EISDIR' && !e.literal) {
      this.#clearTimer(e);
      this.#entries.delete(e.path);
      return;
    } else if (e.errorCode !== code) {
      e.errorCode = code;
      this.#totals.errors++;
      this.#emit({ type: 'error', path: e.path, code, message: `cannot open ${e.path}: ${code}` });
    }
    this.#retryLater(e);
  }

  /** The path names the file we read: clear every problem state. */
  #settled(e: Entry): void {
    e.missingReported = false;
    e.errorCode = null;
    e.alias = false;
    e.backoff.reset();
    this.#clearTimer(e);
  }

  /** An open reader (current or retired) of this inode, if any. */
  #holderOf(dev: bigint, ino: bigint): Reader | null {
    for (const e of this.#entries.values()) {
      const r = e.cur;
      if (r && !r.closing && r.dev === dev && r.ino === ino) return r;
    }
    for (const r of this.#retired) if (!r.closing && r.dev === dev && r.ino === ino) return r;
    return null;
  }

  #ownerOf(r: Reader): Entry | null {
    for (const e of this.#entries.values()) if (e.cur === r) return e;
    return null;
  }

  /**
   * `e.path` names a file another reader already has open. A retired reader (its file was renamed
   * here, or renamed back) is taken over with its offset. A reader that is still some entry's
   * current file is a hard link, or its entry has not noticed the rename yet: ask that entry to
   * check, and look again later (it kicks us when it retires the file).
   */
  #adopt(e: Entry, holder: Reader): void {
    const owner = this.#ownerOf(holder);
    if (owner) {
      e.alias = true;
      this.#kick(owner);
      this.#retryLater(e);
      return;
    }
    this.#retired.delete(holder);
    holder.retired = false;
    const from = holder.path;
    holder.path = e.path;
    holder.dir = e.dir;
    holder.counters = e.counters;
    const prev = e.cur;
    e.cur = holder;
    e.initial = false;
    e.everOpened = true;
    this.#settled(e);
    this.#emit({ type: 'renamed', from, to: e.path, inode: Number(holder.ino) });
    if (prev) this.#retire(e, prev, 'replaced');
    void this.#drain(holder);
  }

  async #open(e: Entry, expected: Reader | null): Promise<void> {
    let fh: FileHandle;
    let fst: BigIntStats;
    try {
      fh = await open(e.path, 'r');
    } catch (err) {
      if (this.#live(e)) this.#gone(e, errCode(err));
      return;
    }
    try {
      fst = await fh.stat({ bigint: true });
    } catch (err) {
      await fh.close().catch(noop);
      if (this.#live(e)) this.#gone(e, errCode(err));
      return;
    }
    if (!this.#live(e) || e.cur !== expected || !fst.isFile()) {
      await fh.close().catch(noop);
      if (this.#live(e)) void this.#schedule(e);
      return;
    }
    const holder = this.#holderOf(fst.dev, fst.ino);
    if (holder) {
      await fh.close().catch(noop);
      if (this.#live(e)) this.#adopt(e, holder);
      return;
    }
    // Two names of one file opened at once (hard links): the first to get here reads it (and
    // takes its saved position); the other waits for its reader and shares it.
    const key = `${fst.dev}:${fst.ino}`;
    const opening = this.#opening.get(key);
    if (opening) {
      await fh.close().catch(noop);
      await opening;
      if (!this.#live(e)) return;
      const h = this.#holderOf(fst.dev, fst.ino);
      if (h) this.#adopt(e, h);
      else void this.#schedule(e);
      return;
    }
    let opened = noop;
    this.#opening.set(
      key,
      new Promise<void>((r) => {
        opened = r;
      }),
    );
    try {
      await this.#openReader(e, expected, fh, fst);
    } finally {
      this.#opening.delete(key);
      opened();
    }
  }

  /** Files being opened, by "dev:ino" (see `#open`). */
  readonly #opening = new Map<string, Promise<void>>();

  /** Opens the reader of a file no reader holds: where to start, then reading. */
  async #openReader(e: Entry, expected: Reader | null, fh: FileHandle, fst: BigIntStats): Promise<void> {
    const head = Buffer.alloc(FINGERPRINT_BYTES);
    let headLen = 0;
    let offset = e.initial && this.#opts.startAt !== 'beginning' ? Number(fst.size) : 0;
    let resumed = false;
    const saved = e.initial ? this.#takeSaved(fst.dev, fst.ino) : undefined;
    if (saved || (e.initial && this.#resumePaths.has(e.path))) offset = 0; // new since the positions
    if (saved || offset > 0) headLen = await this.#readHead(fh, head, e.path);
    if (saved) {
      const verdict = verifyPosition(saved, head, headLen, Number(fst.size));
      if (verdict === 'ok') {
        offset = saved.offset;
        resumed = true;
      } else this.#emit({ type: 'resume-lost', ...this.#lost(saved, verdict, Number(fst.size)) });
    }
    const r = this.#reader(e.path, fh, fst, offset, head, headLen, e.counters);
    const reason = e.initial ? 'startup' : expected ? 'rotated' : e.everOpened ? 'reopened' : 'new';
    e.cur = r;
    e.initial = false;
    e.everOpened = true;
    this.#settled(e);
    this.#emit({ type: 'opened', path: e.path, inode: Number(fst.ino), offset, reason });
    if (resumed)
      this.#emit({ type: 'resumed', path: e.path, inode: Number(fst.ino), offset, rotated: false });
    if (expected) this.#retire(e, expected, 'replaced');
    if (offset > 0) void this.#enqueue(r, () => this.#alignToLine(r));
    void this.#drain(r);
  }

  /**
   * `r` is no longer the file at `e.path`: keep reading it (nginx writes to it until it reopens its
   * logs) until it has been idle for the grace period, then close it.
   */
  #retire(e: Entry, r: Reader, how: 'gone' | 'replaced'): void {
    this.#countRotation(e);
    this.#emit({ type: 'rotated', path: e.path, inode: Number(r.ino), how });
    r.retired = true;
    r.lastDataAt = Math.max(r.lastDataAt, Date.now());
    this.#retired.add(r);
    void this.#drain(r);
    // A hard link waiting on this file may now be its only name (rotation by link + unlink).
    for (const a of this.#entries.values()) if (a.alias) this.#kick(a);
  }

  #countRotation(e: Entry): void {
    e.counters.rotations++;
    this.#totals.rotations++;
  }

  /** Drains retired readers (all, or those in `dir`) and closes the ones idle past the grace period. */
  #maintainRetired(dir: string | null): void {
    for (const r of this.#retired) {
      if (r.closing || (dir !== null && r.dir !== dir)) continue;
      void this.#drain(r).then(() => {
        if (r.retired && !r.closing && Date.now() - r.lastDataAt >= this.#grace) {
          this.#retired.delete(r);
          this.#close(r);
        }
      });
    }
  }

  /** Final drain, drop of a partial line, close. */
  #close(r: Reader): void {
    r.closing = true;
    void this.#drain(r);
    void this.#enqueue(r, async () => {
      const dropped = r.splitter.reset();
      if (dropped > 0) this.#dropPartial(r, dropped);
      r.closed = true;
      await r.fh.close().catch(noop);
      this.#emit({ type: 'closed', path: r.path, inode: Number(r.ino), offset: r.offset });
    });
  }

  #dropPartial(r: Reader, bytes: number): void {
    r.counters.partialDropped++;
    this.#totals.partialDropped++;
    this.#emit({ type: 'partial-dropped', path: r.path, inode: Number(r.ino), bytes });
  }

  /** Started at the end of a file: if the byte before is not a newline, we are mid-line. */
  async #alignToLine(r: Reader): Promise<void> {
    const one = Buffer.alloc(1);
    try {
      const { bytesRead } = await r.fh.read(one, 0, 1, r.offset - 1);
      if (bytesRead === 1 && one[0] !== 0x0a) r.splitter.skipToNewline();
    } catch (err) {
      this.#error(r.path, err);
    }
  }

  // ---- reading ---------------------------------------------------------------------------------

  async #readToEof(r: Reader): Promise<number> {
    let total = 0;
    let truncationChecked = false;
    for (;;) {
      if (r.closed || this.#state === 'stopping') break;
      const buf = await this.#pool.acquire();
      let n: number;
      try {
        n = (await r.fh.read(buf, 0, buf.length, r.offset)).bytesRead;
      } catch (err) {
        this.#pool.release(buf);
        this.#error(r.path, err);
        break;
      }
      if (n === 0) {
        this.#pool.release(buf);
        if (total > 0 || truncationChecked || !(await this.#truncated(r))) break;
        truncationChecked = true;
        continue;
      }
      // The file's first bytes, as far as this read extends them (it may start below what is known).
      if (r.headLen < FINGERPRINT_BYTES && r.offset <= r.headLen && r.offset + n > r.headLen) {
        const end = Math.min(FINGERPRINT_BYTES, r.offset + n);
        buf.copy(r.head, r.headLen, r.headLen - r.offset, end - r.offset);
        r.headLen = end;
      }
      r.offset += n;
      total += n;
      this.#consume(r, buf, n);
      // A short read means we reached the end as it was a moment ago: skip the extra syscall.
      if (n < buf.length) break;
    }
    if (total > 0) r.lastDataAt = Date.now();
    return total;
  }

  /** Nothing to read at our offset: is the file now shorter than that (copytruncate)? */
  async #truncated(r: Reader): Promise<boolean> {
    let size: bigint;
    try {
      size = (await r.fh.stat({ bigint: true })).size;
    } catch {
      return false;
    }
    if (size >= BigInt(r.offset)) return false;
    // copytruncate: what was still unread at the truncate is in the copy logrotate just made.
    const copy = await this.#copyOf(r);
    const from = r.offset;
    if (copy) await this.#readCopy(r, copy.path, copy.size);
    const dropped = r.splitter.reset();
    if (dropped > 0) this.#dropPartial(r, dropped);
    this.#emit({
      type: 'truncated',
      path: r.path,
      inode: Number(r.ino),
      offset: from,
      size: Number(size),
      ...(copy ? { copy: copy.path, fromCopy: copy.size - from } : {}),
    });
    r.counters.truncations++;
    this.#totals.truncations++;
    r.offset = 0;
    r.headLen = 0;
    return true;
  }

  /**
   * The copy of `r`'s file that copytruncate made: a file of the same directory whose name starts
   * with the file's name (`access.log.1`, `access.log-20261202`), not compressed, at least as long
   * as our offset and starting with the same bytes; the newest if several.
   */
  async #copyOf(r: Reader): Promise<{ path: string; size: number } | undefined> {
    if (r.headLen === 0) return undefined;
    const base = r.path.slice(r.dir.length + 1);
    let names: string[];
    try {
      names = await readdir(r.dir);
    } catch {
      return undefined;
    }
    let best: { path: string; size: number; mtime: number } | undefined;
    const head = Buffer.alloc(r.headLen);
    for (const name of names) {
      if (name === base || !name.startsWith(base) || /\.(gz|bz2|xz|zst|lz4|Z)$/.test(name)) continue;
      const full = join(r.dir, name);
      let fh: FileHandle | undefined;
      try {
        fh = await open(full, 'r');
        const st = await fh.stat();
        if (!st.isFile() || st.size < r.offset || (best && st.mtimeMs <= best.mtime)) continue;
        const { bytesRead } = await fh.read(head, 0, r.headLen, 0);
        if (bytesRead === r.headLen && head.equals(r.head.subarray(0, r.headLen)))
          best = { path: full, size: st.size, mtime: st.mtimeMs };
      } catch {
        // gone or unreadable: not the copy
      } finally {
        await fh?.close().catch(noop);
      }
    }
    return best && { path: best.path, size: best.size };
  }

  /** Reads `copy` from `r`'s offset to `size` through `r`'s splitter, delivering its lines as `r`'s. */
  async #readCopy(r: Reader, copy: string, size: number): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(copy, 'r');
    } catch (err) {
      this.#error(copy, err);
      return;
    }
    try {
      let at = r.offset;
      while (at < size) {
        const buf = await this.#pool.acquire();
        let n: number;
        try {
          n = (await fh.read(buf, 0, Math.min(buf.length, size - at), at)).bytesRead;
        } catch (err) {
          this.#pool.release(buf);
          this.#error(copy, err);
          break;
        }
        if (n === 0) {
          this.#pool.release(buf);
          break;
        }
        at += n;
        this.#consume(r, buf, n);
      }
    } finally {
      await fh.close().catch(noop);
    }
  }

  /**
   * The `n` bytes read into `buf` (a pooled buffer, released here) through `r`'s splitter: the
   * complete lines are counted and delivered as `r`'s, over-long ones counted and reported.
   */
  #consume(r: Reader, buf: Buffer, n: number): void {
    const overLong = r.splitter.overLong;
    const path = r.path;
    const count = r.splitter.push(n === buf.length ? buf : buf.subarray(0, n), (batch) =>
      this.#deliver(batch, path),
    );
    this.#pool.release(buf);
    const c = r.counters;
    c.bytesRead += n;
    c.linesRead += count;
    this.#totals.bytesRead += n;
    this.#totals.linesRead += count;
    if (r.splitter.overLong !== overLong) {
      const over = r.splitter.overLong - overLong;
      c.overLong += over;
      this.#totals.overLong += over;
      this.#emit({ type: 'overlong', path, count: over, maxLineBytes: this.#maxLine });
    }
  }

  #deliver(batch: LineBatch, path: string): void {
    try {
      this.#opts.onLines(batch, path);
    } catch (err) {
      this.#error(path, err);
    }
  }

  #emit(event: TailEvent): void {
    const h = this.#opts.onEvent;
    if (!h) return;
    try {
      h(event);
    } catch {
      // A failing event handler must not break tailing.
    }
  }

  #error(path: string, err: unknown): void {
    this.#totals.errors++;
    this.#emit({ type: 'error', path, code: errCode(err), message: errMessage(err) });
  }
}

/**
 * Creates a tailer; call `start()` to begin.
 *
 * Guarantees (each path is followed by name; lines of one file arrive in file order, lines of
 * an old and a new file may interleave):
 * - Every delivered line is a complete line of the file, delivered once.
 * - rename + create, remove + create: no line lost, none duplicated, provided (1) the writer stops
 *   writing to the old file within `drainGraceMs` of its last write there (nginx reopens on the
 *   SIGUSR1 of logrotate's postrotate), and (2) the new file stays at the path long enough for a
 *   directory event or a poll to see it (a file renamed away to a name no pattern matches before
 *   we ever stat it cannot be followed by name; logrotate rotates hourly at most).
 * - copytruncate: no line duplicated or broken; lines still unread at the truncate are read from
 *   the copy (an uncompressed file of the directory whose name starts with the file's, at least
 *   as long as our offset, with the same first bytes: `access.log.1`; a copy compressed at once is not read); only lines written between the copy and the truncate are lost (they are in neither
 *   file), or all unread ones when no copy is found. The truncation is noticed when the file is
 *   smaller than our offset; a file that regrows past our offset before we look would be read
 *   from the old offset (the inotify event makes that window milliseconds wide).
 * - A partial line is delivered only with its newline; see the module doc for when it is dropped.
 * @example
 * const t = createTailer({ patterns: ['/var/log/nginx/*.log'], onLines: (batch, file) => count(batch, file) });
 * await t.start();
 */
export function createTailer(options: TailerOptions): Tailer {
  return new TailerImpl(options);
}
