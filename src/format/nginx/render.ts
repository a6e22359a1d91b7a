/**
 * Compiles the renderer half of an nginx format: record → line, byte-for-byte as nginx writes it.
 * @see https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format
 * @module
 */
import { type EscapeMode, escaperFor, missingFor } from './escape.ts';
import { formatSeconds, timeIsoFormatter, timeLocalFormatter, type UtcOffset } from './time.ts';
import type { Segment } from './tokenize.ts';
import type { ListValue, RenderSource, RenderValue } from './types.ts';
import { nginxVariable, type VariableType } from './variables.ts';

type ValueWriter = (v: RenderValue) => string;

function listElement(type: VariableType, e: string | number | null): string {
  if (e === null) return '-';
  if (typeof e === 'string') return e;
  return type === 'list_seconds' ? formatSeconds(e) : String(Math.trunc(e));
}

function renderList(type: VariableType, v: ListValue): string {
  let out = '';
  for (let g = 0; g < v.length; g++) {
    if (g > 0) out += ' : ';
    const group = v[g] ?? [];
    for (let i = 0; i < group.length; i++) {
      if (i > 0) out += ', ';
      out += listElement(type, group[i] ?? null);
    }
  }
  return out;
}

function writerFor(type: VariableType, escape: EscapeMode, tz: UtcOffset): ValueWriter {
  const esc = escaperFor(escape);
  const missing = missingFor(escape);
  let fromNumber: (n: number) => string;
  switch (type) {
    case 'status':
      fromNumber = (n) => {
        const s = String(Math.trunc(n));
        return s.length >= 3 ? s : s.padStart(3, '0');
      };
      break;
    case 'int':
      fromNumber = (n) => String(Math.trunc(n));
      break;
    case 'seconds':
    case 'list_seconds':
      fromNumber = formatSeconds;
      break;
    case 'time_local':
      fromNumber = timeLocalFormatter(tz);
      break;
    case 'time_iso8601':
      fromNumber = timeIsoFormatter(tz);
      break;
    default:
      fromNumber = String;
  }
  const isTime = type === 'time_local' || type === 'time_iso8601';
  return (v) => {
    if (v === undefined || v === null) return missing;
    if (typeof v === 'string') return esc(v);
    if (typeof v === 'number') return fromNumber(v);
    if (v instanceof Date) {
      const sec = v.getTime() / 1000;
      return isTime || type === 'seconds' ? fromNumber(sec) : esc(v.toISOString());
    }
    if (Array.isArray(v)) return esc(renderList(type, v as ListValue));
    if (typeof v === 'boolean' || typeof v === 'bigint') return esc(String(v));
    return missing; // inherited properties such as `constructor` are not variables
  };
}

/** Builds `render(vars)` for tokenized segments. */
export function compileRenderer(
  segments: readonly Segment[],
  escape: EscapeMode,
  tz: UtcOffset,
): (vars: RenderSource) => string {
  const texts: string[] = [];
  const names: string[] = [];
  const writers: ValueWriter[] = [];
  let prefix = '';
  for (const seg of segments) {
    if (seg.kind === 'literal') {
      if (names.length === 0) prefix += seg.text;
      else texts[names.length - 1] += seg.text;
    } else {
      names.push(seg.name);
      texts.push('');
      writers.push(writerFor(nginxVariable(seg.name).type, escape, tz));
    }
  }
  const n = names.length;
  return (vars) => {
    let out = prefix;
    if (typeof vars === 'function') {
      for (let i = 0; i < n; i++) {
        out += (writers[i] as ValueWriter)(vars(names[i] as string)) + texts[i];
      }
    } else {
      for (let i = 0; i < n; i++) {
        out += (writers[i] as ValueWriter)(vars[names[i] as string]) + texts[i];
      }
    }
    return out;
  };
}
