/**
 * Text format strings: the renderer (record → line) and the parser (line → typed fields).
 *
 * Envoy escapes nothing in a text format: a header value is copied byte for byte, quotes and
 * control characters included (like nginx `escape=none`). The parser therefore finds each
 * field by the literal text that follows it in the format (its anchor). A fast scanner takes
 * the first occurrence of each anchor and checks every value against its operator's type; when
 * that split is not valid (a value contains its own anchor, two operators touch), a backtracking
 * regular expression built from the same format finds a split Envoy could have written.
 * @module
 */

import { LineParseError } from '../errors.ts';
import { scanCost, searchBudget } from '../search-budget.ts';
import type { Fields, FieldValue, RenderSource, RenderValue } from '../types.ts';
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

const OUT_OF_BUDGET = Symbol('out of budget');

function show(s: string): string {
  return JSON.stringify(s);
}

/** Builds `parse(text)` for a format's segments; `unset` as for the renderer. */
export function compileTextParser(
  segments: readonly EnvoySegment[],
  runtimes: ReadonlyMap<EnvoySegment, OperatorRuntime>,
  unset: string,
): (line: string) => Fields | LineParseError {
  const { prefix, runtimes: rts, anchors } = layout(segments, runtimes);
  const n = rts.length;
  const names = rts.map((r) => r.op.key);
  const winnerIndex = [...fieldWinners(rts.map((r) => r.op))].map(
    ([name, op]) => [name, rts.findIndex((r) => r.op === op)] as const,
  );
  const lenient: TextConverter[] = rts.map((r) => r.converter(unset));
  /** Converters per level (strict, medium, lenient), unset text mapped to null. */
  const levels: TextConverter[][] = [0, 1, 2].map((level) =>
    rts.map((r) => {
      const set = r.levels[level] as TextConverter;
      const u = r.textUnset;
      return (raw: string) => (raw === unset || raw === u ? null : set(raw));
    }),
  );

  /**
   * Finds the split of `line` into field values: the first anchor occurrences that give every
   * operator a valid value, trying later occurrences (backtracking) where a value contains its
   * own anchor. Failed (field, position) states are remembered, and the work is bounded:
   * `searchBudget` (shared by the three strictness levels of one line), then the line is given up
   * as ambiguous.
   */
  function split(
    line: string,
    conv: readonly TextConverter[],
    budget: { left: number },
  ): FieldValue[] | undefined | 'budget' {
    const L = line.length;
    const out: FieldValue[] = new Array(n);
    const failed = new Set<number>();
    const go = (i: number, pos: number): boolean => {
      const anchor = anchors[i] as string;
      const c = conv[i] as TextConverter;
      if (i === n - 1) {
        const end = L - anchor.length;
        if (end < pos || line.indexOf(anchor, end) !== end) return false;
        const v = c(line.slice(pos, end));
        if (v === undefined) return false;
        out[i] = v;
        return true;
      }
      const key = i * (L + 1) + pos;
      if (failed.has(key)) return false;
      // Each anchor search is charged for the characters it looks at, each candidate for its length.
      let end = anchor === '' ? pos : line.indexOf(anchor, pos);
      if (anchor !== '') budget.left -= scanCost(end, pos, L);
      while (end !== -1) {
        budget.left -= 16 + end - pos;
        if (budget.left < 0) throw OUT_OF_BUDGET;
        const v = c(line.slice(pos, end));
        if (v !== undefined && go(i + 1, end + anchor.length)) {
          out[i] = v;
          return true;
        }
        if (anchor === '') end = end < L ? end + 1 : -1;
        else {
          const from = end + 1;
          end = line.indexOf(anchor, from);
          budget.left -= scanCost(end, from, L);
        }
      }
      failed.add(key);
      return false;
    };
    try {
      return go(0, prefix.length) ? out : undefined;
    } catch (e) {
      if (e === OUT_OF_BUDGET) return 'budget';
      throw e;
    }
  }

  function explain(line: string): LineParseError {
    if (line.indexOf(prefix) !== 0) {
      return new LineParseError(`expected ${show(prefix)} at the start of the line`, 1);
    }
    let pos = prefix.length;
    for (let i = 0; i < n; i++) {
      const anchor = anchors[i] as string;
      const last = i === n - 1;
      const end = last ? line.length - anchor.length : line.indexOf(anchor, pos);
      if (end < pos || (last && line.indexOf(anchor, end) !== end)) {
        return new LineParseError(
          last && anchor === ''
            ? `unexpected end of line in %${names[i]}%`
            : `expected ${show(anchor)} after %${names[i]}%`,
          last ? Math.max(pos, end) + 1 : pos + 1,
        );
      }
      const raw = line.slice(pos, end);
      if ((lenient[i] as TextConverter)(raw) === undefined) {
        return new LineParseError(`invalid value ${show(raw)} for %${names[i]}%`, pos + 1);
      }
      pos = end + anchor.length;
    }
    return new LineParseError('line does not match the format', 1);
  }

  function slowParse(line: string): Fields | LineParseError {
    const out: Fields = {};
    if (n === 0) return line === prefix ? out : explain(line);
    const budget = { left: searchBudget(line.length) };
    let values: FieldValue[] | undefined | 'budget';
    for (const level of levels) {
      values = split(line, level as TextConverter[], budget);
      if (values !== undefined) break;
    }
    if (values === 'budget') {
      return new LineParseError('ambiguous line: gave up searching for a split that matches the format', 1);
    }
    if (values === undefined) return explain(line);
    for (const [name, i] of winnerIndex) out[name] = values[i] as FieldValue;
    return out;
  }

  const scannable = n > 0 && anchors.every((a, i) => a !== '' || i === n - 1);
  return scannable ? generateScanner(prefix, rts, anchors, unset, slowParse) : slowParse;
}

