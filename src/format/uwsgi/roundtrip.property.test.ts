/**
 * Property test: for random values, including adversarial bytes, `render(parse(line))` gives the
 * same line for every format in the table, and `parse(render(v))` gives `v` back whenever the line
 * is unambiguous. uWSGI escapes nothing, so a value that contains the literal text following it in
 * the format (`" "` inside a quoted referer, followed by `" "`) can be split more than one way;
 * every such split renders back to the same line, but only an unambiguous line has one answer.
 * Deterministic: the seed is fixed and printed with any failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../../test/support/prng.ts';
import { decodeBytes, encodeLine, encodeString } from '../bytes.ts';
import { LineParseError } from '../errors.ts';
import { compileUwsgi } from './compile.ts';
import { uwsgiLogvar } from './logvars.ts';
import { compileParser } from './parse.ts';
import { UWSGI_APACHE_COMBINED, UWSGI_COMPATIBLE, UWSGI_DEFAULT_LINE } from './presets.ts';
import { formatCFloat } from './time.ts';
import type { Fields, FieldValue, UwsgiCompileOptions } from './types.ts';

const ADVERSARIAL = [
  '"',
  '\\',
  '\\"',
  '\t',
  '\r',
  '\n',
  '\x00',
  '\x01',
  '\x7f',
  ' ',
  ' - ',
  ' [',
  '] ',
  '" "',
  '" ',
  ' "',
  ') {',
  '} [',
  '(',
  ')',
  ' => generated ',
  ' msecs',
  ' via sendfile() ',
  '-',
  '%',
  '%(uri)',
  'é',
  '€',
  '😀',
  '\udc80',
  '\udcff',
  '\udcc3',
  'a',
  '0',
  '42',
  '/',
  '?',
];
const NO_SPACE = ADVERSARIAL.filter((s) => !/[\s]/.test(s));
const TOKEN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_/';

/** Fields whose real values never hold white space (the HTTP request line, addresses, user names). */
const NO_SPACE_FIELDS = new Set(['addr', 'method', 'proto', 'uri', 'user', 'host']);

function gen(rand: () => number, name: string, builtin: boolean): FieldValue {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const int = (max: number) => Math.floor(rand() * max);
  const token = () => {
    let s = '';
    const n = 1 + int(12);
    for (let i = 0; i < n; i++) s += pick([...TOKEN]);
    return s;
  };
  const t = 1_000_000_000 + int(2_000_000_000);
  if (rand() < 0.08) return null;
  switch (uwsgiLogvar(name, builtin).type) {
    case 'int':
      return name === 'status' ? pick([0, 200, 204, 301, 404, 499, 502, 100 + int(500)]) : int(2 ** 31);
    case 'signed':
      return int(2 ** 31) - 2 ** 30;
    case 'seconds':
      return rand() < 0.1 ? int(64) / 128 : int(1e8) / 1e6;
    case 'epoch':
    case 'ltime':
    case 'ctime':
    case 'ftime':
      return t;
    case 'epoch_ms':
      return t * 1000 + int(1000);
    case 'epoch_us':
      return t * 1_000_000 + int(1_000_000);
    case 'via':
      return pick([null, 'sendfile', 'route', 'offload']);
    default: {
      if (NO_SPACE_FIELDS.has(name) && rand() < 0.5) return token();
      const parts = NO_SPACE_FIELDS.has(name) ? NO_SPACE : ADVERSARIAL;
      let s = '';
      const n = int(14);
      for (let i = 0; i < n; i++) s += rand() < 0.6 ? pick(parts) : token();
      return s;
    }
  }
}

/** What parsing must give for a generated value. */
function expected(value: FieldValue, name: string, builtin: boolean): FieldValue {
  // Raw bytes that happen to form valid UTF-8 come back as the character they encode.
  if (typeof value === 'string') value = decodeBytes(encodeString(value));
  if (value === null) return null;
  const type = uwsgiLogvar(name, builtin).type;
  if (type === 'seconds') return Number(formatCFloat(value as number));
  if (type === 'string') {
    if (value === '') return null; // written `-` (logformat) or nothing (built-in line)
    if (value === '-' && !builtin) return null;
  }
  return value;
}

interface Case {
  readonly name: string;
  readonly format: string;
  readonly options: UwsgiCompileOptions;
}

