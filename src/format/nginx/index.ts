/**
 * The nginx dialect of the format engine.
 * @module
 */
export { compileNginx, compileNginxPreset } from './compile.ts';
export {
  type EscapeMode,
  escapeDefault,
  escapeJson,
  unescapeDefault,
  unescapeJson,
} from './escape.ts';
export {
  NGINX_COMBINED,
  NGINX_LOGTAIL,
  NGINX_PRESETS,
  NGINX_UPSTREAM_COMBINED,
  type NginxPreset,
} from './presets.ts';
export {
  parseTimeIso,
  parseTimeLocal,
  timeIsoFormatter,
  timeLocalFormatter,
  type UtcOffset,
} from './time.ts';
export { type Segment, tokenizeNginxFormat } from './tokenize.ts';
export type {
  CompiledNginxFormat,
  Fields,
  FieldValue,
  ListValue,
  NginxCompileOptions,
  RenderSource,
  RenderValue,
} from './types.ts';
export { type UpstreamContact, upstreamContacts } from './upstream.ts';
export { knownNginxVariables, nginxVariable, type VariableInfo, type VariableType } from './variables.ts';
