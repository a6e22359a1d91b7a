/**
 * The log writer: nginx `access_log` / `upstream_log` semantics for Node — buffered and gzip
 * files, paths with variables and their descriptor cache, syslog, conditions, reopen.
 * See docs/writer.md for the durability contract.
 * @module
 */
export {
  type ErrorHandler,
  type WriterDiagnostic,
  type WriterOperation,
  type WriterStats,
  writerErrorChannel,
} from './diagnostics.ts';
export {
  createLogs,
  groupOf,
  type LogGroup,
  type LogSpec,
  logsFromNginxConf,
  type NginxLogOptions,
} from './group.ts';
export { gzipMember, gzipParameters } from './gzip.ts';
export { createLog, type Log } from './log.ts';
export type { LogOptions, LogPredicate, OpenFileCacheOptions } from './options.ts';
export { openLogs, type Reopenable } from './registry.ts';
export { installSignalHandlers, type SignalOptions } from './signals.ts';
export { syslogHeader, syslogTime } from './syslog-sink.ts';
export type { Clock, WriterTimers } from './timers.ts';
