/**
 * `access_log` and `upstream_log` directives, checked as `ngx_http_log_set_log` does. The
 * format name is only recorded here; it is resolved once every definition has been read.
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { checkShape, directiveError } from './checks.ts';
import type { ConfModule, LogDirective, SyslogTarget } from './model.ts';
import type { Directive } from './parse.ts';
import { parseSyslogTarget } from './syslog.ts';
import { atoi, sizeOrUndefined, timeOrUndefined } from './units.ts';

/** nginx's buffer size when only `gzip` asks for buffering. */
export const DEFAULT_GZIP_BUFFER = 64 * 1024;

/** A log directive's arguments, before its format name is resolved. */
export type ParsedLogDirective =
  | { readonly off: true; readonly rawPath: string }
  | {
      readonly off: false;
      readonly rawPath: string;
      readonly path: string;
      readonly hasVariables: boolean;
      readonly syslog?: SyslogTarget;
      /** The name as written; `undefined` when the directive names no format. */
      readonly formatName?: string;
      readonly buffer?: number;
      readonly gzip?: number;
      readonly flush?: number;
      readonly if?: string;
      /** `if!=`: the line is written only when this evaluates to "" or "0". */
      readonly ifNot?: string;
    };

/**
 * Reads one log directive's arguments.
 * @param prefix the directory relative paths are resolved against.
 * @throws ConfError ERR_CONF_DIRECTIVE with nginx's messages (`invalid parameter "x"`,
 *   `invalid buffer size "x"`, `no buffer is defined for access_log "x"`, syslog errors, …).
 */
export function parseLogDirective(d: Directive, module: ConfModule, prefix: string): ParsedLogDirective {
  checkShape(d, 1, Number.POSITIVE_INFINITY, false);
  const directive = d.name as LogDirective;
  const rawPath = d.args[0] as string;
  if (rawPath === 'off') {
    if (d.args.length > 1) throw directiveError(d, `invalid parameter "${d.args[1]}"`);
    return { off: true, rawPath };
  }

  let syslog: SyslogTarget | undefined;
  let path = rawPath;
  let hasVariables = false;
  if (rawPath.startsWith('syslog:')) {
    const target = parseSyslogTarget(rawPath);
    if (typeof target === 'string') throw directiveError(d, target);
    syslog = target;
  } else {
    hasVariables = rawPath.includes('$');
    path = isAbsolute(rawPath) ? rawPath : resolve(prefix, rawPath);
  }

  const formatName = d.args[1];
  if (formatName === undefined && module === 'stream') throw directiveError(d, 'log format is not specified');

  let buffer = 0;
  let flush = 0;
  let gzip = 0;
  let condition: string | undefined;
  let conditionNot: string | undefined;
  for (const arg of d.args.slice(2)) {
    if (arg.startsWith('buffer=')) {
      const size = sizeOrUndefined(arg.slice(7));
      if (!size) throw directiveError(d, `invalid buffer size "${arg.slice(7)}"`);
      buffer = size;
    } else if (arg.startsWith('flush=')) {
      const time = timeOrUndefined(arg.slice(6), false);
      if (!time) throw directiveError(d, `invalid flush time "${arg.slice(6)}"`);
      flush = time;
    } else if (arg === 'gzip' || arg.startsWith('gzip=')) {
      if (buffer === 0) buffer = DEFAULT_GZIP_BUFFER;
      if (arg === 'gzip') {
        gzip = 1;
        continue;
      }
      const level = atoi(arg.slice(5));
      if (level === undefined || level < 1 || level > 9) {
        throw directiveError(d, `invalid compression level "${arg.slice(5)}"`);
      }
      gzip = level;
    } else if (arg.startsWith('if=')) {
      condition = arg.slice(3);
    } else if (arg.startsWith('if!=') && directive === 'upstream_log') {
      conditionNot = arg.slice(4);
    } else {
      throw directiveError(d, `invalid parameter "${arg}"`);
    }
  }

  if (flush && !buffer) throw directiveError(d, `no buffer is defined for ${directive} "${rawPath}"`);
  if (buffer && hasVariables) throw directiveError(d, 'buffered logs cannot have variables in name');
  if (buffer && syslog) throw directiveError(d, 'logs to syslog cannot be buffered');

  return {
    off: false,
    rawPath,
    path,
    hasVariables,
    ...(syslog ? { syslog } : {}),
    ...(formatName !== undefined ? { formatName } : {}),
    ...(buffer ? { buffer } : {}),
    ...(gzip ? { gzip } : {}),
    ...(flush ? { flush } : {}),
    ...(condition !== undefined ? { if: condition } : {}),
    ...(conditionNot !== undefined ? { ifNot: conditionNot } : {}),
  };
}
