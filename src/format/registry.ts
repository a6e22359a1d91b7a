/**
 * One entry point for every dialect: compile a format given as a preset name or a format
 * string, as the CLI flags `--dialect` and `--format` take them.
 * @module
 */
import { compileEnvoy } from './envoy/compile.ts';
import { ENVOY_PRESETS } from './envoy/presets.ts';
import { LogtallyError } from './errors.ts';
import { compileNginx } from './nginx/compile.ts';
import type { EscapeMode } from './nginx/escape.ts';
import { NGINX_PRESETS } from './nginx/presets.ts';
import { unescapeConfWord } from './nginx-conf/lexer.ts';
import type { CompiledFormat, Dialect } from './types.ts';
import { compileUwsgi } from './uwsgi/compile.ts';
import { UWSGI_PRESETS } from './uwsgi/presets.ts';

export const DIALECTS: readonly Dialect[] = ['nginx', 'uwsgi', 'envoy'];

export interface FormatSpec {
  dialect?: Dialect;
  /** A preset name of the dialect, or a format string. */
  format: string;
  /** nginx only. */
  escape?: EscapeMode;
  /** uWSGI only: the `--logdate` strftime format used by `%(ftime)`. */
  logdate?: string;
}

export interface PresetInfo {
  readonly dialect: Dialect;
  readonly name: string;
  readonly format: string;
  readonly description: string;
}

/** Every preset of every dialect. */
export function presets(): PresetInfo[] {
  return [
    ...Object.values(NGINX_PRESETS).map((p) => ({ dialect: 'nginx' as const, ...p })),
    ...Object.values(ENVOY_PRESETS).map((p) => ({ dialect: 'envoy' as const, ...p })),
    ...Object.values(UWSGI_PRESETS).map((p) => ({
      dialect: 'uwsgi' as const,
      name: p.name,
      format: p.format,
      description: p.description,
    })),
  ];
}

/** The preset `name` of `dialect`, if there is one. */
export function findPreset(dialect: Dialect, name: string): PresetInfo | undefined {
  return presets().find((p) => p.dialect === dialect && p.name === name);
}

/** Compiles a preset name or a format string of any dialect. */
export function compileFormat(spec: FormatSpec): CompiledFormat {
  const dialect = spec.dialect ?? 'nginx';
  if (!DIALECTS.includes(dialect)) {
    throw new LogtallyError(
      'ERR_FORMAT_OPTION',
      `unknown dialect "${dialect}" (expected nginx, uwsgi or envoy)`,
    );
  }
  const preset = findPreset(dialect, spec.format);
  const text = preset ? preset.format : spec.format;
  switch (dialect) {
    case 'nginx':
      // A format string from a flag reads like a quoted string in nginx.conf: `\t` is a tab.
      return compileNginx(preset ? text : unescapeConfWord(text), { escape: spec.escape ?? 'default' });
    case 'uwsgi': {
      const p = Object.hasOwn(UWSGI_PRESETS, spec.format) ? UWSGI_PRESETS[spec.format] : undefined;
      return p
        ? compileUwsgi(p.format, { ...p.options })
        : compileUwsgi(text, spec.logdate ? { logdate: spec.logdate } : {});
    }
    case 'envoy':
      return compileEnvoy(text);
  }
}
