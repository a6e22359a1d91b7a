/**
 * Compiles the parser half of an nginx format: line → typed fields. The parser is derived from
 * the format itself: the literal text between variables anchors each field, escaping decides
 * which anchors can occur inside a value, and each variable's type decides what it may contain.
 * This module builds the layout (converters, validators, JSON anchors); the shared compiler
 * (`../scanner.ts`) builds the fast scanner, the bounded split search and the explanations.
 * @module
 */

import { POW10 } from '../bytes.ts';
import { type CompiledScanner, type Converter, compileScanner, type ScanField } from '../scanner.ts';
import { type EscapeMode, unescaperFor } from './escape.ts';
import { parseTimeIso, parseTimeLocal } from './time.ts';
import type { Segment } from './tokenize.ts';
import { nginxVariable, type VariableType } from './variables.ts';

function parseUint(s: string): number | undefined {
  const n = s.length;
  if (n === 0 || n > 15) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return v;
}

/**
 * `123.456` → 123.456 in one pass. The digits form an exact integer (up to 15 digits) divided
 * once by an exact power of ten, which rounds exactly like `Number(s)`; longer texts use it.
 */
function parseDecimal(s: string): number | undefined {
  const n = s.length;
  if (n === 0) return undefined;
  let v = 0;
  let dot = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e && dot === -1 && i > 0 && i < n - 1) dot = i;
    else if (c < 0x30 || c > 0x39) return undefined;
    else v = v * 10 + (c - 0x30);
  }
  if (dot === -1) return n <= 15 ? v : +s;
  return n <= 16 ? v / (POW10[n - 1 - dot] as number) : +s;
}

function listConverter(elem: (s: string) => string | number | undefined, missing: string): Converter {
  return (raw) => {
    if (raw === '' || raw === missing) return null;
    const groups = raw.split(' : ');
    const out: (string | number | null)[][] = [];
    for (const g of groups) {
      const parts = g.split(', ');
      const vals: (string | number | null)[] = [];
      for (const p of parts) {
        if (p === '-') {
          vals.push(null);
          continue;
        }
        const v = elem(p);
        if (v === undefined) return undefined;
        vals.push(v);
      }
      out.push(vals);
    }
    return out;
  };
}

function converterFor(type: VariableType, escape: EscapeMode): Converter {
  const unescape = unescaperFor(escape);
  const nullDash = escape === 'default';
  // Empty text is "not found" for typed variables except with default escaping (which writes `-`).
  const empty = nullDash ? '-' : '';
  switch (type) {
    case 'int':
    case 'status':
      return (s) => (s === '-' || s === empty ? null : parseUint(s));
    case 'seconds':
      return (s) => (s === '-' || s === empty ? null : parseDecimal(s));
    case 'time_local':
      return (s) => {
        if (s === '-' || s === empty) return null;
        const v = parseTimeLocal(s);
        return Number.isNaN(v) ? undefined : v;
      };
    case 'time_iso8601':
      return (s) => {
        if (s === '-' || s === empty) return null;
        const v = parseTimeIso(s);
        return Number.isNaN(v) ? undefined : v;
      };
    case 'list_int':
      return listConverter(parseUint, empty);
    case 'list_seconds':
      return listConverter(parseDecimal, empty);
    case 'list_string': {
      const list = listConverter((s) => s, empty);
      return (s) => (nullDash && s === '-' ? null : list(unescape(s)));
    }
    default:
      return nullDash ? (s) => (s === '-' ? null : unescape(s)) : unescape;
  }
}

/** What `converterFor` does with each type, for the byte projection (see ScanField.bytes). */
const BYTE_KIND: Partial<Record<VariableType, 'text' | 'uint' | 'decimal' | 'uints' | 'decimals'>> = {
  string: 'text',
  int: 'uint',
  status: 'uint',
  seconds: 'decimal',
  list_int: 'uints',
  list_seconds: 'decimals',
};

/** Longest text of a typed value (lists are unbounded). */
const MAX_TYPED_LENGTH: Partial<Record<VariableType, number>> = {
  status: 3,
  int: 15,
  seconds: 24,
  time_local: 26,
  time_iso8601: 25,
};

/** Whether raw field text can be a value of the type (the escaping decides what strings may contain). */
function validatorFor(type: VariableType, escape: EscapeMode, convert: Converter): (raw: string) => boolean {
  if (type === 'status') {
    // Always three digits (`000` when nothing was sent), or not found.
    return (raw) =>
      raw.length === 3 ? convert(raw) !== undefined : raw === '-' || (raw === '' && escape !== 'default');
  }
  if (type !== 'string' && type !== 'list_string') return (raw) => convert(raw) !== undefined;
  if (escape === 'default') {
    // `"` never appears raw, and a backslash always starts `\xHH`.
    return (raw) => {
      if (raw.indexOf('"') !== -1) return false;
      for (let i = raw.indexOf('\\'); i !== -1; i = raw.indexOf('\\', i + 1)) {
        if (
          raw.charCodeAt(i + 1) !== 0x78 ||
          hexVal(raw.charCodeAt(i + 2)) < 0 ||
          hexVal(raw.charCodeAt(i + 3)) < 0
        )
          return false;
      }
      return true;
    };
  }
  if (escape === 'json') {
    // Every `"` is escaped, and no backslash is left dangling at the end.
    return (raw) => {
      for (let i = 0; i < raw.length; i++) {
        const c = raw.charCodeAt(i);
        if (c === 0x5c) i++;
        else if (c === 0x22) return false;
      }
      return raw.length === 0 || !endsWithOddBackslashes(raw);
    };
  }
  return () => true;
}

function endsWithOddBackslashes(s: string): boolean {
  let k = 0;
  for (let i = s.length - 1; i >= 0 && s.charCodeAt(i) === 0x5c; i--) k++;
  return k % 2 === 1;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Builds `parse(line)` and `split(line)` for tokenized segments. */
export function compileParser(segments: readonly Segment[], escape: EscapeMode): CompiledScanner {
  let prefix = '';
  const fields: ScanField[] = [];
  const anchors: string[] = [];
  const types: VariableType[] = [];
  const names: string[] = [];
  for (const seg of segments) {
    if (seg.kind === 'literal') {
      if (names.length === 0) prefix += seg.text;
      else anchors[names.length - 1] += seg.text;
    } else {
      names.push(seg.name);
      types.push(nginxVariable(seg.name).type);
      anchors.push('');
    }
  }
  names.forEach((name, i) => {
    const type = types[i] as VariableType;
    const convert = converterFor(type, escape);
    const kind = BYTE_KIND[type];
    fields.push({
      name,
      label: `$${name}`,
      anchor: anchors[i] as string,
      convert,
      ...(kind === undefined
        ? {}
        : {
            bytes: kind,
            // The texts `converterFor` maps to null.
            nulls:
              kind === 'text'
                ? escape === 'default'
                  ? ['-']
                  : []
                : kind === 'uints' || kind === 'decimals'
                  ? escape === 'default'
                    ? ['', '-']
                    : ['']
                  : escape === 'default'
                    ? ['-']
                    : ['-', ''],
          }),
      validate: validatorFor(type, escape, convert),
      // Touching variables: a typed value takes as much as it can (as `\d+` would), text as little.
      greedy: type !== 'string' && type !== 'list_string',
      maxLength: MAX_TYPED_LENGTH[type],
    });
  });
  return compileScanner({
    prefix,
    fields,
    escapedAnchors: escape === 'json',
    ...(escape === 'none' ? {} : { escape: 0x5c }),
  });
}
