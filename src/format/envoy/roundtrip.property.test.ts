/**
 * Property test: for random values, including adversarial bytes and values that contain the
 * format's own literal text, every rendered line parses, and `render(parse(line))` gives the same
 * line back (through bytes, as a log file holds it). Where the line is unambiguous, the parsed
 * values are the values: each field equals what parsing that operator alone gives (the per-field
 * semantics are pinned by the conformance tables), and plain strings and integers come back
 * exactly. Deterministic: the seed is fixed and printed with any failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../../test/support/prng.ts';
import { decodeBytes, encodeLine, encodeString } from '../bytes.ts';
import { LineParseError } from '../errors.ts';
import type { Fields, FieldValue } from '../types.ts';
import { compileEnvoy } from './compile.ts';
import { compileEnvoyJson } from './dictionary.ts';
import { ENVOY_DEFAULT_FORMAT } from './presets.ts';
import type { CompiledEnvoyFormat, EnvoyCompileOptions, EnvoyJsonOptions } from './types.ts';

const ADVERSARIAL = [
  '"',
  '\\',
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
  '" "',
  '"',
  '] "',
  '|',
  '||',
  ', ',
  '-',
  '%',
  '{',
  '}',
  '[',
  ']',
  '{"a": 1}',
  '123',
  'HTTP/1.1',
  '<',
  '>',
  'é',
  '€',
  '😀',
  '\u2028',
  '\udc80',
  '\udcff',
  '\udcc3',
  'a',
  '0',
  '/',
  '?',
  '=',
];
const TOKEN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_/-';
const TAME = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_/-?=&;()';

type Gen = (rand: () => number, tame: boolean) => FieldValue | bigint;

function pickOf(rand: () => number) {
  return <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
}

function text(rand: () => number, alphabet: string, max: number): string {
  let s = '';
  const n = Math.floor(rand() * max);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

const genString: Gen = (rand, tame) => {
  if (tame) return text(rand, TAME, 30);
  const pick = pickOf(rand);
  let s = '';
  const n = Math.floor(rand() * 12);
  for (let i = 0; i < n; i++) s += rand() < 0.6 ? pick(ADVERSARIAL) : text(rand, TOKEN, 6);
  return s;
};

const genToken: Gen = (rand, tame) => {
  const s = text(rand, TOKEN, 14);
  return tame || rand() < 0.7 ? s || 'x' : `${s}${pickOf(rand)(['"', '|', '{', '%', '\udc80', 'é'])}`;
};

const genStructured: Gen = (rand, tame) => {
  const pick = pickOf(rand);
  const leaf = (): FieldValue =>
    pick<FieldValue>([
      text(rand, TOKEN, 8),
      Math.floor(rand() * 1e6),
      Math.floor(rand() * 1e6) / 100,
      rand() < 0.5,
      tame ? 'x y' : (genString(rand, false) as string),
    ]);
  const r = rand();
  if (r < 0.3) return leaf();
  if (r < 0.5) return [leaf(), leaf()];
  return { k: leaf(), 'a b': { inner: leaf(), list: [leaf(), null] } };
};

function genFor(name: string, type: string): Gen {
  switch (type) {
    case 'int':
      if (name === 'RESPONSE_CODE') return (rand) => pickOf(rand)([0, 200, 204, 304, 404, 429, 499, 503]);
      return (rand) => Math.floor(rand() * 2 ** 31);
    case 'duration':
      return (rand) => Math.floor(rand() ** 3 * 60_000);
    case 'port':
      return (rand) => Math.floor(rand() * 65536);
    case 'time':
      return (rand) => (1_000_000_000_000 + Math.floor(rand() * 2_000_000_000_000)) / 1000;
    case 'flags':
      return (rand) => pickOf(rand)<FieldValue>([[], ['UF'], ['UF', 'URX'], 'DC', 'UAEX,RLSE']);
    case 'structured':
      return genStructured;
    case 'grpc_status':
      return (rand) => pickOf(rand)<FieldValue>([0, 14, 16, 42, 'Unavailable']);
    case 'token':
      if (name === 'PROTOCOL')
        return (rand, tame) => pickOf(rand)(tame ? ['HTTP/1.1', 'HTTP/2'] : ['HTTP/1.1', 'HTTP/2', 'h2c']);
      if (name === 'REQ(:METHOD)') return (rand) => pickOf(rand)(['GET', 'POST', 'HEAD', 'M-SEARCH']);
      return genToken;
    default:
      return genString;
  }
}

interface Case {
  readonly name: string;
  readonly make: () => CompiledEnvoyFormat;
  /** Compiles the format of one operator alone (same options), for the per-field expectation. */
  readonly single: (op: string) => CompiledEnvoyFormat;
  /** Value equality is checked for adversarial values too (no splitting ambiguity). */
  readonly exactAdversarial: boolean;
}

function text_(name: string, format: string, opts: EnvoyCompileOptions = {}): Case {
  return {
    name,
    make: () => compileEnvoy(format, opts),
    single: (op) => compileEnvoy(op, opts),
    exactAdversarial: false,
  };
}

function dict(name: string, d: object, opts: EnvoyJsonOptions): Case {
  return {
    name,
    make: () => compileEnvoyJson(d, opts),
    single: (op) => compileEnvoyJson({ v: op }, opts),
    exactAdversarial: true,
  };
}

