/**
 * `compileNginx`: one nginx `log_format` string → a renderer and a parser.
 * @module
 */
import { LogtallyError } from '../errors.ts';
import type { EscapeMode } from './escape.ts';
import { compileParser } from './parse.ts';
import { NGINX_PRESETS } from './presets.ts';
import { compileRenderer } from './render.ts';
import { tokenizeNginxFormat } from './tokenize.ts';
import type { CompiledNginxFormat, NginxCompileOptions } from './types.ts';
import { nginxVariable, type VariableInfo } from './variables.ts';

const MODES: readonly EscapeMode[] = ['default', 'json', 'none'];

/**
 * Compiles an nginx log format.
 * @throws FormatSyntaxError (code `ERR_FORMAT_SYNTAX`) with the column of a malformed variable.
 * @example
 * const f = compileNginx('$remote_addr "$request" $status');
 * f.render({ remote_addr: '10.0.0.1', request: 'GET / HTTP/1.1', status: 200 });
 * // → '10.0.0.1 "GET / HTTP/1.1" 200'
 * f.parse('10.0.0.1 "GET / HTTP/1.1" 200'); // → { remote_addr: '10.0.0.1', request: 'GET / HTTP/1.1', status: 200 }
 */
export function compileNginx(format: string, opts: NginxCompileOptions = {}): CompiledNginxFormat {
  const escape = opts.escape ?? 'default';
  if (!MODES.includes(escape)) {
    throw new LogtallyError(
      'ERR_FORMAT_OPTION',
      `unknown escape mode "${escape}" (expected default, json or none)`,
    );
  }
  const segments = tokenizeNginxFormat(format);
  const seen = new Set<string>();
  const variables: VariableInfo[] = [];
  for (const s of segments) {
    if (s.kind === 'variable' && !seen.has(s.name)) {
      seen.add(s.name);
      variables.push(nginxVariable(s.name));
    }
  }
  const render = compileRenderer(segments, escape, opts.utcOffset ?? 'local');
  const { parse, split, layout } = compileParser(segments, escape);
  return { dialect: 'nginx', format, escape, segments, variables, render, parse, split, layout };
}

/**
 * Compiles a predefined format: `combined`, `upstream-combined` or `logtail`.
 * @throws LogtallyError `ERR_FORMAT_UNKNOWN_PRESET` for any other name.
 */
export function compileNginxPreset(name: string, opts: NginxCompileOptions = {}): CompiledNginxFormat {
  const preset = Object.hasOwn(NGINX_PRESETS, name) ? NGINX_PRESETS[name] : undefined;
  if (!preset) {
    throw new LogtallyError(
      'ERR_FORMAT_UNKNOWN_PRESET',
      `unknown preset "${name}" (expected one of: ${Object.keys(NGINX_PRESETS).join(', ')})`,
    );
  }
  return compileNginx(preset.format, opts);
}
