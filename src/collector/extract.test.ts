import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../test/support/prng.ts';
import { compileEnvoy, compileEnvoyPreset } from '../format/envoy/compile.ts';
import { compileEnvoyJson } from '../format/envoy/dictionary.ts';
import { parseEnvoyDictionary } from '../format/envoy/yaml.ts';
import { compileNginx } from '../format/nginx/compile.ts';
import { NGINX_COMBINED, NGINX_LOGTAIL, NGINX_UPSTREAM_COMBINED } from '../format/nginx/presets.ts';
import type { CompiledFormat } from '../format/types.ts';
import { compileUwsgi, compileUwsgiPreset } from '../format/uwsgi/compile.ts';
import { UWSGI_PRESETS } from '../format/uwsgi/presets.ts';
import { ByteParts } from '../store/store.ts';
import { emptyKeyParts, type KeyParts, makeByteExtractor, makeExtractor } from './extract.ts';

/** What the byte path gives, as the text path's key parts. */
function fromBytes(b: Buffer, p: ByteParts): KeyParts {
  const text = (s: number, e: number) => b.toString('latin1', s, e);
  return {
    website: p.website < 0 ? p.fallbackWebsite : text(p.website, p.websiteEnd),
    addr: text(p.addr, p.addrEnd),
    uri: text(p.uri, p.uriEnd),
    status: p.status,
    upstream: p.upstream < 0 ? '' : text(p.upstream, p.upstreamEnd),
    method: text(p.method, p.methodEnd),
    bytes: p.bytes,
    time: p.time,
    at: p.at,
  };
}

/** A format and the values its lines are rendered from (mutated, some not). */
interface Case {
  readonly name: string;
  readonly format: CompiledFormat;
  /** Render inputs: the unmutated lines are rendered from each in turn. */
  readonly bases: readonly Record<string, string | number | null>[];
}

const NGINX_BASE: Record<string, string | number | null> = {
  host: 'www.example.com',
  http_host: 'h.example',
  server_name: 'srv.example',
  remote_addr: '192.0.2.7',
  realip_remote_addr: '198.51.100.1',
  remote_user: '-',
  time_local: 1_764_700_000,
  time_iso8601: 1_764_700_000,
  msec: 1_764_700_000.123,
  request: 'GET /a/b?x=1 HTTP/1.1',
  request_method: 'POST',
  request_uri: '/p?q=2',
  status: 404,
  body_bytes_sent: 512,
  bytes_sent: 700,
  request_time: 0.25,
  upstream_addr: '10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80',
  upstream_status: '502, 504 : 200',
  upstream_response_time: '0.010, - : 0.005',
  upstream_last_addr: '10.0.0.9:80',
  upstream_log_addr: '10.0.0.8:80',
  upstream_log_status: 502,
  upstream_method: 'GET',
  upstream_uri: '/up',
  http_referer: '-',
  http_user_agent: 'curl/8',
};

const NGINX_FORMATS: [string, string, 'default' | 'json' | 'none'][] = [
  ['combined', NGINX_COMBINED, 'default'],
  ['logtail', NGINX_LOGTAIL, 'default'],
  ['upstream-combined', NGINX_UPSTREAM_COMBINED, 'default'],
  [
    'custom json',
    '{"h":"$host","a":"$remote_addr","r":"$request","s":$status,"u":"$upstream_addr","t":"$time_iso8601","rt":$request_time}',
    'json',
  ],
  [
    'custom none',
    '$http_host|$remote_addr|$request_method|$request_uri|$status|$bytes_sent|$upstream_addr|$msec',
    'none',
  ],
  [
    'every number and clock of a group',
    '$remote_addr [$time_local] $msec [$time_iso8601] "$request" $status $upstream_log_status $body_bytes_sent $bytes_sent $request_time $upstream_last_response_time',
    'default',
  ],
  [
    'lists of numbers (upstream status and times)',
    '$remote_addr [$time_local] "$request" $status "$upstream_status" "$upstream_response_time" "$upstream_addr" $request_time',
    'default',
  ],
  [
    'lists of numbers, escape=none',
    '$remote_addr|$msec|$request_method|$request_uri|$status|$upstream_status|$upstream_response_time|$upstream_addr',
    'none',
  ],
  [
    'server name and lists',
    '$server_name $realip_remote_addr $remote_addr [$time_local] "$request" $status "$upstream_addr" $upstream_last_addr $request_time',
    'default',
  ],
];

