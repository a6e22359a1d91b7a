/**
 * Property test: for random values, including adversarial bytes, `parse(render(v))` gives `v`
 * back for every format in the table, in every escape mode where the format is unambiguous, and
 * `render(parse(line))` gives the same line in all modes. Deterministic: the seed is fixed and
 * printed with any failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../../test/support/prng.ts';
import { decodeBytes, encodeLine, encodeString } from '../bytes.ts';
import { LineParseError } from '../errors.ts';
import { compileNginx } from './compile.ts';
import type { EscapeMode } from './escape.ts';
import { NGINX_COMBINED, NGINX_LOGTAIL, NGINX_UPSTREAM_COMBINED } from './presets.ts';
import type { Fields, FieldValue, ListValue } from './types.ts';
import { nginxVariable } from './variables.ts';

const ADVERSARIAL = [
  '"',
  '\\',
  '\\x22',
  '\\"',
  '\t',
  '\n',
  '\r',
  '\x00',
  '\x01',
  '\x1f',
  '\x7f',
  ' ',
  ' - ',
  ' [',
  '] ',
  '" "',
  '","',
  ', ',
  ' : ',
  '-',
  '$',
  '%',
  'é',
  '€',
  '😀',
  '\udc80',
  '\udcff',
  '\udcc3',
  'a',
  'Z',
  '0',
  '/',
  '?',
  '=',
  '&',
];
const TOKEN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_/';

/** Variables written unquoted and not last in their field: their values never contain spaces. */
const TOKENS = new Set(['remote_addr', 'remote_user', 'upstream_method', 'request_method']);

function gen(rand: () => number, name: string): FieldValue {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const int = (max: number) => Math.floor(rand() * max);
  const token = () => {
    let s = '';
    const n = 1 + int(12);
    for (let i = 0; i < n; i++) s += pick([...TOKEN]);
    return s;
  };
  const type = nginxVariable(name).type;
  if (rand() < 0.08) return null;
  switch (type) {
    case 'int':
      return int(2 ** 31);
    case 'status':
      return pick([0, 200, 204, 301, 404, 429, 499, 502, 503, 100 + int(500)]);
    case 'seconds':
      return name === 'msec' ? (1763837706 * 1000 + int(1e9)) / 1000 : int(1e7) / 1000;
    case 'time_local':
    case 'time_iso8601':
      return 1_000_000_000 + int(2_000_000_000);
    case 'list_int':
    case 'list_seconds':
    case 'list_string': {
      const groups: (string | number | null)[][] = [];
      const ng = 1 + int(3);
      for (let g = 0; g < ng; g++) {
        const group: (string | number | null)[] = [];
        const ne = 1 + int(3);
        for (let e = 0; e < ne; e++) {
          if (rand() < 0.15) group.push(null);
          else if (type === 'list_string') group.push(`${token()}:${int(65536)}`);
          else group.push(type === 'list_int' ? int(1e6) : int(1e6) / 1000);
        }
        groups.push(group);
      }
      return groups as ListValue;
    }
    default: {
      if (TOKENS.has(name)) return token();
      let s = '';
      const n = int(14);
      for (let i = 0; i < n; i++) s += rand() < 0.6 ? pick(ADVERSARIAL) : token();
      return s;
    }
  }
}

/** What parsing must give for a generated value, given the ambiguities each mode documents. */
function expected(value: FieldValue, name: string, escape: EscapeMode, rendered: string): FieldValue {
  const typed = nginxVariable(name).type !== 'string';
  // Raw bytes that happen to form valid UTF-8 come back as the character they encode.
  if (typeof value === 'string') value = decodeBytes(encodeString(value));
  if (escape === 'default') {
    if (value === '-' || rendered === '-') return null;
    return value;
  }
  if (value === null) return typed ? null : '';
  if (typed && rendered === '') return null;
  return value;
}

const FORMATS: readonly { name: string; format: string; modes: readonly EscapeMode[] }[] = [
  { name: 'combined', format: NGINX_COMBINED, modes: ['default', 'json'] },
  { name: 'logtail', format: NGINX_LOGTAIL, modes: ['default', 'json'] },
  { name: 'upstream combined', format: NGINX_UPSTREAM_COMBINED, modes: ['default', 'json'] },
  {
    name: 'json document',
    format:
      '{"addr":"$remote_addr","uri":"$request_uri","ua":"$http_user_agent","status":"$status",' +
      '"rt":"$request_time","up":"$upstream_addr","ust":"$upstream_status","t":"$time_iso8601"}',
    modes: ['json'],
  },
  {
    name: 'upstream lists',
    format:
      '$upstream_addr|$upstream_status|$upstream_response_time|$upstream_connect_time|"$request" $upstream_cache_status',
    modes: ['default', 'json'],
  },
  { name: 'touching variables', format: '$status$request_time"$uri"', modes: ['default'] },
  {
    name: 'iso time and counters',
    format: '[$time_iso8601] $msec "$http_x_forwarded_for" $request_length $bytes_sent $connection',
    modes: ['default', 'json'],
  },
];

const ITERATIONS = 400;

describe('parse(render(v)) = v', () => {
  for (const f of FORMATS) {
    for (const escape of ['default', 'json', 'none'] as const) {
      const fmt = compileNginx(f.format, { escape, utcOffset: 0 });
      const names = fmt.variables.map((v) => v.name);
      const exact = f.modes.includes(escape);
      it(`${f.name}, escape=${escape}${exact ? '' : ' (line round trip)'}`, () => {
        const seed = 0x5eed + f.name.length * 31 + escape.length;
        const rand = prng(seed);
        for (let iter = 0; iter < ITERATIONS; iter++) {
          const vars: Fields = {};
          for (const n of names) vars[n] = gen(rand, n);
          // Through bytes, as a log file holds it.
          const line = decodeBytes(encodeLine(fmt.render(vars)));
          const back = fmt.parse(line);
          const ctx = `seed ${seed} iteration ${iter}: ${JSON.stringify(line)}`;
          if (back instanceof LineParseError) assert.fail(`${ctx}: ${back.message}`);
          assert.equal(fmt.render(back), line, ctx);
          if (!exact) continue;
          const want: Fields = {};
          for (const n of names) {
            want[n] = expected(vars[n] ?? null, n, escape, compileNginx(`$${n}`, { escape }).render(vars));
          }
          assert.deepEqual(back, want, ctx);
        }
      });
    }
  }
});
