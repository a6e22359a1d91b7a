/**
 * `compileUwsgi`: one uWSGI `logformat` string → a renderer and a parser.
 * @module
 */
import { LogtallyError } from '../errors.ts';
import { type UwsgiLogvarInfo, type UwsgiLogvarType, uwsgiLogvar } from './logvars.ts';
import { compileParser } from './parse.ts';
import { UWSGI_PRESETS } from './presets.ts';
import { compileRenderer, type RenderContext } from './render.ts';
import { tokenizeUwsgiFormat } from './tokenize.ts';
import type { CompiledUwsgiFormat, UwsgiCompileOptions } from './types.ts';

/**
 * Compiles a uWSGI logformat. Never throws on the format: uWSGI accepts any string (see
 * tokenize.ts for how it reads odd ones).
 * @throws LogtallyError `ERR_FORMAT_OPTION` for a `utcOffset` that is not a finite number or `'local'`.
 * @example
 * const f = compileUwsgi('%(addr) "%(method) %(uri) %(proto)" %(status)');
 * f.render({ addr: '10.0.0.1', method: 'GET', uri: '/q"x', proto: 'HTTP/1.1', status: 200 });
 * // → '10.0.0.1 "GET /q"x HTTP/1.1" 200'
 * f.parse('10.0.0.1 "GET /q"x HTTP/1.1" 200');
 * // → { addr: '10.0.0.1', method: 'GET', uri: '/q"x', proto: 'HTTP/1.1', status: 200 }
 */
export function compileUwsgi(format: string, opts: UwsgiCompileOptions = {}): CompiledUwsgiFormat {
  const tz = opts.utcOffset ?? 'local';
  if (tz !== 'local' && !(typeof tz === 'number' && Number.isFinite(tz))) {
    throw new LogtallyError(
      'ERR_FORMAT_OPTION',
      `invalid utcOffset ${String(tz)} (minutes east of UTC, or 'local')`,
    );
  }
  const builtin = opts.builtin === true;
  const ctx: RenderContext = { tz, logdate: opts.logdate, builtin };
  const segments = tokenizeUwsgiFormat(format);
  let prefix = '';
  const names: string[] = [];
  const types: UwsgiLogvarType[] = [];
  const texts: string[] = [];
  const seen = new Set<string>();
  const variables: UwsgiLogvarInfo[] = [];
  for (const seg of segments) {
    if (seg.kind === 'literal') {
      if (names.length === 0) prefix += seg.text;
      else texts[names.length - 1] += seg.text;
      continue;
    }
    const info = uwsgiLogvar(seg.name, builtin);
    names.push(seg.name);
    types.push(info.type);
    texts.push('');
    if (!seen.has(seg.name)) {
      seen.add(seg.name);
      variables.push(info);
    }
  }
  const render = compileRenderer(prefix, names, types, texts, ctx);
  const { parse, split, layout, projectable } = compileParser(prefix, names, types, texts, ctx);
  return {
    dialect: 'uwsgi',
    format,
    builtin,
    logdate: opts.logdate,
    segments,
    variables,
    render,
    parse,
    split,
    ...(projectable ? { layout } : {}),
  };
}

/**
 * Compiles a preset: `uwsgi-default`, `uwsgi-default-micros`, `apache-combined` or `uwsgi-compatible`.
 * @throws LogtallyError `ERR_FORMAT_UNKNOWN_PRESET` for any other name.
 */
export function compileUwsgiPreset(
  name: string,
  opts: Omit<UwsgiCompileOptions, 'builtin'> = {},
): CompiledUwsgiFormat {
  const preset = Object.hasOwn(UWSGI_PRESETS, name) ? UWSGI_PRESETS[name] : undefined;
  if (!preset) {
    throw new LogtallyError(
      'ERR_FORMAT_UNKNOWN_PRESET',
      `unknown preset "${name}" (expected one of: ${Object.keys(UWSGI_PRESETS).join(', ')})`,
    );
  }
  return compileUwsgi(preset.format, { ...opts, ...preset.options });
}