const UWSGI_BASES: Record<string, string | number | null>[] = [
  {
    addr: '192.0.2.7',
    'var.REMOTE_ADDR': '198.51.100.1',
    host: 'www.example.com',
    'var.HTTP_HOST': 'h.example',
    user: null,
    method: 'GET',
    uri: '/a/b?x=1',
    proto: 'HTTP/1.1',
    status: 200,
    size: 700,
    rsize: 512,
    hsize: 188,
    micros: 12_345,
    msecs: 12,
    secs: 0.012345,
    epoch: 1_764_700_001,
    time: 1_764_700_000,
    tmsecs: 1_764_700_000_123,
    ltime: 1_764_700_000,
    ctime: 1_764_700_000,
    referer: 'http://r.example/',
    uagent: 'curl/8 "x" (y)',
    pid: 4242,
    app: 0,
    app_req: 7,
    req: 9,
    vars: 24,
    pktsize: 263,
    headers: 2,
    switches: 1,
    core: 0,
  },
  {
    addr: '::1',
    host: null,
    method: 'POST',
    uri: '/',
    proto: 'HTTP/2',
    status: 502,
    size: 0,
    rsize: 0,
    micros: 0,
    msecs: 0,
    secs: 0,
    epoch: 1_764_800_000,
    time: 1_764_800_000,
    tmsecs: 1_764_800_000_000,
    ltime: 1_764_800_000,
    ctime: 1_764_800_000,
    referer: null,
    uagent: null,
    pid: 1,
    app: -1,
    app_req: -1,
    req: 1,
    vars: 3,
    pktsize: 10,
    headers: 0,
    switches: 1,
    core: 3,
  },
];

const ENVOY_BASES: Record<string, string | number | null>[] = [
  {
    START_TIME: 1_764_700_000.123,
    'REQ(:METHOD)': 'GET',
    'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': '/a/b?x=1',
    'REQ(:PATH)': '/p?q=2',
    PROTOCOL: 'HTTP/1.1',
    RESPONSE_CODE: 200,
    RESPONSE_FLAGS: null,
    BYTES_RECEIVED: 0,
    BYTES_SENT: 512,
    DURATION: 25,
    'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': '20',
    'REQ(X-FORWARDED-FOR)': '203.0.113.9, 10.0.0.1',
    'REQ(USER-AGENT)': 'curl/8',
    'REQ(X-REQUEST-ID)': 'abc-123',
    'REQ(:AUTHORITY)': 'www.example.com',
    UPSTREAM_HOST: '10.0.0.3:8080',
    DOWNSTREAM_REMOTE_ADDRESS: '192.0.2.7:5555',
  },
  {
    START_TIME: 1_764_800_000,
    'REQ(:METHOD)': 'POST',
    'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': null,
    'REQ(:PATH)': '/',
    PROTOCOL: 'HTTP/2',
    RESPONSE_CODE: 503,
    RESPONSE_FLAGS: 'UF,URX',
    BYTES_RECEIVED: 10,
    BYTES_SENT: 0,
    DURATION: 0,
    'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': null,
    'REQ(X-FORWARDED-FOR)': ' 2001:db8::1 ',
    'REQ(USER-AGENT)': null,
    'REQ(X-REQUEST-ID)': 'x',
    'REQ(:AUTHORITY)': null,
    UPSTREAM_HOST: null,
    DOWNSTREAM_REMOTE_ADDRESS: '[2001:db8::2]:443',
  },
];

/** uWSGI presets, a custom logformat (fallback and scaled fields) and one that must not be projected. */
const UWSGI_CUSTOM =
  '%(var.REMOTE_ADDR) %(addr) %(var.HTTP_HOST) "%(method) %(uri)" %(status) %(size) %(msecs) %(secs) ' +
  '%(tmsecs) [%(ltime)] "%(uagent)"';

