/**
 * Error accounting for the writer: every failure is counted, reported once per cause (operation,
 * error code and path), and never thrown into the request path. Reports go to the log's
 * `onError` hook (default: one `process.emitWarning` per cause) and to the
 * `logtally:writer:error` diagnostics channel.
 * @module
 */
import { channel } from 'node:diagnostics_channel';

/** What the writer was doing when something failed. */
export type WriterOperation = 'open' | 'write' | 'stat' | 'close' | 'send' | 'compress' | 'render' | 'path';

/** One cause of failure, reported the first time it happens. */
export interface WriterDiagnostic {
  /** An errno code (`ENOSPC`, `EACCES`, `ENOENT`, …) or a logtally code (`ERR_WRITER_PATH`, `ERR_WRITER_RENDER`). */
  readonly code: string;
  readonly operation: WriterOperation;
  /** The log's target as configured (`/logs/$host.log`, `syslog:server=…`). */
  readonly target: string;
  /** The file the operation was about, when there is one (a variable path after substitution). */
  readonly path?: string;
  readonly message: string;
  readonly error?: unknown;
}

/** Counters of one log. All are cumulative since the log was created. */
export interface WriterStats {
  /** Lines accepted (written or buffered). */
  lines: number;
  /** Lines skipped by `if=`. */
  skipped: number;
  /** Lines lost: not written because of an error (open, write, path, render, full queue). */
  dropped: number;
  /** Bytes handed to the kernel (compressed bytes for gzip logs; datagram bytes for syslog). */
  bytes: number;
  /** write(2) / send(2) calls that succeeded. */
  writes: number;
  /** Buffer flushes (gzip: members written). */
  flushes: number;
  /** Failures, all causes. */
  errors: number;
  /** Failures by code. */
  errorsByCode: Record<string, number>;
  /** Descriptors currently held by a variable-path log's open-file cache. */
  cachedFiles: number;
}

export function emptyStats(): WriterStats {
  return {
    lines: 0,
    skipped: 0,
    dropped: 0,
    bytes: 0,
    writes: 0,
    flushes: 0,
    errors: 0,
    errorsByCode: {},
    cachedFiles: 0,
  };
}

/** Published on every first report of a cause (the same object `onError` receives). */
export const writerErrorChannel = channel('logtally:writer:error');

export type ErrorHandler = (d: WriterDiagnostic) => void;

function defaultHandler(d: WriterDiagnostic): void {
  process.emitWarning(d.message, { code: d.code, type: 'LogtallyWriterWarning' });
}

/** Counts errors and reports each cause once. */
export class ErrorReporter {
  readonly #seen = new Set<string>();
  readonly #stats: WriterStats;
  readonly #target: string;
  readonly #handler: ErrorHandler;

  constructor(target: string, stats: WriterStats, handler: ErrorHandler | undefined) {
    this.#target = target;
    this.#stats = stats;
    this.#handler = handler ?? defaultHandler;
  }

  /** Records one failure; returns its code. Never throws. */
  report(operation: WriterOperation, error: unknown, path?: string, code?: string): string {
    const c = code ?? errorCode(error);
    const s = this.#stats;
    s.errors++;
    s.errorsByCode[c] = (s.errorsByCode[c] ?? 0) + 1;
    const key = `${operation}\0${c}\0${path ?? ''}`;
    if (this.#seen.has(key)) return c;
    this.#seen.add(key);
    const detail = error instanceof Error ? error.message : String(error);
    const d: WriterDiagnostic = {
      code: c,
      operation,
      target: this.#target,
      ...(path !== undefined ? { path } : {}),
      message: `logtally writer: ${operation} ${JSON.stringify(path ?? this.#target)} failed: ${detail}`,
      error,
    };
    try {
      this.#handler(d);
    } catch {
      // a failing hook must not reach the request path either
    }
    if (writerErrorChannel.hasSubscribers) writerErrorChannel.publish(d);
    return c;
  }
}

export function errorCode(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return 'EUNKNOWN';
}
