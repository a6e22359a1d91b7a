/**
 * The nginx configuration reader: a lexer faithful to nginx, an include-resolving parser, and
 * the logging model (`log_format`, `access_log`, `upstream_log`, descriptor caches, maps)
 * extracted from the directive tree.
 * @example
 * import { readNginxConf } from './format/nginx-conf/index.ts';
 * const conf = readNginxConf('/etc/nginx/nginx.conf');
 * for (const log of conf.logs) if (!log.off) console.log(log.path, log.format.format);
 * @module
 */
export { extractNginxConf, type ReadNginxConfOptions, readNginxConf } from './extract.ts';
export { type ConfFileSystem, memoryConfFileSystem, nodeConfFileSystem } from './fs.ts';
export { type ConfStatement, type ConfWord, lexNginxConf, unescapeConfWord } from './lexer.ts';
export type {
  CacheDirective,
  ConfContext,
  ConfModule,
  ConfSource,
  ConfWarning,
  FormatDirective,
  LogDirective,
  NginxConf,
  NginxLog,
  NginxLogFormat,
  NginxLogOff,
  NginxLogTarget,
  NginxMap,
  NginxMapEntry,
  NginxOpenLogFileCache,
  ResolvedLogFormat,
  SyslogTarget,
} from './model.ts';
export {
  type Directive,
  type ParsedNginxConf,
  type ParseNginxConfOptions,
  parseNginxConf,
} from './parse.ts';
export { parseSyslogTarget, SYSLOG_FACILITIES, SYSLOG_SEVERITIES } from './syslog.ts';
export { parseNginxSeconds, parseNginxSize, parseNginxTime } from './units.ts';