const CASES: Case[] = [
  ...NGINX_FORMATS.map(([name, text, escape]) => ({
    name: `nginx ${name} (escape=${escape})`,
    format: compileNginx(text, { escape, utcOffset: 0 }),
    bases: [NGINX_BASE],
  })),
  ...Object.keys(UWSGI_PRESETS).map((name) => ({
    name: `uWSGI ${name}`,
    format: compileUwsgiPreset(name, { utcOffset: 0 }),
    bases: UWSGI_BASES,
  })),
  { name: 'uWSGI custom', format: compileUwsgi(UWSGI_CUSTOM, { utcOffset: 0 }), bases: UWSGI_BASES },
  { name: 'Envoy default', format: compileEnvoyPreset('envoy-default'), bases: ENVOY_BASES },
  {
    name: 'Envoy custom',
    format: compileEnvoy(
      '%START_TIME% %DOWNSTREAM_REMOTE_ADDRESS% "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" %RESPONSE_CODE% ' +
        '%RESPONSE_FLAGS% %BYTES_SENT% %DURATION% "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n',
    ),
    bases: ENVOY_BASES,
  },
];

const PIECES = [
  'a',
  'Z',
  '0',
  '7',
  '.',
  '-',
  ' ',
  '"',
  '\\',
  '\\x22',
  '?',
  '/',
  ':',
  ',',
  ', ',
  ' : ',
  '|',
  '\t',
  'HTTP/1.1',
  '{',
  '}',
  '[',
  ']',
  '10.0.0.1',
  '::1',
  '200',
  '0.005',
  '\r',
  '[',
  '1.5',
];

describe('byte extractor', () => {
  for (const { name, format: f, bases } of CASES) {
    it(`gives the text path's key parts on every line it takes (${name})`, () => {
      const viaBytes = makeByteExtractor(f, 'fallback.example');
      assert.ok(viaBytes, 'the format has a byte extractor');
      const viaText = makeExtractor(f, 'fallback.example');
      const rand = prng(name.length * 7919);
      let taken = 0;
      let agreed = 0;
      let plain = 0;
      let plainTaken = 0;
      for (let n = 0; n < 3000; n++) {
        let line = f.render(bases[n % bases.length] as Record<string, string | number | null>);
        // Mutate: insert, delete or replace a few pieces at random places (one line in ten as rendered).
        const edits = n % 10 === 0 ? 0 : 1 + Math.floor(rand() * 3);
        for (let k = 0; k < edits; k++) {
          const at = Math.floor(rand() * (line.length + 1));
          const piece = PIECES[Math.floor(rand() * PIECES.length)] as string;
          const op = rand();
          if (op < 0.4) line = line.slice(0, at) + piece + line.slice(at);
          else if (op < 0.7) line = line.slice(0, at) + line.slice(at + 1 + Math.floor(rand() * 4));
          else line = line.slice(0, at) + piece + line.slice(at + piece.length);
        }
        const b = Buffer.from(`xx${line}yy`, 'latin1');
        const p = new ByteParts();
        const ok = viaBytes(b, 2, b.length - 2, p);
        if (edits === 0) plain++;
        if (!ok) continue;
        if (edits === 0) plainTaken++;
        taken++;
        const parsed = f.parse(line);
        const o = emptyKeyParts();
        assert.ok(!(parsed instanceof Error), `parsed by text: ${JSON.stringify(line)}`);
        assert.ok(viaText(parsed, o), `text path extracts: ${JSON.stringify(line)}`);
        assert.deepEqual(fromBytes(b, p), o, JSON.stringify(line));
        agreed++;
      }
      // Every rendered line goes the byte way, and mutated ones too; the test would pass vacuously otherwise.
      assert.equal(plainTaken, plain, `${plainTaken} of ${plain} rendered lines taken from bytes`);
      assert.ok(
        taken >= plain + 100,
        `only ${taken - plain} of ${3000 - plain} mutated lines taken from bytes`,
      );
      assert.equal(agreed, taken);
    });
  }

  it('has none for JSON dictionary formats, nor for a uWSGI matcher whose split may differ', () => {
    const json = compileEnvoyJson(parseEnvoyDictionary('status: "%RESPONSE_CODE%"'), { typed: true });
    assert.equal(makeByteExtractor(json), undefined);
    // The built-in line's null time is empty: an anchor starting with a letter could start a ctime.
    const odd = compileUwsgi('%(addr) %(status) %(pid) %(core) [%(ctime)Z %(uri)', { builtin: true });
    assert.equal(odd.layout, undefined);
    assert.equal(makeByteExtractor(odd), undefined);
    assert.ok(
      makeByteExtractor(
        compileUwsgi('%(addr) %(status) %(pid) %(core) [%(ctime)] %(uri)', { builtin: true }),
      ),
    );
  });
});
