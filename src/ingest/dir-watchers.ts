/**
 * One `fs.watch` per directory (libuv shares one inotify instance per process, so this is one
 * inotify watch per directory, however many files). Files are never watched themselves: a file
 * watch follows the inode through a rename and misses the new file (see the ecosystem guide §1.3).
 *
 * A directory that cannot be watched (missing, not a directory, no permission) is reported once
 * through `onProblem` and retried with backoff until it can; `onWatched` then fires so the owner can
 * rescan it. Watched directories are re-identified (dev, ino) on `verify()`, because a directory
 * that is removed and re-created leaves a dead watch behind.
 * @module
 */
import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Backoff, type BackoffOptions } from './backoff.ts';

/** Callbacks of {@link DirWatchers}. */
export interface DirWatcherHooks {
  /** A change in `dir`; `name` is the entry that changed (a hint: it may be stale or null). */
  onChange(dir: string, type: string, name: string | null): void;
  /** `dir` is now watched (also after recovering from a problem). */
  onWatched(dir: string, recovered: boolean): void;
  /** `dir` cannot be watched; reported once per distinct error code until it recovers. */
  onProblem(dir: string, code: string, message: string): void;
}

interface DirState {
  dir: string;
  watcher: FSWatcher | null;
  dev: bigint;
  ino: bigint;
  problem: string | null;
  backoff: Backoff;
  timer: NodeJS.Timeout | null;
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
}

/** The set of watched directories. */
export class DirWatchers {
  readonly #dirs = new Map<string, DirState>();
  readonly #hooks: DirWatcherHooks;
  readonly #backoff: BackoffOptions;
  #closed = false;

  constructor(hooks: DirWatcherHooks, backoff: BackoffOptions) {
    this.#hooks = hooks;
    this.#backoff = backoff;
  }

  /** Number of directories currently watched. */
  get watching(): number {
    let n = 0;
    for (const s of this.#dirs.values()) if (s.watcher) n++;
    return n;
  }

  /** Directories wanted but not watchable right now. */
  get failing(): string[] {
    return [...this.#dirs.values()].filter((s) => s.watcher === null).map((s) => s.dir);
  }

  /** Makes the watched set exactly `dirs`. */
  want(dirs: Iterable<string>): void {
    if (this.#closed) return;
    const wanted = new Set(dirs);
    for (const [dir, s] of this.#dirs) {
      if (!wanted.has(dir)) {
        this.#drop(s);
        this.#dirs.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.#dirs.has(dir)) continue;
      const s: DirState = {
        dir,
        watcher: null,
        dev: 0n,
        ino: 0n,
        problem: null,
        backoff: new Backoff(this.#backoff),
        timer: null,
      };
      this.#dirs.set(dir, s);
      this.#attach(s);
    }
  }

  /** Re-identifies every watched directory; a replaced or vanished one is re-attached. */
  async verify(): Promise<void> {
    await Promise.all([...this.#dirs.values()].map((s) => this.#verifyOne(s)));
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#dirs.values()) this.#drop(s);
    this.#dirs.clear();
  }

  #drop(s: DirState): void {
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
    s.watcher?.close();
    s.watcher = null;
  }

  #attach(s: DirState): void {
    if (this.#closed || this.#dirs.get(s.dir) !== s) return;
    let w: FSWatcher;
    try {
      w = watch(s.dir, { persistent: true }, (type, name) => {
        if (s.watcher !== w) return;
        const n = name === null ? null : String(name);
        // The watched directory itself was removed or renamed: the watch is dead.
        if (n === basename(s.dir) && type === 'rename') void this.#verifyOne(s);
        this.#hooks.onChange(s.dir, type, n);
      });
    } catch (err) {
      this.#fail(s, err);
      return;
    }
    w.on('error', (err) => {
      if (s.watcher !== w) return;
      w.close();
      s.watcher = null;
      this.#fail(s, err);
    });
    s.watcher = w;
    void this.#identify(s, w);
  }

  async #identify(s: DirState, w: FSWatcher): Promise<void> {
    try {
      const st = await stat(s.dir, { bigint: true });
      if (s.watcher !== w) return;
      if (!st.isDirectory()) {
        w.close();
        s.watcher = null;
        this.#fail(s, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
        return;
      }
      s.dev = st.dev;
      s.ino = st.ino;
      const recovered = s.problem !== null;
      s.problem = null;
      s.backoff.reset();
      this.#hooks.onWatched(s.dir, recovered);
    } catch (err) {
      if (s.watcher !== w) return;
      w.close();
      s.watcher = null;
      this.#fail(s, err);
    }
  }

  async #verifyOne(s: DirState): Promise<void> {
    const w = s.watcher;
    if (!w || s.dev === 0n) return;
    let same = false;
    try {
      const st = await stat(s.dir, { bigint: true });
      same = st.isDirectory() && st.dev === s.dev && st.ino === s.ino;
    } catch {
      same = false;
    }
    if (same || s.watcher !== w || this.#closed) return;
    w.close();
    s.watcher = null;
    s.dev = 0n;
    s.ino = 0n;
    this.#attach(s);
  }

  #fail(s: DirState, err: unknown): void {
    const code = errCode(err);
    if (s.problem !== code) {
      s.problem = code;
      this.#hooks.onProblem(s.dir, code, err instanceof Error ? err.message : String(err));
    }
    if (this.#closed || s.timer) return;
    s.timer = setTimeout(() => {
      s.timer = null;
      this.#attach(s);
    }, s.backoff.next());
  }
}
