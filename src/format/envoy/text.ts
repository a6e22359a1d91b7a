/**
 * Text format strings: the renderer (record → line) and the parser (line → typed fields).
 *
 * Envoy escapes nothing in a text format: a header value is copied byte for byte, quotes and
 * control characters included (like nginx `escape=none`). The parser therefore finds each
 * field by the literal text that follows it in the format (its anchor): this module builds the
 * layout (each operator's converters, unset texts, three strictness levels for the search, the
 * `%FIELD%` winners) and the shared compiler (`../scanner.ts`) does the rest.
 * @module
 */

import { type CompiledScanner, compileScanner, type ScanField } from '../scanner.ts';
import type { RenderSource, RenderValue } from '../types.ts';
import { type EnvoySegment, fieldWinners } from './tokenize.ts';
import type { OperatorRuntime, TextConverter } from './values.ts';

interface Layout {
  prefix: string;
  runtimes: OperatorRuntime[];
  /** The literal text after each operator. */
  anchors: string[];
}

function layout(
  segments: readonly EnvoySegment[],
  runtimes: ReadonlyMap<EnvoySegment, OperatorRuntime>,
): Layout {
  let prefix = '';
  const rts: OperatorRuntime[] = [];
  const anchors: string[] = [];
  for (const seg of segments) {
    if (seg.kind === 'literal') {
      if (rts.length === 0) prefix += seg.text;
      else anchors[rts.length - 1] += seg.text;
    } else {
      rts.push(runtimes.get(seg) as OperatorRuntime);
      anchors.push('');
    }
  }
  return { prefix, runtimes: rts, anchors };
}

/**
 * Builds `render(vars)`; `unset` is what an unset value is written as (`-`, or `` with
 * omit_empty_values). For object sources the renderer is generated as one concatenation
 * expression (`P + W0(src["REQ(:METHOD)"]) + " " + …`); operators with fallbacks and function
 * sources go through each operator's getter.
 */
export function compileTextRenderer(
  segments: readonly EnvoySegment[],
  runtimes: ReadonlyMap<EnvoySegment, OperatorRuntime>,
  unset: string,
): (src: RenderSource) => string {
  const { prefix, runtimes: rts, anchors } = layout(segments, runtimes);
  const n = rts.length;
  const writers = rts.map((rt) => rt.writer(unset));
  const slow = (src: RenderSource): string => {
    let out = prefix;
    for (let i = 0; i < n; i++) {
      out += (writers[i] as (v: RenderValue) => string)((rts[i] as OperatorRuntime).get(src)) + anchors[i];
    }
    return out;
  };
  let expr = JSON.stringify(prefix);
  for (let i = 0; i < n; i++) {
    const rt = rts[i] as OperatorRuntime;
    const value = rt.direct ? `src[${JSON.stringify(rt.op.key)}]` : `G[${i}](src)`;
    expr += ` + W${i}(${value})`;
    if (anchors[i] !== '') expr += ` + ${JSON.stringify(anchors[i])}`;
  }
  const params = ['G', 'slow', ...writers.map((_, i) => `W${i}`)];
  const factory = new Function(
    ...params,
    `return function render(src) {\nif (typeof src === 'function') return slow(src);\nreturn ${expr};\n};`,
  ) as (...args: unknown[]) => (src: RenderSource) => string;
  return factory(
    rts.map((rt) => rt.get),
    slow,
    ...writers,
  );
}

/** Builds `parse(text)` (and the layout it comes from) for a format's segments; `unset` as for the renderer. */
export function compileTextParser(
  segments: readonly EnvoySegment[],
  runtimes: ReadonlyMap<EnvoySegment, OperatorRuntime>,
  unset: string,
): CompiledScanner {
  const { prefix, runtimes: rts, anchors } = layout(segments, runtimes);
  const record = [...fieldWinners(rts.map((r) => r.op))].map(
    ([name, op]) => [name, rts.findIndex((r) => r.op === op)] as const,
  );
  const fields: ScanField[] = rts.map((rt, i) => ({
    name: rt.op.key,
    label: `%${rt.op.key}%`,
    anchor: anchors[i] as string,
    convert: rt.converter(unset),
    nulls: [unset, ...(rt.textUnset !== null && rt.textUnset !== unset ? [rt.textUnset] : [])],
    set: rt.convertSet ?? null,
    bytes: byteKind(rt),
  }));
  /** Converters per level (strict, medium, lenient), unset text mapped to null: one search budget for all. */
  const levels: TextConverter[][] = [0, 1, 2].map((level) =>
    rts.map((r) => {
      const set = r.levels[level] as TextConverter;
      const u = r.textUnset;
      return (raw: string) => (raw === unset || raw === u ? null : set(raw));
    }),
  );
  return compileScanner({ prefix, fields, record }, { levels });
}

/**
 * What the fast parser does with an operator's text (its strict converter, `set`), for the byte
 * projection (see ScanField.bytes): plain strings are every text, integers (`RESPONSE_CODE`,
 * `DURATION`, ports) C integers without leading zeros, tokens (`UPSTREAM_HOST`, addresses) texts
 * without whitespace; the others (times, flags, metadata, `PROTOCOL`) only their converter knows.
 */
function byteKind(rt: OperatorRuntime): ScanField['bytes'] {
  const op = rt.op;
  if (rt.convertSet === undefined) return rt.textUnset === null ? 'text' : undefined;
  switch (op.type) {
    case 'int':
    case 'duration':
    case 'port':
      return 'cuint';
    case 'token':
    case 'grpc_status':
      return op.name === 'PROTOCOL' ? undefined : 'token';
    default:
      return undefined;
  }
}
