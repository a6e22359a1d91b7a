/**
 * Which logs the collector reads, and with which format: from `--logs`/`--logs-file` with
 * `--format`/`--dialect`, and from `--nginx-conf`, which names every access_log/upstream_log
 * with its own log_format.
 * @module
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import picomatch from 'picomatch';
import { LogtallyError } from '../format/errors.ts';
import { compileNginx } from '../format/nginx/compile.ts';
import { readNginxConf } from '../format/nginx-conf/index.ts';
import { compileFormat, type FormatSpec } from '../format/registry.ts';
import type { CompiledFormat } from '../format/types.ts';
import type { FormatRecipe, SourceFormat } from './pipeline.ts';

export interface FileInput {
  /** Absolute path or glob. */
  readonly pattern: string;
  readonly source: SourceFormat;
}

export interface CollectorInputs {
  readonly files: FileInput[];
  /** Format for syslog lines whose tag is not in `syslogByTag`. */
  readonly syslogDefault: SourceFormat;
  readonly syslogByTag: Map<string, SourceFormat>;
  readonly warnings: string[];
  /** What is read from where, one line each, for the start-up log. */
  readonly plan: string[];
}

export interface InputFlags {
  logs?: string;
  logsFile?: string;
  nginxConf?: string;
  format: FormatSpec;
  cwd?: string;
  /**
   * The syslog listener's address: with --nginx-conf, only the logs nginx sends to it are taken
   * (a server logging to a file and to syslog would be counted twice), unless `tailFiles`.
   */
  syslogListen?: string;
  /** With `syslogListen`: also tail the files the configuration names. */
  tailFiles?: boolean;
}

/** Whether nginx's syslog server `host:port` is the listener `listen` (`:5514`, `127.0.0.1:5514`). */
function sendsTo(target: { host: string; port: number; unix: boolean }, listen: string): boolean {
  if (target.unix) return false;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen.trim());
  if (!m || Number(m[3]) !== target.port) return false;
  const host = m[1] ?? m[2] ?? '';
  const wildcard = (h: string) => h === '' || h === '0.0.0.0' || h === '::';
  const loopback = (h: string) => h === 'localhost' || h === '::1' || h.startsWith('127.');
  return wildcard(host) || host === target.host || (loopback(host) && loopback(target.host));
}

/** Reads a --logs-file: one path or glob per line, `#` comments and blank lines ignored. */
export function readLogsFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LogtallyError('ERR_FORMAT_OPTION', `--logs-file: ${(e as Error).message}`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** nginx variables in a log path become `*`, so every file the path can name is tailed. */
export function pathToGlob(path: string): string {
  return path.replace(/\$\{[A-Za-z0-9_]+\}|\$[A-Za-z0-9_]+/g, '*');
}

function websiteOf(serverNames: readonly string[]): string | undefined {
  const name = serverNames.find((n) => n !== '' && n !== '_' && !n.startsWith('~') && !n.includes('*'));
  return name;
}

export function resolveInputs(flags: InputFlags): CollectorInputs {
  const cwd = flags.cwd ?? process.cwd();
  const warnings: string[] = [];
  const defaultFormat: SourceFormat = {
    format: compileFormat(flags.format),
    name: flags.format.format.length > 40 ? '--format' : flags.format.format,
    recipe: { spec: flags.format },
  };
  const files: FileInput[] = [];
  const plan: string[] = [];
  const seen = new Map<string, FileInput>();
  const addFile = (pattern: string, source: SourceFormat, where: string) => {
    const abs = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
    const prev = seen.get(abs);
    if (prev) {
      if (prev.source.format.format !== source.format.format) {
        warnings.push(
          `${where}: ${abs} is already read with format ${prev.source.name}; ignoring format ${source.name}`,
        );
      }
      return;
    }
    const input = { pattern: abs, source };
    seen.set(abs, input);
    files.push(input);
    plan.push(`reading ${abs} as ${source.name}${where.startsWith('--') ? '' : ` (${where})`}`);
  };
  for (const p of (flags.logs ?? '').split(',').map((s) => s.trim()))
    if (p) addFile(p, defaultFormat, '--logs');
  if (flags.logsFile) for (const p of readLogsFile(flags.logsFile)) addFile(p, defaultFormat, flags.logsFile);
  const syslogByTag = new Map<string, SourceFormat>();
  if (flags.nginxConf) {
    const conf = readNginxConf(flags.nginxConf);
    for (const w of conf.warnings) warnings.push(`${w.file}:${w.line}: ${w.message}`);
    const compiled = new Map<string, SourceFormat>();
    for (const log of conf.logs) {
      if (log.off || log.module !== 'http') continue;
      const key = `${log.format.escape}\u0000${log.format.format}`;
      let fmt = compiled.get(key);
      if (!fmt) {
        fmt = {
          format: compileRecipe({ nginx: log.format.format, escape: log.format.escape }),
          name: log.format.name,
          recipe: { nginx: log.format.format, escape: log.format.escape },
        };
        compiled.set(key, fmt);
      }
      const website = websiteOf(log.serverNames);
      const source: SourceFormat = website ? { ...fmt, website } : fmt;
      const where = `${log.file}:${log.line}`;
      if (log.syslog) {
        if (flags.syslogListen && !sendsTo(log.syslog, flags.syslogListen)) {
          plan.push(
            `not reading ${where}: it sends to syslog server ${log.syslog.server}, not to --syslog-listen`,
          );
          continue;
        }
        if (!syslogByTag.has(log.syslog.tag)) {
          syslogByTag.set(log.syslog.tag, source);
          plan.push(`syslog tag "${log.syslog.tag}" as ${source.name} (${where})`);
        }
        continue;
      }
      if (log.path === '/dev/null' || log.path.startsWith('/dev/')) continue;
      if (flags.syslogListen && !flags.tailFiles) {
        plan.push(
          `not tailing ${log.path} (${where}): with --syslog-listen only syslog logs are taken (--tail-files for both)`,
        );
        continue;
      }
      addFile(log.hasVariables ? pathToGlob(log.path) : log.path, source, where);
    }
  }
  if (flags.syslogListen)
    plan.push(`syslog on ${flags.syslogListen}: untagged or unknown tags as ${defaultFormat.name}`);
  return { files, syslogDefault: defaultFormat, syslogByTag, warnings, plan };
}

/** Compiles a format from its recipe (as the inputs were compiled). */
export function compileRecipe(r: FormatRecipe): CompiledFormat {
  return 'spec' in r ? compileFormat(r.spec) : compileNginx(r.nginx, { escape: r.escape });
}

/** Finds the input a tailed file belongs to (first matching pattern). */
export function inputMatcher(files: readonly FileInput[]): (path: string) => FileInput | undefined {
  const exact = new Map<string, FileInput>();
  const globs: [picomatch.Matcher, FileInput][] = [];
  for (const f of files) {
    if (picomatch.scan(f.pattern).isGlob) globs.push([picomatch(f.pattern, { dot: true }), f]);
    else exact.set(f.pattern, f);
  }
  const cache = new Map<string, FileInput | undefined>();
  return (path) => {
    if (cache.has(path)) return cache.get(path);
    const hit = exact.get(path) ?? globs.find(([m]) => m(path))?.[1];
    if (cache.size > 10_000) cache.clear(); // rotated names come and go
    cache.set(path, hit);
    return hit;
  };
}
