/**
 * `readNginxConf`: reads an nginx configuration and extracts what logtally needs from it —
 * log formats, logs, descriptor caches, maps, self-defined variables — checking the log
 * directives as nginx does.
 * @module
 */
import { dirname, resolve } from 'node:path';
import { ConfError } from '../errors.ts';
import { NGINX_COMBINED, NGINX_UPSTREAM_COMBINED } from '../nginx/presets.ts';
import { parseOpenLogFileCache } from './cache.ts';
import { directiveError } from './checks.ts';
import { definedVariables } from './definitions.ts';
import { type ParsedLogFormat, parseLogFormat } from './formats.ts';
import { isKnownVariable } from './known.ts';
import { type ParsedLogDirective, parseLogDirective } from './logs.ts';
import { parseMap } from './maps.ts';
import type {
  ConfContext,
  ConfModule,
  ConfWarning,
  FormatDirective,
  LogDirective,
  NginxConf,
  NginxLog,
  NginxMap,
  NginxOpenLogFileCache,
  ResolvedLogFormat,
} from './model.ts';
import { type Directive, type ParsedNginxConf, type ParseNginxConfOptions, parseNginxConf } from './parse.ts';

export interface ReadNginxConfOptions extends ParseNginxConfOptions {
  /**
   * The directory relative log paths are resolved against (nginx's `-p` prefix); the directory
   * of the main file by default.
   */
  readonly prefix?: string;
}

/** Blocks whose contents are data, not directives. */
const DATA_BLOCKS = new Set(['map', 'geo', 'split_clients', 'types', 'charset_map']);

const PREDEFINED: Readonly<Record<FormatDirective, ResolvedLogFormat>> = {
  log_format: { name: 'combined', escape: 'default', format: NGINX_COMBINED, source: 'predefined' },
  upstream_log_format: {
    name: 'combined',
    escape: 'default',
    format: NGINX_UPSTREAM_COMBINED,
    source: 'predefined',
  },
};

interface Ordered {
  /** Position of the directive in reading order. */
  readonly order: number;
}
interface FormatEntry extends Ordered, ParsedLogFormat {}
interface PendingLog extends Ordered {
  readonly d: Directive;
  readonly module: ConfModule;
  readonly parsed: ParsedLogDirective;
  readonly context: readonly ConfContext[];
  readonly serverNames: readonly string[];
}

function serverNamesOf(server: Directive): string[] {
  return (server.block ?? []).filter((d) => d.name === 'server_name').flatMap((d) => d.args);
}

function toResolved(entry: FormatEntry): ResolvedLogFormat {
  const { name, escape, format, directive } = entry.def;
  return { name, escape, format, source: directive };
}

/**
 * Extracts the model from an already parsed configuration.
 * @throws ConfError as `readNginxConf` does.
 */