/**
 * Generates the scanner for one format as straight-line code (one `indexOf` per anchor, the
 * unset check and the converter call inline, one object literal), so every record has the same
 * shape. Only field names and unset texts enter the source, quoted with JSON.stringify; anchors
 * and converters are passed in as values.
 */
function generateScanner(
  prefix: string,
  rts: readonly OperatorRuntime[],
  anchors: readonly string[],
  unset: string,
  slow: (line: string) => Fields | LineParseError,
): (line: string) => Fields | LineParseError {
  const n = rts.length;
  const win = fieldWinners(rts.map((rt) => rt.op));
  // (indexOf at a known position is much faster than startsWith/endsWith in V8.)
  const lit = (t: string) => JSON.stringify(t);
  let body = `${prefix === '' ? '' : `if (line.indexOf(${lit(prefix)}) !== 0) return slow(line);\n`}let pos = ${prefix.length}, end = 0, s = '';\n`;
  for (let i = 0; i < n; i++) {
    const anchor = anchors[i] as string;
    const rt = rts[i] as OperatorRuntime;
    if (i === n - 1) {
      body += `end = line.length - ${anchor.length};\n`;
      body +=
        anchor === ''
          ? 'if (end < pos) return slow(line);\n'
          : `if (end < pos || line.indexOf(${lit(anchor)}, end) !== end) return slow(line);\n`;
    } else {
      body += `end = line.indexOf(${lit(anchor)}, pos);\nif (end === -1) return slow(line);\n`;
    }
    const unsetTest = [unset, ...(rt.textUnset !== null && rt.textUnset !== unset ? [rt.textUnset] : [])]
      .map((u) => `s === ${JSON.stringify(u)}`)
      .join(' || ');
    body += `s = line.slice(pos, end);\n`;
    if (rt.convertSet === undefined) {
      body += `const v${i} = ${unsetTest} ? null : s;\n`;
    } else {
      body += `const v${i} = ${unsetTest} ? null : C${i}(s);\nif (v${i} === undefined) return slow(line);\n`;
    }
    if (i < n - 1) body += `pos = end + ${anchor.length};\n`;
  }
  const props = [...win]
    .map(([name, op]) => `${JSON.stringify(name)}: v${rts.findIndex((rt) => rt.op === op)}`)
    .join(', ');
  body += `return { ${props} };`;
  const params = ['slow', ...rts.map((_, i) => `C${i}`)];
  const factory = new Function(...params, `return function parse(line) {\n${body}\n};`) as (
    ...args: unknown[]
  ) => (line: string) => Fields | LineParseError;
  return factory(slow, ...rts.map((rt) => rt.convertSet));
}
