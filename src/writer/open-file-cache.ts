/**
 * The descriptor cache of logs whose path has variables (`open_log_file_cache max=N
 * inactive=time min_uses=N valid=time`), with nginx's rules (`ngx_open_cached_file`):
 * - LRU: when `max` descriptors are cached, the least recently used one is closed;
 * - after every use, up to two entries idle for more than `inactive` are closed;
 * - a file used fewer than `min_uses` times (while cached) is closed after each write;
 * - after `valid`, the next use checks that the path still names the same file (dev, inode);
 *   if not, the cached descriptor is closed and the path opened (created) again.
 * Improvement over nginx: when the check finds the file gone, nginx drops that one line (its
 * `stat()` fails); logtally reopens and writes it.
 * @see ../../../shared/reference/001_797f3e666ab38e16.txt (upstream_open_log_file_cache)
 * @module
 */
import { closeSync, statSync } from 'node:fs';
import type { ErrorReporter, WriterStats } from './diagnostics.ts';
import { openLogFile } from './file-sink.ts';
import type { Clock } from './timers.ts';

/** `open_log_file_cache` parameters; times in milliseconds. */
export interface OpenFileCacheSettings {
  readonly max: number;
  readonly inactive: number;
  readonly minUses: number;
  readonly valid: number;
}

interface Entry {
  fd: number;
  dev: number;
  ino: number;
  uses: number;
  /** When the file was opened or last validated. */
  created: number;
  accessed: number;
}

/** A cache of append descriptors by path. `acquire` then `release` around each write. */
export class OpenFileCache {
  readonly #s: OpenFileCacheSettings;
  readonly #clock: Clock;
  readonly #stats: WriterStats;
  readonly #errors: ErrorReporter;
  readonly #mode: number;
  /** Insertion order = LRU order (oldest first): every access re-inserts. */
  readonly #entries = new Map<string, Entry>();
  #openFds = 0;

  constructor(
    s: OpenFileCacheSettings,
    mode: number,
    clock: Clock,
    stats: WriterStats,
    errors: ErrorReporter,
  ) {
    this.#s = s;
    this.#mode = mode;
    this.#clock = clock;
    this.#stats = stats;
    this.#errors = errors;
  }

  /** Cached entries (some may hold no descriptor, see `min_uses`). */
  get size(): number {
    return this.#entries.size;
  }

  /** Descriptors currently open. */
  get openDescriptors(): number {
    return this.#openFds;
  }

  /** Paths currently cached, least recently used first (for tests and diagnostics). */
  paths(): string[] {
    return [...this.#entries.keys()];
  }

  #open(path: string, e: Entry | undefined, now: number): Entry | undefined {
    const fd = openLogFile(Buffer.from(path, 'latin1'), this.#mode, this.#errors, path);
    if (fd < 0) return undefined;
    this.#openFds++;
    let dev = 0;
    let ino = 0;
    try {
      const st = statSync(Buffer.from(path, 'latin1'));
      dev = st.dev;
      ino = st.ino;
    } catch {
      // removed between open and stat: the next validation reopens it
    }
    if (e) {
      e.fd = fd;
      e.dev = dev;
      e.ino = ino;
      e.created = now;
      return e;
    }
    return { fd, dev, ino, uses: 0, created: now, accessed: now };
  }

  #close(path: string, fd: number): void {
    if (fd < 0) return;
    this.#openFds--;
    try {
      closeSync(fd);
    } catch (err) {
      this.#errors.report('close', err, path);
    }
  }

  #delete(path: string, e: Entry): void {
    this.#entries.delete(path);
    this.#close(path, e.fd);
    e.fd = -1;
  }

  /**
   * A descriptor for `path` (the key is the path's bytes as a latin1 string), or -1 when it
   * cannot be opened (reported).
   */
  acquire(path: string): number {
    const now = this.#clock();
    let e = this.#entries.get(path);
    if (e) {
      e.uses++;
      this.#entries.delete(path);
      if (e.fd < 0) {
        // Not used often enough to stay open: open again.
        if (!this.#open(path, e, now)) return -1;
      } else if (now - e.created >= this.#s.valid) {
        let same = false;
        try {
          const st = statSync(Buffer.from(path, 'latin1'));
          same = st.dev === e.dev && st.ino === e.ino;
        } catch {
          // gone: reopen below
        }
        if (same) {
          e.created = now;
        } else {
          this.#close(path, e.fd);
          e.fd = -1;
          if (!this.#open(path, e, now)) return -1;
        }
      }
    } else {
      if (this.#entries.size >= this.#s.max) this.#expire(0, now);
      e = this.#open(path, undefined, now);
      if (!e) {
        this.#stats.cachedFiles = this.#openFds;
        return -1;
      }
      e.uses = 1;
    }
    e.accessed = now;
    this.#entries.set(path, e);
    this.#stats.cachedFiles = this.#openFds;
    return e.fd;
  }

  /** After the write: applies `min_uses`, then closes up to two inactive entries. */
  release(path: string): void {
    const now = this.#clock();
    const e = this.#entries.get(path);
    if (e && e.uses < this.#s.minUses) {
      this.#close(path, e.fd);
      e.fd = -1;
    }
    this.#expire(1, now);
    this.#stats.cachedFiles = this.#openFds;
  }

  /**
   * nginx's `ngx_expire_old_cached_files`: `force` 0 closes the least recently used entry
   * unconditionally and then up to two inactive ones; 1 closes up to two inactive ones.
   */
  #expire(force: 0 | 1, now: number): void {
    let n: number = force;
    while (n < 3) {
      const first = this.#entries.entries().next();
      if (first.done) return;
      const [path, e] = first.value;
      if (n++ !== 0 && now - e.accessed <= this.#s.inactive) return;
      this.#delete(path, e);
    }
  }

  /** Closes entries idle for more than `inactive` (called by a periodic sweep). */
  sweep(): void {
    const now = this.#clock();
    for (const [path, e] of this.#entries) {
      if (now - e.accessed <= this.#s.inactive) break;
      this.#delete(path, e);
    }
    this.#stats.cachedFiles = this.#openFds;
  }

  /** Closes every descriptor. */
  clear(): void {
    for (const [path, e] of [...this.#entries]) this.#delete(path, e);
    this.#stats.cachedFiles = 0;
  }
}