const FORMATS: readonly Case[] = [
  { name: 'apache-combined', format: UWSGI_APACHE_COMBINED, options: {} },
  { name: 'uwsgi-default (built-in line)', format: UWSGI_DEFAULT_LINE, options: { builtin: true } },
  { name: 'uwsgi-compatible', format: UWSGI_COMPATIBLE, options: {} },
  {
    name: 'timing, sizes and variables',
    format:
      '%(addr) %(host) %(status) %(msecs) %(micros) %(secs) [%(ltime)] [%(ctime)] %(time) %(tmsecs) %(tmicros) ' +
      '"%(var.HTTP_X_TEST)" %(metric.m) {%(myvar)}',
    options: {},
  },
  {
    name: 'ftime with a logdate',
    format: '%(ftime)|%(uri)|%(epoch)|"%(referer)"',
    options: { logdate: '%Y-%m-%dT%H:%M:%S%z %a' },
  },
  { name: 'touching logvars', format: '%(status)%(uagent)%(msecs)"%(uri)"', options: {} },
];

const ITERATIONS = 400;

/** The three parsers of one format: the generated scanner and matcher, and the plain search. */
function parsers(c: Case) {
  const fmt = compileUwsgi(c.format, { ...c.options, utcOffset: 0 });
  let prefix = '';
  const names: string[] = [];
  const anchors: string[] = [];
  for (const s of fmt.segments) {
    if (s.kind === 'literal') {
      if (names.length === 0) prefix += s.text;
      else anchors[names.length - 1] += s.text;
    } else {
      names.push(s.name);
      anchors.push('');
    }
  }
  const types = names.map((n) => uwsgiLogvar(n, fmt.builtin).type);
  const ctx = { tz: 0, logdate: c.options.logdate, builtin: fmt.builtin } as const;
  return (['scanner', 'matcher', 'search'] as const).map((s) => ({
    strategy: s,
    parse: compileParser(prefix, names, types, anchors, ctx, s).parse,
  }));
}

/**
 * Whether the rendered line has exactly one split: no string field's text (followed by its
 * anchor) holds its anchor before its end, and no two logvars touch.
 */
function unambiguous(c: Case, vars: Fields): boolean {
  const fmt = compileUwsgi(c.format, { ...c.options, utcOffset: 0 });
  const segs = fmt.segments;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (s?.kind !== 'variable') continue;
    const next = segs[i + 1];
    if (next === undefined) continue;
    if (next.kind === 'variable') return false;
    if (uwsgiLogvar(s.name, fmt.builtin).type !== 'string') continue;
    const text = compileUwsgi(`%(${s.name})`, { ...c.options, utcOffset: 0 }).render(vars);
    if ((text + next.text).indexOf(next.text) !== text.length) return false;
  }
  return true;
}

describe('uWSGI: render(parse(line)) = line, parse(render(v)) = v when unambiguous, all parsers agree', () => {
  for (const c of FORMATS) {
    it(c.name, () => {
      const fmt = compileUwsgi(c.format, { ...c.options, utcOffset: 0 });
      const names = fmt.variables.map((v) => v.name);
      const all = parsers(c);
      const seed = 0x5eed + c.name.length * 31;
      const rand = prng(seed);
      let exact = 0;
      for (let iter = 0; iter < ITERATIONS; iter++) {
        const vars: Fields = {};
        for (const n of names) vars[n] = gen(rand, n, fmt.builtin);
        // Through bytes, as a log file holds it.
        const line = decodeBytes(encodeLine(fmt.render(vars)));
        const back = fmt.parse(line);
        const ctx = `seed ${seed} iteration ${iter}: ${JSON.stringify(line)}`;
        if (back instanceof LineParseError) assert.fail(`${ctx}: ${back.message}`);
        assert.equal(fmt.render(back), line, ctx);
        for (const p of all) assert.deepEqual(p.parse(line), back, `${ctx} (${p.strategy})`);
        if (!unambiguous(c, vars)) continue;
        exact++;
        const want: Fields = {};
        for (const n of names) want[n] = expected(vars[n] ?? null, n, fmt.builtin);
        assert.deepEqual(back, want, ctx);
      }
      if (c.name !== 'touching logvars') assert.ok(exact > ITERATIONS / 4, `${exact} unambiguous lines`);
    });
  }
});