export function extractNginxConf(
  parsed: ParsedNginxConf,
  opts: { readonly prefix?: string } = {},
): NginxConf {
  const prefix = resolve(opts.prefix ?? dirname(parsed.path));
  const formats: FormatEntry[] = [];
  const pending: PendingLog[] = [];
  const caches: NginxOpenLogFileCache[] = [];
  const maps: NginxMap[] = [];
  const warnings: (ConfWarning & Ordered)[] = [];
  const buffered = new Map<string, { buffer?: number; flush?: number; gzip?: number }>();
  let order = 0;

  const addFormat = (d: Directive, module: ConfModule, context: readonly ConfContext[]): void => {
    if (context.length > 1) throw directiveError(d, `"${d.name}" directive is not allowed here`);
    const entry: FormatEntry = { order: order++, ...parseLogFormat(d, module) };
    const { name, directive } = entry.def;
    const taken =
      (module === 'http' && name === 'combined') ||
      formats.some((f) => f.def.module === module && f.def.directive === directive && f.def.name === name);
    if (taken) throw directiveError(d, `duplicate "${directive}" name "${name}"`);
    formats.push(entry);
  };

  const addLog = (
    d: Directive,
    module: ConfModule,
    context: readonly ConfContext[],
    serverNames: readonly string[],
  ): void => {
    const parsedLog = parseLogDirective(d, module, prefix);
    if (!parsedLog.off && parsedLog.buffer) {
      const key = `${d.name}\0${parsedLog.path}`;
      const params = { buffer: parsedLog.buffer, flush: parsedLog.flush, gzip: parsedLog.gzip };
      const before = buffered.get(key);
      if (!before) buffered.set(key, params);
      else if (
        before.buffer !== params.buffer ||
        before.flush !== params.flush ||
        before.gzip !== params.gzip
      ) {
        throw directiveError(
          d,
          `${d.name} "${parsedLog.rawPath}" already defined with conflicting parameters`,
        );
      }
    }
    pending.push({ order: order++, d, module, parsed: parsedLog, context, serverNames });
  };

  const walk = (
    list: readonly Directive[],
    context: readonly ConfContext[],
    module: ConfModule,
    serverNames: readonly string[],
  ): void => {
    for (const d of list) {
      if (module === 'stream' && /^upstream_(log|log_format|open_log_file_cache)$/.test(d.name)) {
        throw directiveError(d, `"${d.name}" directive is not allowed here`);
      }
      switch (d.name) {
        case 'log_format':
        case 'upstream_log_format':
          addFormat(d, module, context);
          continue;
        case 'access_log':
        case 'upstream_log':
          addLog(d, module, context, serverNames);
          continue;
        case 'open_log_file_cache':
        case 'upstream_open_log_file_cache':
          caches.push(parseOpenLogFileCache(d, module, context));
          order++;
          continue;
        case 'map':
          maps.push(parseMap(d, module));
          order++;
          continue;
      }
      if (!d.block || DATA_BLOCKS.has(d.name)) continue;
      const inner = [...context, { directive: d.name, args: d.args }];
      const innerModule = context.length === 0 && d.name === 'stream' ? 'stream' : module;
      walk(d.block, inner, innerModule, d.name === 'server' ? serverNamesOf(d) : serverNames);
    }
  };
  walk(parsed.root, [], 'http', []);

  // Variables: every format is checked against nginx's tables and the configuration's own.
  const defined = definedVariables(parsed.root);
  const definedSet = new Set(defined.map((v) => v.toLowerCase()));
  for (const f of formats) {
    const at = { file: f.def.file, line: f.def.line, order: f.order };
    if (f.joinWarning) warnings.push({ ...at, message: f.joinWarning });
    for (const v of f.variables) {
      if (!isKnownVariable(v, f.def.module) && !definedSet.has(v)) {
        warnings.push({ ...at, message: `unknown "${v}" variable` });
      }
    }
  }

  const lookup = (module: ConfModule, directive: FormatDirective, name: string): FormatEntry | undefined => {
    const same = (a: string): boolean =>
      module === 'stream' ? a === name : a.toLowerCase() === name.toLowerCase();
    return formats.find((f) => f.def.module === module && f.def.directive === directive && same(f.def.name));
  };

  const resolveFormat = (p: PendingLog, name: string): ResolvedLogFormat => {
    const directive = p.d.name as LogDirective;
    const isCombined = name.toLowerCase() === 'combined' && p.module === 'http';
    let entry: FormatEntry | undefined;
    if (directive === 'upstream_log') {
      if (isCombined) return PREDEFINED.upstream_log_format;
      entry = lookup('http', 'upstream_log_format', name) ?? lookup('http', 'log_format', name);
    } else {
      if (isCombined) return PREDEFINED.log_format;
      entry = lookup(p.module, 'log_format', name);
    }
    if (!entry) throw new ConfError('ERR_CONF_FORMAT', `unknown log format "${name}"`, p.d.file, p.d.line);
    if (entry.order > p.order) {
      warnings.push({
        file: p.d.file,
        line: p.d.line,
        order: p.order,
        message:
          `log format "${name}" is defined after this ${directive} (${entry.def.file}:${entry.def.line}); ` +
          `nginx requires the definition first (unknown log format "${name}")`,
      });
    }
    return toResolved(entry);
  };

  const logs: NginxLog[] = pending.map((p): NginxLog => {
    const head = { directive: p.d.name as LogDirective, module: p.module };
    const tail = { context: p.context, serverNames: p.serverNames, file: p.d.file, line: p.d.line };
    const l = p.parsed;
    if (l.off) return { ...head, off: true, rawPath: l.rawPath, ...tail };
    const formatName = l.formatName ?? 'combined';
    return {
      ...head,
      off: false,
      rawPath: l.rawPath,
      path: l.path,
      hasVariables: l.hasVariables,
      ...(l.syslog ? { syslog: l.syslog } : {}),
      formatName,
      format: resolveFormat(p, formatName),
      ...(l.buffer !== undefined ? { buffer: l.buffer } : {}),
      ...(l.gzip !== undefined ? { gzip: l.gzip } : {}),
      ...(l.flush !== undefined ? { flush: l.flush } : {}),
      ...(l.if !== undefined ? { if: l.if } : {}),
      ...(l.ifNot !== undefined ? { ifNot: l.ifNot } : {}),
      ...tail,
    };
  });

  warnings.sort((a, b) => a.order - b.order);
  return {
    path: parsed.path,
    prefix,
    files: parsed.files,
    formats: formats.map((f) => f.def),
    logs,
    openLogFileCaches: caches,
    maps,
    variablesDefinedByConfig: defined,
    warnings: warnings.map(({ order: _order, ...w }) => w),
    root: parsed.root,
  };
}

/**
 * Reads an nginx configuration (following `include`s) and extracts its logging model.
 * @param path the main configuration file.
 * @param opts `prefix` for relative log paths (default: the main file's directory); `confPrefix`
 *   for relative includes (same default); `fs` to read from somewhere other than the disk.
 * @throws ConfError with code ERR_CONF_SYNTAX, ERR_CONF_INCLUDE, ERR_CONF_DIRECTIVE or
 *   ERR_CONF_FORMAT, its message `file:line: …` worded as nginx words it.
 * @example readNginxConf('/etc/nginx/nginx.conf').logs.filter((l) => !l.off)
 */
export function readNginxConf(path: string, opts: ReadNginxConfOptions = {}): NginxConf {
  return extractNginxConf(parseNginxConf(path, opts), opts);
}
