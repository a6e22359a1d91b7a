/**
 * Log options in API form and in nginx syntax (`buffer: '64k'`, `flush: '5s'`), normalised and
 * checked with nginx's own rules and messages.
 * @module
 */
import { LogtallyError } from '../format/errors.ts';
import { parseNginxSize, parseNginxTime } from '../format/nginx-conf/units.ts';
import type { CompiledFormat, RenderSource } from '../format/types.ts';
import type { ErrorHandler } from './diagnostics.ts';
import type { OpenFileCacheSettings } from './open-file-cache.ts';
import type { Clock, WriterTimers } from './timers.ts';

/** A condition as a function: the line is written when it returns true. */
export type LogPredicate = (vars: RenderSource) => boolean;

/** `open_log_file_cache` in API form. Times: milliseconds, or nginx syntax (`20s`, `1m`). */
export interface OpenFileCacheOptions {
  readonly max: number;
  /** Default 10 s. */
  readonly inactive?: number | string;
  /** Default 1. */
  readonly minUses?: number;
  /** Default 60 s. */
  readonly valid?: number | string;
}

export interface LogOptions {
  /** Any dialect's compiled format. */
  readonly format: CompiledFormat;
  /** `buffer=`: bytes, or nginx syntax (`64k`, `1m`). Buffering is off without it (and without gzip). */
  readonly buffer?: number | string;
  /** `gzip[=level]`: true for level 1, or 1–9. Implies a 64K buffer when `buffer` is not given. */
  readonly gzip?: boolean | number;
  /** `flush=`: milliseconds, or nginx syntax (`5s`, `1m`). Needs a buffer. */
  readonly flush?: number | string;
  /**
   * `if=`: a string with variables (`$loggable`, `$a$b`) — the line is skipped when it evaluates
   * to "" or "0" — or a predicate.
   */
  readonly if?: string | LogPredicate;
  /** `if!=` (the newer upstream log module): the line is written only when this evaluates to "" or "0" (or the predicate returns false). */
  readonly ifNot?: string | LogPredicate;
  /** For paths with variables: the descriptor cache, or `off` (the default: open and close per line). */
  readonly openFileCache?: OpenFileCacheOptions | 'off';
  /** Mode of created files; default 0o644. */
  readonly mode?: number;
  /** syslog: the host name to send (default: `os.hostname()`, lower-cased as nginx does). */
  readonly hostname?: string;
  /** Called once per cause of failure (default: `process.emitWarning`). */
  readonly onError?: ErrorHandler;
  /** Timer API for flush timers (tests inject fakes). */
  readonly timers?: WriterTimers;
  /** Milliseconds since the epoch (cache validity, syslog timestamps, disk-full second). */
  readonly clock?: Clock;
}

/** Default buffer when only gzip asks for buffering. */
export const DEFAULT_GZIP_BUFFER = 64 * 1024;

const optionError = (m: string) => new LogtallyError('ERR_CONF_DIRECTIVE', m);

export function sizeOption(v: number | string | undefined): number {
  if (v === undefined) return 0;
  const n = typeof v === 'number' ? v : parseNginxSize(v);
  if (!Number.isInteger(n) || n < 0) throw optionError(`invalid buffer size "${v}"`);
  return n;
}

export function timeOption(v: number | string | undefined, what: string): number {
  if (v === undefined) return 0;
  const n = typeof v === 'number' ? v : parseNginxTime(v);
  if (!Number.isFinite(n) || n < 0) throw optionError(`invalid ${what} "${v}"`);
  return n;
}

export function gzipOption(v: boolean | number | undefined): number {
  if (v === undefined || v === false) return 0;
  if (v === true) return 1;
  if (!Number.isInteger(v) || v < 1 || v > 9) throw optionError(`invalid compression level "${v}"`);
  return v;
}

export function cacheOption(v: OpenFileCacheOptions | 'off' | undefined): OpenFileCacheSettings | undefined {
  if (v === undefined || v === 'off') return undefined;
  if (!Number.isInteger(v.max) || v.max < 1)
    throw optionError('"open_log_file_cache" must have "max" parameter');
  return {
    max: v.max,
    inactive: v.inactive === undefined ? 10_000 : timeOption(v.inactive, 'inactive time'),
    minUses: v.minUses ?? 1,
    valid: v.valid === undefined ? 60_000 : timeOption(v.valid, 'valid time'),
  };
}
