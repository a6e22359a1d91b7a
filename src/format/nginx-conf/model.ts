/**
 * What logtally learns from an nginx configuration: the log formats, the logs that use them,
 * the descriptor caches, the maps, and the variables the configuration itself defines.
 * @module
 */
import type { EscapeMode } from '../nginx/escape.ts';
import type { Directive } from './parse.ts';

export type FormatDirective = 'log_format' | 'upstream_log_format';
export type LogDirective = 'access_log' | 'upstream_log';
export type CacheDirective = 'open_log_file_cache' | 'upstream_open_log_file_cache';
export type { EscapeMode } from '../nginx/escape.ts';

/**
 * Which nginx module a directive belongs to: `stream` inside a `stream { }` block, `http`
 * everywhere else (a file holding only `server { }` blocks is read as an http fragment).
 * `log_format` names of the two modules are separate namespaces, as in nginx.
 */
export type ConfModule = 'http' | 'stream';

/** Where something is written: absolute file path and 1-based line of the directive's name. */
export interface ConfSource {
  readonly file: string;
  readonly line: number;
}

/** One enclosing block of a directive (`http`, `server`, `location ~ \.php$`, `if (…)`, …). */
export interface ConfContext {
  readonly directive: string;
  readonly args: readonly string[];
}

/** A `log_format` or `upstream_log_format` definition. */
export interface NginxLogFormat extends ConfSource {
  readonly directive: FormatDirective;
  readonly module: ConfModule;
  readonly name: string;
  readonly escape: EscapeMode;
  /** Every string argument after the name (and `escape=`), concatenated as nginx does. */
  readonly format: string;
}

/** The format a log writes with, after resolving its name. */
export interface ResolvedLogFormat {
  readonly name: string;
  readonly escape: EscapeMode;
  readonly format: string;
  /** Which directive defined it; `predefined` for nginx's own `combined`. */
  readonly source: FormatDirective | 'predefined';
}

/** A `syslog:` log target. */
export interface SyslogTarget {
  /** The `server=` value as written. */
  readonly server: string;
  /** Host name or address (IPv6 without brackets); the socket path when `unix`. */
  readonly host: string;
  /** UDP port, 514 by default; 0 for a UNIX-domain socket. */
  readonly port: number;
  /** True for `server=unix:/path`. */
  readonly unix: boolean;
  readonly facility: string;
  readonly severity: string;
  readonly tag: string;
  readonly nohostname: boolean;
}

interface LogCommon extends ConfSource {
  readonly directive: LogDirective;
  readonly module: ConfModule;
  /** The first argument as written (`off` for a disabled log). */
  readonly rawPath: string;
  /** Enclosing blocks, outermost first. */
  readonly context: readonly ConfContext[];
  /** Every `server_name` argument of the enclosing `server` block; empty outside one. */
  readonly serverNames: readonly string[];
}

/** `access_log off;` / `upstream_log off;`: cancels the logs of this level. */
export interface NginxLogOff extends LogCommon {
  readonly off: true;
}

/** A log that is written. */
export interface NginxLogTarget extends LogCommon {
  readonly off: false;
  /**
   * Absolute file path (resolved against the prefix unless it starts with `/`), or the raw
   * `syslog:…` target. May contain variables (see `hasVariables`).
   */
  readonly path: string;
  /** True when the file path contains `$` (nginx opens such files per request, unbuffered). */
  readonly hasVariables: boolean;
  readonly syslog?: SyslogTarget;
  /** The format name as written, `combined` when none was given. */
  readonly formatName: string;
  readonly format: ResolvedLogFormat;
  /** Buffer size in bytes (65536 when only `gzip` asks for buffering). */
  readonly buffer?: number;
  /** gzip level 1–9. */
  readonly gzip?: number;
  /** Flush interval in milliseconds. */
  readonly flush?: number;
  /** The `if=` condition as written. */
  readonly if?: string;
  /** `upstream_log`'s `if!=` (the newer module): written only when this evaluates to "" or "0". */
  readonly ifNot?: string;
}

export type NginxLog = NginxLogOff | NginxLogTarget;

/** `open_log_file_cache` / `upstream_open_log_file_cache`. */
export interface NginxOpenLogFileCache extends ConfSource {
  readonly directive: CacheDirective;
  readonly module: ConfModule;
  readonly off: boolean;
  /** Maximum number of cached descriptors; absent when `off`. */
  readonly max?: number;
  /** Milliseconds (nginx's resolution here is one second); 10000 by default. */
  readonly inactive: number;
  readonly minUses: number;
  /** Milliseconds; 60000 by default. */
  readonly valid: number;
  readonly context: readonly ConfContext[];
}

/** One `match value;` line of a `map` block. */
export interface NginxMapEntry {
  /** The key without its `~`, `~*` or `\` prefix. */
  readonly match: string;
  readonly value: string;
  readonly regex: boolean;
  readonly caseInsensitive: boolean;
}

/** A `map $source $variable { … }` block. */
export interface NginxMap extends ConfSource {
  readonly module: ConfModule;
  /** The source expression as written (`$status`, `$host$uri`, …). */
  readonly source: string;
  /** The defined variable's name without `$`. */
  readonly variable: string;
  readonly default?: string;
  readonly hostnames: boolean;
  readonly volatile: boolean;
  readonly entries: readonly NginxMapEntry[];
}

export interface ConfWarning extends ConfSource {
  readonly message: string;
}

/** Everything `readNginxConf` extracts. */
export interface NginxConf {
  /** Absolute path of the main file. */
  readonly path: string;
  /** The directory relative log paths were resolved against. */
  readonly prefix: string;
  /** Every file read, main file first. */
  readonly files: readonly string[];
  readonly formats: readonly NginxLogFormat[];
  readonly logs: readonly NginxLog[];
  readonly openLogFileCaches: readonly NginxOpenLogFileCache[];
  readonly maps: readonly NginxMap[];
  /** Variable names (without `$`) defined by `map`, `set`, `geo`, `split_clients`, `js_set`, `perl_set` and named regex captures. */
  readonly variablesDefinedByConfig: readonly string[];
  readonly warnings: readonly ConfWarning[];
  /** The whole directive tree, includes spliced in. */
  readonly root: readonly Directive[];
}
