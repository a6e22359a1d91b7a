/**
 * The Envoy dialect of the format engine: format strings, `json_format` and `typed_json_format`
 * (reference 003, `shared/spec/formats.md`).
 *
 * ```ts
 * const f = compileEnvoyPreset('envoy-default');        // Envoy's default format
 * const line = f.render({ START_TIME: new Date(), 'REQ(:METHOD)': 'GET', RESPONSE_CODE: 200, … });
 * const fields = f.parse(line);                        // { START_TIME: 1795373706.123, … }
 * const j = compileEnvoyJson(parseEnvoyDictionary(yamlText), { typed: true });
 * ```
 *
 * - Field names are the operators as written, without `%` and `:Z`: `START_TIME`,
 *   `START_TIME(%s.%3f)`, `REQ(X-ENVOY-ORIGINAL-PATH?:PATH)`, `DYNAMIC_METADATA(ns:key)`.
 *   Rendering also takes, when a field's own key is absent: `REQ(X)`/`REQ(Y)` for `REQ(X?Y)`;
 *   `START_TIME` for every `START_TIME(…)`; the full address for `…_WITHOUT_PORT` and the ports;
 *   the namespace object (`DYNAMIC_METADATA(ns)`, or `DYNAMIC_METADATA` holding all namespaces)
 *   for a metadata path. When an operator appears twice, parsing reports the least truncated one.
 * - Values: times are Dates, epoch seconds, or epoch nanoseconds (bigint, for `%9f`); parsed
 *   default START_TIME is epoch seconds with milliseconds; custom formats are text unless they
 *   are epoch seconds (`%s`, `%s.%3f`, `%6s`: up to 6 digits). Durations are whole milliseconds,
 *   byte counts and RESPONSE_CODE integers, ports numbers, RESPONSE_FLAGS text (`UF,URX`; an array
 *   renders too), metadata JSON values. Unset: `-` (text), `"-"` (json_format), `null`
 *   (typed_json_format); parsed as null. `omit_empty_values` writes nothing / drops the key.
 * - Text formats escape nothing (Envoy copies header bytes); parsing anchors each field on the
 *   literal text after it and backtracks when a value contains that text. `:Z` cuts to Z bytes.
 * - JSON is written as reference 003 shows it (`{"a": "b", "c": 1}`, keys in the given order,
 *   only the escapes JSON requires) or, with `jsonStyle: 'protobuf'`, as Envoy's protobuf printer
 *   writes it (compact, `<` → `\u003c`, …). Any JSON parses, whatever its spacing or key order.
 * - A format ending in a newline (the default format, every dictionary) has `lineTerminated`:
 *   `render` returns the line without the newline, and `parse` takes it without.
 * @module
 */
export { compileEnvoy, compileEnvoyPreset } from './compile.ts';
export { compileEnvoyJson } from './dictionary.ts';
export {
  type JsonStyle as EnvoyJsonStyle,
  parseStructured as parseEnvoyStructured,
  stringifyValue as stringifyEnvoyValue,
} from './json.ts';
export {
  ENVOY_RESPONSE_FLAGS,
  type EnvoyArgKind,
  type EnvoyOperatorInfo,
  type EnvoyValueType,
  envoyOperator,
  GRPC_STATUS_NAMES as ENVOY_GRPC_STATUS_NAMES,
  knownEnvoyOperators,
  METADATA_TYPES as ENVOY_METADATA_TYPES,
} from './operators.ts';
export { ENVOY_DEFAULT_FORMAT, ENVOY_PRESETS, type EnvoyPreset } from './presets.ts';
export {
  type CompiledTime as CompiledEnvoyTime,
  compileTimeFormat as compileEnvoyTimeFormat,
  parseEnvoyTime,
  type TimeInput as EnvoyTimeInput,
} from './time.ts';
export {
  type EnvoyOperator,
  type EnvoySegment,
  fieldWinners as envoyFieldWinners,
  tokenizeEnvoyFormat,
} from './tokenize.ts';
export type { CompiledEnvoyFormat, EnvoyCompileOptions, EnvoyJsonOptions, EnvoyVariable } from './types.ts';
export {
  addressPort as envoyAddressPort,
  addressWithoutPort as envoyAddressWithoutPort,
  truncateBytes as truncateEnvoyBytes,
} from './values.ts';
export { parseEnvoyDictionary } from './yaml.ts';
