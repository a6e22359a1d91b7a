/**
 * Several logs at the same level (nginx: several `access_log` directives in one block), and
 * logs built from an nginx.conf model (`access_log`/`upstream_log` + `open_log_file_cache`).
 * @module
 */
import { compileNginx } from '../format/nginx/compile.ts';
import type { NginxLog, NginxOpenLogFileCache, ResolvedLogFormat } from '../format/nginx-conf/model.ts';
import type { CompiledFormat, RenderSource } from '../format/types.ts';
import { createLog, type Log } from './log.ts';
import type { LogOptions, OpenFileCacheOptions } from './options.ts';

/** One log of a group: its target and options. */
export interface LogSpec extends LogOptions {
  /** A file path (may contain `$variables`), `syslog:…`, or `off`. */
  readonly target: string;
}

/** Logs written together. */
export interface LogGroup {
  readonly logs: readonly Log[];
  /** Writes `vars` to every log (each renders its own format). Returns how many accepted the line. */
  write(vars: RenderSource): number;
  flush(): void;
  reopen(): void;
  close(): void;
}

export function groupOf(logs: readonly Log[]): LogGroup {
  return {
    logs,
    write(vars) {
      let n = 0;
      for (const l of logs) if (l.write(vars)) n++;
      return n;
    },
    flush: () => {
      for (const l of logs) l.flush();
    },
    reopen: () => {
      for (const l of logs) l.reopen();
    },
    close: () => {
      for (const l of logs) l.close();
    },
  };
}

/**
 * Creates several logs at one level. As in nginx, an `off` entry cancels every log of the
 * level: the group is then empty.
 */
export function createLogs(specs: readonly LogSpec[]): LogGroup {
  if (specs.some((s) => s.target === 'off')) return groupOf([]);
  const logs: Log[] = [];
  try {
    for (const { target, ...opts } of specs) logs.push(createLog(target, opts));
  } catch (e) {
    for (const l of logs) l.close();
    throw e;
  }
  return groupOf(logs);
}

/** Options for logs built from an nginx.conf model; everything but what the directive says. */
export interface NginxLogOptions
  extends Omit<LogOptions, 'format' | 'buffer' | 'gzip' | 'flush' | 'if' | 'ifNot' | 'openFileCache'> {
  /** The `open_log_file_cache` in force for these logs. */
  readonly openLogFileCache?: NginxOpenLogFileCache;
  /** Compiles a resolved format (default: the nginx dialect with its escape mode). */
  readonly compile?: (f: ResolvedLogFormat) => CompiledFormat;
  /** Predicates for `if=` conditions, by the condition text (`$loggable`), instead of evaluating variables. */
  readonly conditions?: Readonly<Record<string, (vars: RenderSource) => boolean>>;
}

function cacheFrom(c: NginxOpenLogFileCache | undefined): OpenFileCacheOptions | 'off' | undefined {
  if (!c) return undefined;
  if (c.off || c.max === undefined) return 'off';
  return { max: c.max, inactive: c.inactive, minUses: c.minUses, valid: c.valid };
}

/**
 * Builds the logs of one level from the nginx.conf model (`readNginxConf(…).logs` filtered to
 * one context). `access_log off;` among them cancels the level.
 * @example
 * const conf = readNginxConf('/etc/nginx/nginx.conf');
 * const logs = logsFromNginxConf(conf.logs.filter((l) => l.directive === 'access_log'),
 *   { openLogFileCache: conf.openLogFileCaches[0] });
 */
export function logsFromNginxConf(logs: readonly NginxLog[], opts: NginxLogOptions = {}): LogGroup {
  const { openLogFileCache, compile, conditions, ...rest } = opts;
  const compileFormat = compile ?? ((f: ResolvedLogFormat) => compileNginx(f.format, { escape: f.escape }));
  const compiled = new Map<string, CompiledFormat>();
  const specs: LogSpec[] = logs.map((l) => {
    if (l.off) return { target: 'off', format: compileNginx('') };
    const key = `${l.format.escape}\0${l.format.format}`;
    let format = compiled.get(key);
    if (!format) {
      format = compileFormat(l.format);
      compiled.set(key, format);
    }
    const cond = l.if === undefined ? undefined : (conditions?.[l.if] ?? l.if);
    const condNot = l.ifNot === undefined ? undefined : (conditions?.[l.ifNot] ?? l.ifNot);
    return {
      ...rest,
      target: l.path,
      format,
      ...(l.buffer !== undefined ? { buffer: l.buffer } : {}),
      ...(l.gzip !== undefined ? { gzip: l.gzip } : {}),
      ...(l.flush !== undefined ? { flush: l.flush } : {}),
      ...(cond !== undefined ? { if: cond } : {}),
      ...(condNot !== undefined ? { ifNot: condNot } : {}),
      ...(l.hasVariables ? { openFileCache: cacheFrom(openLogFileCache) ?? 'off' } : {}),
    };
  });
  return createLogs(specs);
}
