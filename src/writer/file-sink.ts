/**
 * A log file with a fixed path: opened once (O_APPEND), written with synchronous write(2) so a
 * line is in the kernel when `write` returns, optionally buffered (`buffer=`, `flush=`) and
 * compressed (`gzip=`, one member per flush), reopened on demand (logrotate).
 * @see ../../../shared/reference/000_84a0f8c5cb61964b.txt (buffer, gzip, flush semantics)
 * @module
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { ErrorReporter, WriterStats } from './diagnostics.ts';
import { appendLine, lineBytes, needsByteEncoding } from './encode.ts';
import { gzipMember } from './gzip.ts';
import type { Clock, WriterTimers } from './timers.ts';

const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;

export interface FileSinkOptions {
  readonly path: string | Buffer;
  /** Buffer size in bytes; 0 = one write per line. */
  readonly buffer: number;
  /** gzip level 1–9; 0 = no compression. */
  readonly gzip: number;
  /** Flush buffered data this many ms after the oldest buffered line; 0 = never by time. */
  readonly flush: number;
  readonly mode: number;
  readonly timers: WriterTimers;
  readonly clock: Clock;
  readonly stats: WriterStats;
  readonly errors: ErrorReporter;
}

/** Opens `path` for appending; returns the descriptor or -1 after reporting the error. */
export function openLogFile(
  path: string | Buffer,
  mode: number,
  errors: ErrorReporter,
  shown: string,
): number {
  try {
    return openSync(path, OPEN_FLAGS, mode);
  } catch (e) {
    errors.report('open', e, shown);
    return -1;
  }
}

/**
 * Writes all of `data` to `fd`, retrying short writes. Returns the error code on failure,
 * undefined on success.
 */
export function writeAll(
  fd: number,
  data: Buffer | string,
  stats: WriterStats,
  errors: ErrorReporter,
  shown: string,
): string | undefined {
  let b = typeof data === 'string' ? data : data;
  for (;;) {
    let n: number;
    try {
      n = typeof b === 'string' ? writeSync(fd, b) : writeSync(fd, b, 0, b.length);
    } catch (e) {
      return errors.report('write', e, shown);
    }
    stats.writes++;
    stats.bytes += n;
    const len = typeof b === 'string' ? Buffer.byteLength(b) : b.length;
    if (n >= len) return undefined;
    // A short write (disk nearly full, signal): write the rest, never a line twice.
    b = (typeof b === 'string' ? Buffer.from(b) : b).subarray(n);
  }
}

export class FileSink {
  readonly #o: FileSinkOptions;
  readonly #shown: string;
  #fd = -1;
  #buf: Buffer | undefined;
  #pos = 0;
  #bufferedLines = 0;
  #timer: unknown;
  #lastOpenAttempt = Number.NEGATIVE_INFINITY;
  /** Second (epoch) in which a write failed with ENOSPC: lines are dropped until it ends (nginx's disk_full_time). */
  #diskFullSecond = -1;
  #closed = false;

  constructor(o: FileSinkOptions) {
    this.#o = o;
    this.#shown = typeof o.path === 'string' ? o.path : o.path.toString('latin1');
    if (o.buffer > 0) this.#buf = Buffer.allocUnsafe(o.buffer);
    this.#open();
  }

  get fd(): number {
    return this.#fd;
  }

  #open(): void {
    this.#lastOpenAttempt = this.#o.clock();
    this.#fd = openLogFile(this.#o.path, this.#o.mode, this.#o.errors, this.#shown);
  }

  /** The descriptor to write to, retrying a failed open at most once per second. */
  #ensureOpen(): boolean {
    if (this.#fd >= 0) return true;
    if (this.#closed || this.#o.clock() - this.#lastOpenAttempt < 1000) return false;
    this.#open();
    return this.#fd >= 0;
  }

  #diskFull(): boolean {
    return this.#diskFullSecond === Math.floor(this.#o.clock() / 1000);
  }

  /** Appends one line (without its newline). Returns false when the line was dropped. */
  write(line: string): boolean {
    const s = this.#o.stats;
    if (this.#closed || this.#diskFull()) {
      s.dropped++;
      return false;
    }
    const buf = this.#buf;
    if (buf === undefined) {
      if (!this.#ensureOpen()) {
        s.dropped++;
        return false;
      }
      const err = writeAll(
        this.#fd,
        needsByteEncoding(line) ? lineBytes(line) : `${line}\n`,
        s,
        this.#o.errors,
        this.#shown,
      );
      return this.#afterWrite(err, 1);
    }
    let p = appendLine(buf, this.#pos, line);
    if (p < 0) {
      this.flush();
      p = appendLine(buf, 0, line);
      if (p < 0) {
        // Longer than the whole buffer: written on its own (one gzip member of its own), as nginx does.
        return this.#writeChunk(lineBytes(line), 1);
      }
    }
    if (this.#pos === 0 && this.#o.flush > 0 && this.#timer === undefined) {
      this.#timer = this.#o.timers.setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, this.#o.flush);
    }
    this.#pos = p;
    this.#bufferedLines++;
    s.lines++;
    return true;
  }

  #afterWrite(err: string | undefined, lines: number): boolean {
    const s = this.#o.stats;
    if (err === undefined) {
      s.lines += lines;
      return true;
    }
    if (err === 'ENOSPC') this.#diskFullSecond = Math.floor(this.#o.clock() / 1000);
    s.dropped += lines;
    return false;
  }

  /** Writes raw (uncompressed) bytes as one write, or one gzip member. */
  #writeChunk(data: Buffer, lines: number): boolean {
    if (!this.#ensureOpen()) {
      this.#o.stats.dropped += lines;
      return false;
    }
    let out = data;
    if (this.#o.gzip > 0) {
      try {
        out = gzipMember(data, this.#o.gzip);
      } catch (e) {
        this.#o.errors.report('compress', e, this.#shown);
        this.#o.stats.dropped += lines;
        return false;
      }
    }
    this.#o.stats.flushes++;
    return this.#afterWrite(writeAll(this.#fd, out, this.#o.stats, this.#o.errors, this.#shown), lines);
  }

  /** Writes the buffered lines now (one write, or one gzip member). */
  flush(): void {
    if (this.#timer !== undefined) {
      this.#o.timers.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const buf = this.#buf;
    if (buf === undefined || this.#pos === 0) return;
    const lines = this.#bufferedLines;
    const data = buf.subarray(0, this.#pos);
    this.#pos = 0;
    this.#bufferedLines = 0;
    // Counted as accepted when buffered; a failed flush moves them to dropped.
    this.#o.stats.lines -= lines;
    this.#writeChunk(data, lines);
  }

  /** Flushes, then reopens the path (the old descriptor is kept if the new open fails, as nginx does). */
  reopen(): void {
    if (this.#closed) return;
    this.flush();
    const old = this.#fd;
    this.#open();
    if (this.#fd < 0) {
      this.#fd = old;
      return;
    }
    if (old >= 0) {
      try {
        closeSync(old);
      } catch (e) {
        this.#o.errors.report('close', e, this.#shown);
      }
    }
  }

  /** Flushes and closes. Later writes are dropped. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#fd >= 0) {
      try {
        closeSync(this.#fd);
      } catch (e) {
        this.#o.errors.report('close', e, this.#shown);
      }
      this.#fd = -1;
    }
  }
}