const KITCHEN =
  '%START_TIME(%Y-%m-%dT%H:%M:%S.%3f%z)% [%START_TIME(%s.%6f)%] %DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_PORT% ' +
  '"%REQ(USER-AGENT):40%" %RESPONSE_FLAGS% %GRPC_STATUS% %DYNAMIC_METADATA(ns)% <%FILTER_STATE(k:PLAIN)%> ' +
  '%REQ(X-A?X-B)%|%ROUTE_NAME%|%RESP(CONTENT-TYPE)%|%CONNECTION_ID%';

const DICT = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response: { code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%', details: '%RESPONSE_CODE_DETAILS%' },
  bytes: ['%BYTES_RECEIVED%', '%BYTES_SENT%'],
  duration: '%DURATION%',
  duration_s: '%DURATION%.0',
  ua: '%REQ(USER-AGENT)%',
  ua_short: '%REQ(USER-AGENT):7%',
  md: '%DYNAMIC_METADATA(com.example)%',
  md_key: '%DYNAMIC_METADATA(com.example:k)%',
  port: '%DOWNSTREAM_LOCAL_PORT%',
  upstream: '%UPSTREAM_HOST%',
  t: '%START_TIME(%s)%',
  fixed: 'logtally',
};

/** Without the list: with omit_empty_values, a list with an unset item is ambiguous. */
const { bytes: _bytes, ...DICT_NO_LIST } = DICT;

const CASES: readonly Case[] = [
  text_('envoy default', ENVOY_DEFAULT_FORMAT),
  text_('kitchen sink (times, addresses, truncation, metadata, flags)', KITCHEN),
  text_('kitchen sink, protobuf JSON style', KITCHEN, { jsonStyle: 'protobuf' }),
  text_(
    'omit_empty_values with one-character separators',
    '%REQ(:METHOD)%|%REQ(:PATH)%|%RESPONSE_CODE%|%REQ(REFERER)%|%DURATION%',
    { omitEmptyValues: true },
  ),
  dict('typed_json_format', DICT, { typed: true }),
  dict('json_format', DICT, { typed: false }),
  dict('typed_json_format, omit_empty_values', DICT_NO_LIST, { typed: true, omitEmptyValues: true }),
  dict('json_format, omit_empty_values', DICT_NO_LIST, { typed: false, omitEmptyValues: true }),
  dict('typed_json_format, protobuf style', DICT, { typed: true, jsonStyle: 'protobuf' }),
];

const ITERATIONS = Number(process.env.ITERATIONS ?? 300);

/** Through bytes, as a log file holds it. */
function viaBytes(line: string): string {
  return decodeBytes(encodeLine(line));
}

function normalized(v: FieldValue | bigint): FieldValue | bigint {
  return typeof v === 'string' ? decodeBytes(encodeString(v)) : v;
}

describe('render(parse(line)) = line, and parse(render(v)) = v where unambiguous', () => {
  for (const c of CASES) {
    for (const tame of [false, true]) {
      const exact = tame || c.exactAdversarial;
      it(`${c.name}, ${tame ? 'plain' : 'adversarial'} values${exact ? '' : ' (line round trip)'}`, () => {
        const fmt = c.make();
        const seed = 0xe7 + c.name.length * 31 + (tame ? 1 : 0);
        const rand = prng(seed);
        const gens = fmt.variables.map((v) => [v.name, genFor(v.name, v.type)] as const);
        const singles = new Map(fmt.operators.map((op) => [op.key, c.single(`%${op.key}%`)]));
        const truncated = new Set(
          fmt.operators.filter((op) => op.truncate !== undefined).map((op) => op.key),
        );
        for (let iter = 0; iter < ITERATIONS; iter++) {
          const vars: Record<string, FieldValue | bigint> = {};
          for (const [name, gen] of gens) vars[name] = rand() < 0.08 ? null : gen(rand, tame);
          const line = viaBytes(fmt.render(vars));
          const ctx = `seed ${seed} iteration ${iter}: ${JSON.stringify(line)}`;
          const back = fmt.parse(line);
          if (back instanceof LineParseError) assert.fail(`${ctx}: ${back.message}`);
          assert.equal(fmt.render(back), line, ctx);
          if (!exact) continue;
          const want: Fields = {};
          for (const [name] of gens) {
            if (truncated.has(name)) {
              // A truncated operator shares its key with the untruncated one; check it alone.
              continue;
            }
            const single = singles.get(name) as CompiledEnvoyFormat;
            const alone = single.parse(viaBytes(single.render(vars)));
            if (alone instanceof LineParseError) assert.fail(`${ctx}: ${name} alone: ${alone.message}`);
            want[name] = alone[name] as FieldValue;
            const v = normalized(vars[name] as FieldValue);
            const type = fmt.variables.find((x) => x.name === name)?.type;
            // Plain strings and integers come back as they were.
            if ((type === 'string' || type === 'token') && typeof v === 'string' && v !== '-' && v !== '') {
              assert.equal(want[name], v, `${ctx}: ${name}`);
            }
            if ((type === 'int' || type === 'duration' || type === 'port') && typeof v === 'number') {
              assert.equal(want[name], v, `${ctx}: ${name}`);
            }
          }
          const got: Fields = {};
          for (const k of Object.keys(want)) got[k] = back[k] as FieldValue;
          assert.deepEqual(got, want, ctx);
        }
      });
    }
  }
});
