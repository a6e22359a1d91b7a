/**
 * `compileEnvoy`: one Envoy format string → a renderer and a parser.
 * @module
 */
import { LogtallyError } from '../errors.ts';
import type { JsonStyle } from './json.ts';
import { ENVOY_PRESETS } from './presets.ts';
import { compileTextParser, compileTextRenderer } from './text.ts';
import { type EnvoyOperator, type EnvoySegment, tokenizeEnvoyFormat } from './tokenize.ts';
import type { CompiledEnvoyFormat, EnvoyCompileOptions, EnvoyVariable } from './types.ts';
import { type OperatorRuntime, operatorRuntime, type ValueContext } from './values.ts';

const STYLES: readonly JsonStyle[] = ['reference', 'protobuf'];

/** Validates the options shared by text and dictionary formats. */
export function contextOf(opts: EnvoyCompileOptions): ValueContext {
  const style = opts.jsonStyle ?? 'reference';
  if (!STYLES.includes(style)) {
    throw new LogtallyError(
      'ERR_FORMAT_OPTION',
      `unknown JSON style "${style}" (expected reference or protobuf)`,
    );
  }
  const tz = opts.utcOffset ?? 0;
  if (tz !== 'local' && (typeof tz !== 'number' || !Number.isFinite(tz))) {
    throw new LogtallyError(
      'ERR_FORMAT_OPTION',
      `invalid utcOffset ${String(tz)} (minutes east of UTC, or "local")`,
    );
  }
  return { tz, style };
}

/** Tokenizes a format string and builds the runtime of every operator occurrence. */
export function compileSegments(
  format: string,
  ctx: ValueContext,
): { segments: EnvoySegment[]; runtimes: Map<EnvoySegment, OperatorRuntime> } {
  const segments = tokenizeEnvoyFormat(format, ctx.tz);
  const runtimes = new Map<EnvoySegment, OperatorRuntime>();
  for (const s of segments) if (s.kind === 'operator') runtimes.set(s, operatorRuntime(s.op, ctx));
  return { segments, runtimes };
}

/** The variables of a list of operators, once each, in order of first use. */
export function variablesOf(ops: readonly EnvoyOperator[]): EnvoyVariable[] {
  const seen = new Set<string>();
  const out: EnvoyVariable[] = [];
  for (const op of ops) {
    if (seen.has(op.key)) continue;
    seen.add(op.key);
    out.push({ name: op.key, type: op.type, known: true });
  }
  return out;
}

/**
 * Compiles an Envoy format string (`format` / `text_format`).
 * @throws FormatSyntaxError (code `ERR_FORMAT_SYNTAX`) with the 1-based column of an unknown
 *   operator, missing or malformed arguments, a bad `:Z`, or an unterminated `%`.
 * @example
 * const f = compileEnvoy('%REQ(:METHOD)% %RESPONSE_CODE% %DURATION%\n');
 * f.render({ 'REQ(:METHOD)': 'GET', RESPONSE_CODE: 200, DURATION: 12 }); // → 'GET 200 12'
 * f.parse('GET 200 12'); // → { 'REQ(:METHOD)': 'GET', RESPONSE_CODE: 200, DURATION: 12 }
 */
export function compileEnvoy(format: string, opts: EnvoyCompileOptions = {}): CompiledEnvoyFormat {
  const ctx = contextOf(opts);
  const omit = opts.omitEmptyValues === true;
  const { segments, runtimes } = compileSegments(format, ctx);
  // The final newline terminates the record; render/parse work on the line without it.
  let body = segments;
  const last = segments[segments.length - 1];
  const lineTerminated = last?.kind === 'literal' && last.text.endsWith('\n');
  if (lineTerminated && last?.kind === 'literal') {
    body = segments.slice(0, -1);
    if (last.text.length > 1)
      body.push({ kind: 'literal', text: last.text.slice(0, -1), column: last.column });
  }
  const unset = omit ? '' : '-';
  const operators = segments.flatMap((s) => (s.kind === 'operator' ? [s.op] : []));
  const { parse, layout } = compileTextParser(body, runtimes, unset);
  return {
    dialect: 'envoy',
    kind: 'text',
    format,
    lineTerminated,
    omitEmptyValues: omit,
    jsonStyle: ctx.style,
    operators,
    variables: variablesOf(operators),
    segments: body,
    render: compileTextRenderer(body, runtimes, unset),
    parse,
    layout,
  };
}

/**
 * Compiles a predefined format: `envoy-default`.
 * @throws LogtallyError `ERR_FORMAT_UNKNOWN_PRESET` for any other name.
 */
export function compileEnvoyPreset(name: string, opts: EnvoyCompileOptions = {}): CompiledEnvoyFormat {
  const preset = Object.hasOwn(ENVOY_PRESETS, name) ? ENVOY_PRESETS[name] : undefined;
  if (!preset) {
    throw new LogtallyError(
      'ERR_FORMAT_UNKNOWN_PRESET',
      `unknown preset "${name}" (expected one of: ${Object.keys(ENVOY_PRESETS).join(', ')})`,
    );
  }
  return compileEnvoy(preset.format, opts);
}
