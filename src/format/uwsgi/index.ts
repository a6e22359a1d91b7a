/**
 * The uWSGI dialect of the format engine (`logformat`, and uWSGI's built-in request line).
 * @module
 */
export { compileUwsgi, compileUwsgiPreset } from './compile.ts';
export {
  knownUwsgiLogvars,
  type UwsgiLogvarInfo,
  type UwsgiLogvarKind,
  type UwsgiLogvarType,
  uwsgiLogvar,
} from './logvars.ts';
export {
  UWSGI_APACHE_COMBINED,
  UWSGI_COMPATIBLE,
  UWSGI_DEFAULT_LINE,
  UWSGI_DEFAULT_LINE_MICROS,
  UWSGI_PRESETS,
  type UwsgiPreset,
} from './presets.ts';
export { tokenizeUwsgiFormat, type UwsgiSegment } from './tokenize.ts';
export type { CompiledUwsgiFormat, UwsgiCompileOptions } from './types.ts';
