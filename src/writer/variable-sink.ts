/**
 * A log whose path has variables (`/logs/$host.log`): the path is evaluated per line and the
 * file opened for that write (never buffered, as in nginx), through the open-file cache when
 * one is configured. A missing directory or a refused open drops the line and counts it.
 * Safety (an addition to nginx): a substituted value containing `/` or NUL, or equal to `.`
 * or `..`, drops the line (code `ERR_WRITER_PATH`) instead of writing outside the directory.
 * @module
 */
import { closeSync } from 'node:fs';
import { encodeLine } from '../format/bytes.ts';
import { tokenizeNginxFormat } from '../format/nginx/tokenize.ts';
import type { RenderSource } from '../format/types.ts';
import type { ErrorReporter, WriterStats } from './diagnostics.ts';
import { lineBytes, needsByteEncoding } from './encode.ts';
import { openLogFile, writeAll } from './file-sink.ts';
import { OpenFileCache, type OpenFileCacheSettings } from './open-file-cache.ts';
import { valueText } from './template.ts';
import type { Clock, WriterTimers } from './timers.ts';

export interface VariableSinkOptions {
  readonly path: string;
  readonly cache: OpenFileCacheSettings | undefined;
  readonly mode: number;
  readonly clock: Clock;
  readonly timers: WriterTimers;
  readonly stats: WriterStats;
  readonly errors: ErrorReporter;
}

function unsafe(v: string): boolean {
  return v === '.' || v === '..' || v.includes('/') || v.includes('\0');
}

export class VariableSink {
  readonly #o: VariableSinkOptions;
  readonly #path: (vars: RenderSource) => string | undefined;
  readonly #cache: OpenFileCache | undefined;
  #sweep: unknown;
  #closed = false;

  constructor(o: VariableSinkOptions) {
    this.#o = o;
    const segs = tokenizeNginxFormat(o.path);
    this.#path = (vars) => {
      let out = '';
      for (const seg of segs) {
        if (seg.kind === 'literal') {
          out += seg.text;
          continue;
        }
        const v = valueText(typeof vars === 'function' ? vars(seg.name) : vars[seg.name]);
        if (unsafe(v)) return undefined;
        out += v;
      }
      return out;
    };
    if (o.cache) this.#cache = new OpenFileCache(o.cache, o.mode, o.clock, o.stats, o.errors);
  }

  /** Evaluates the path for `vars` and appends `line`. Returns false when the line was dropped. */
  write(line: string, vars: RenderSource): boolean {
    const s = this.#o.stats;
    if (this.#closed) {
      s.dropped++;
      return false;
    }
    const path = this.#path(vars);
    if (path === undefined) {
      this.#o.errors.report(
        'path',
        new Error('a variable in the path has a "/", NUL, "." or ".." value'),
        this.#o.path,
        'ERR_WRITER_PATH',
      );
      s.dropped++;
      return false;
    }
    // The cache is keyed by the path's bytes (raw bytes in values are kept).
    const key = encodeLine(path).toString('latin1');
    const cache = this.#cache;
    const fd = cache
      ? cache.acquire(key)
      : openLogFile(Buffer.from(key, 'latin1'), this.#o.mode, this.#o.errors, key);
    if (fd < 0) {
      s.dropped++;
      return false;
    }
    const err = writeAll(fd, needsByteEncoding(line) ? lineBytes(line) : `${line}\n`, s, this.#o.errors, key);
    if (cache) {
      cache.release(key);
      this.#armSweep();
    } else {
      try {
        closeSync(fd);
      } catch (e) {
        this.#o.errors.report('close', e, key);
      }
    }
    if (err !== undefined) {
      s.dropped++;
      return false;
    }
    s.lines++;
    return true;
  }

  /** Closes idle descriptors even when no write comes to trigger nginx's lazy expiry. */
  #armSweep(): void {
    const cache = this.#cache;
    if (!cache || this.#sweep !== undefined || cache.size === 0) return;
    const every = Math.max(1000, this.#o.cache?.inactive ?? 10_000);
    this.#sweep = this.#o.timers.setTimeout(() => {
      this.#sweep = undefined;
      cache.sweep();
      this.#armSweep();
    }, every);
  }

  /** Paths whose descriptors are cached, least recently used first. */
  cachedPaths(): string[] {
    return this.#cache?.paths() ?? [];
  }

  /** Nothing is buffered for variable paths. */
  flush(): void {}

  /** Closes every cached descriptor, so the next write opens the path again (after logrotate). */
  reopen(): void {
    this.#cache?.clear();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweep !== undefined) this.#o.timers.clearTimeout(this.#sweep);
    this.#sweep = undefined;
    this.#cache?.clear();
  }
}
