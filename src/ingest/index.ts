/**
 * The ingest layer of the collector: follows log files through rotation (`createTailer`) and
 * receives nginx's syslog datagrams (`createSyslogListener`). Both deliver batches of lines as bytes
 * with their bounds (`LineBatch`; decoded losslessly on demand, see ../format/bytes.ts); parsing and
 * counting happen downstream.
 * @module
 */
export { type BackoffOptions, DEFAULT_BACKOFF } from './backoff.ts';
export { LineBatch } from './line-batch.ts';
export { DEFAULT_MAX_LINE_BYTES, LineSplitter, type LineSplitterOptions } from './line-splitter.ts';
export {
  parseSyslogDatagram,
  parseSyslogFrame,
  type SyslogBatch,
  type SyslogDatagram,
  type SyslogFrame,
  type SyslogMalformed,
} from './syslog-frame.ts';
export {
  createSyslogListener,
  parseListenAddress,
  type SyslogEvent,
  type SyslogListener,
  type SyslogListenerOptions,
  type SyslogSource,
  type SyslogStats,
} from './syslog-listener.ts';
export {
  createTailer,
  type TailEvent,
  type Tailer,
  type TailerOptions,
  type TailFileStats,
  type TailStats,
  type TailTotals,
} from './tailer.ts';
