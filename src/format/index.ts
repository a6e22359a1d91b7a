/**
 * The format engine: compile a log format once into a renderer (record → line) and a parser
 * (line → fields). Pure: no I/O.
 * @module
 */
export { decodeBytes, encodeLine, encodeString } from './bytes.ts';
export * from './envoy/index.ts';
export {
  ConfError,
  type ErrorCode,
  ErrorCodes,
  FormatSyntaxError,
  LineParseError,
  LogtallyError,
} from './errors.ts';
export * from './nginx/index.ts';
export * from './nginx-conf/index.ts';
export * from './record/index.ts';
export * from './registry.ts';
export type { CompiledFormat, Dialect, FieldObject, FormatVariable } from './types.ts';
export * from './uwsgi/index.ts';
