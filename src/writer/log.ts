/**
 * `createLog(target, options)`: one log with nginx `access_log` semantics — a file (buffered,
 * gzip), a path with variables (open-file cache), `syslog:…`, or `off`.
 * @module
 */
import { LogtallyError } from '../format/errors.ts';
import { parseSyslogTarget } from '../format/nginx-conf/syslog.ts';
import type { CompiledFormat, RenderSource } from '../format/types.ts';
import { ErrorReporter, emptyStats, type WriterStats } from './diagnostics.ts';
import { FileSink } from './file-sink.ts';
import {
  cacheOption,
  DEFAULT_GZIP_BUFFER,
  gzipOption,
  type LogOptions,
  sizeOption,
  timeOption,
} from './options.ts';
import { register, unregister } from './registry.ts';
import { SyslogSink } from './syslog-sink.ts';
import { compileTemplate } from './template.ts';
import { realTimers } from './timers.ts';
import { VariableSink } from './variable-sink.ts';

/** One log. No method throws: failures are counted in `stats` and reported once per cause. */
export interface Log {
  /** The target as given: a path, `syslog:…` or `off`. */
  readonly target: string;
  readonly kind: 'file' | 'variable' | 'syslog' | 'off';
  readonly format: CompiledFormat;
  /** Live counters (see {@link WriterStats}). */
  readonly stats: Readonly<WriterStats>;
  /**
   * Renders `vars` with the format and writes the line (with `\n`; syslog: without). Returns
   * true when the line was accepted, false when `if=` skipped it or it was dropped.
   */
  write(vars: RenderSource): boolean;
  /** Writes buffered lines now (one write; gzip: one member). */
  flush(): void;
  /** Flushes, then opens the path again (after logrotate renamed it). Variable paths: closes cached descriptors. */
  reopen(): void;
  /** Flushes and releases the file or socket. Later writes are dropped. */
  close(): void;
}

interface Sink {
  write(line: string, vars: RenderSource): boolean;
  flush(): void;
  reopen(): void;
  close(): void;
}

type Condition = (vars: RenderSource) => boolean;

function condition(c: LogOptions['if']): Condition | undefined {
  if (c === undefined) return undefined;
  if (typeof c === 'function') return c;
  const t = compileTemplate(c);
  return (vars) => {
    const v = t(vars);
    return v !== '' && v !== '0';
  };
}

const confError = (m: string) => new LogtallyError('ERR_CONF_DIRECTIVE', m);

/**
 * Creates a log.
 * @param target a file path (may contain `$variables`), `syslog:server=…[,facility=][,severity=][,tag=][,nohostname]`, or `off`.
 * @throws LogtallyError `ERR_CONF_DIRECTIVE` for options nginx would refuse (`flush` without a
 *   buffer, a buffered log with variables in its path, a buffered syslog log, a bad size or
 *   time, a bad syslog target). Nothing else throws, ever.
 * @example
 * const log = createLog('/var/log/app/access.log.gz', { format: compileNginxPreset('combined'), gzip: 1, flush: '5s' });
 * log.write({ remote_addr: '192.0.2.7', request: 'GET / HTTP/1.1', status: 200 });
 */
export function createLog(target: string, options: LogOptions): Log {
  const stats = emptyStats();
  const format = options.format;
  if (target === 'off') {
    return {
      target,
      kind: 'off',
      format,
      stats,
      write: () => false,
      flush() {},
      reopen() {},
      close() {},
    };
  }
  const errors = new ErrorReporter(target, stats, options.onError);
  const gzip = gzipOption(options.gzip);
  let buffer = sizeOption(options.buffer);
  if (gzip > 0 && buffer === 0) buffer = DEFAULT_GZIP_BUFFER;
  const flush = timeOption(options.flush, 'flush time');
  const timers = options.timers ?? realTimers;
  const clock = options.clock ?? Date.now;
  const mode = options.mode ?? 0o644;
  const cache = cacheOption(options.openFileCache);
  if (typeof options.buffer === 'string' && buffer === 0)
    throw confError(`invalid buffer size "${options.buffer}"`);
  if (flush > 0 && buffer === 0) throw confError(`no buffer is defined for access_log "${target}"`);

  let sink: Sink;
  let kind: Log['kind'];
  if (target.startsWith('syslog:')) {
    const t = parseSyslogTarget(target);
    if (typeof t === 'string') throw confError(t);
    if (buffer > 0) throw confError('logs to syslog cannot be buffered');
    kind = 'syslog';
    sink = new SyslogSink({ target: t, raw: target, hostname: options.hostname, clock, stats, errors });
  } else if (target.includes('$')) {
    if (buffer > 0) throw confError('buffered logs cannot have variables in name');
    compileTemplate(target); // syntax check
    kind = 'variable';
    sink = new VariableSink({ path: target, cache, mode, clock, timers, stats, errors });
  } else {
    kind = 'file';
    const fileSink = new FileSink({ path: target, buffer, gzip, flush, mode, timers, clock, stats, errors });
    sink = { write: (line) => fileSink.write(line), ...bind(fileSink) };
  }

  const yes = condition(options.if);
  const no = condition(options.ifNot);
  const cond: Condition | undefined = yes && no ? (v) => yes(v) && !no(v) : no ? (v) => !no(v) : yes;
  let closed = false;
  const log: Log = {
    target,
    kind,
    format,
    stats,
    write(vars) {
      try {
        if (cond && !cond(vars)) {
          stats.skipped++;
          return false;
        }
      } catch (e) {
        errors.report('render', e, undefined, 'ERR_WRITER_CONDITION');
        stats.dropped++;
        return false;
      }
      let line: string;
      try {
        line = format.render(vars);
      } catch (e) {
        errors.report('render', e, undefined, 'ERR_WRITER_RENDER');
        stats.dropped++;
        return false;
      }
      return sink.write(line, vars);
    },
    flush: () => sink.flush(),
    reopen: () => sink.reopen(),
    close() {
      if (closed) return;
      closed = true;
      sink.close();
      unregister(log);
    },
  };
  register(log, buffer > 0);
  return log;
}

function bind(s: { flush(): void; reopen(): void; close(): void }): Omit<Sink, 'write'> {
  return { flush: () => s.flush(), reopen: () => s.reopen(), close: () => s.close() };
}
