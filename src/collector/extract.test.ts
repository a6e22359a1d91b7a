import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileNginx } from '../format/nginx/compile.ts';
import { NGINX_COMBINED, NGINX_LOGTAIL, NGINX_UPSTREAM_COMBINED } from '../format/nginx/presets.ts';
import type { CompiledFormat } from '../format/types.ts';
import { ByteParts } from '../store/store.ts';
import { type KeyParts, makeByteExtractor, makeExtractor } from './extract.ts';

/** A small deterministic generator (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

const FORMATS: [string, string, 'default' | 'json' | 'none'][] = [
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
    'server name and lists',
    '$server_name $realip_remote_addr $remote_addr [$time_local] "$request" $status "$upstream_addr" $upstream_last_addr $request_time',
    'default',
  ],
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
];

describe('byte extractor', () => {
  for (const [name, text, escape] of FORMATS) {
    it(`gives the text path's key parts on every line it takes (${name}, escape=${escape})`, () => {
      const f: CompiledFormat = compileNginx(text, { escape, utcOffset: 0 });
      const viaBytes = makeByteExtractor(f, 'fallback.example');
      assert.ok(viaBytes, 'the format has a byte extractor');
      const viaText = makeExtractor(f, 'fallback.example');
      const rand = prng(name.length * 7919);
      const seed = compileNginx(text, { escape, utcOffset: 0 });
      const base: Record<string, string | number | null> = {
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
        upstream_last_addr: '10.0.0.9:80',
        upstream_log_addr: '10.0.0.8:80',
        upstream_log_status: 502,
        upstream_method: 'GET',
        upstream_uri: '/up',
        http_referer: '-',
        http_user_agent: 'curl/8',
      };
      let taken = 0;
      let agreed = 0;
      for (let n = 0; n < 3000; n++) {
        let line = seed.render(base);
        // Mutate: insert, delete or replace a few pieces at random places.
        const edits = n === 0 ? 0 : 1 + Math.floor(rand() * 3);
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
        const parsed = f.parse(line);
        const o: KeyParts = {
          website: '',
          addr: '',
          uri: '',
          status: 0,
          upstream: '',
          method: '',
          bytes: 0,
          time: 0,
          at: Number.NaN,
        };
        if (!ok) continue;
        taken++;
        assert.ok(!(parsed instanceof Error), `parsed by text: ${JSON.stringify(line)}`);
        assert.ok(
          viaText(parsed as Exclude<typeof parsed, Error>, o),
          `text path extracts: ${JSON.stringify(line)}`,
        );
        assert.deepEqual(fromBytes(b, p), o, JSON.stringify(line));
        agreed++;
      }
      // Most lines (the unmutated one among them) go the byte way; the test would pass vacuously otherwise.
      assert.ok(taken > 300, `only ${taken} of 3000 lines taken from bytes`);
      assert.equal(agreed, taken);
    });
  }

  it('has none for uWSGI, Envoy and JSON dictionary formats (they parse the text)', async () => {
    const { compileUwsgi } = await import('../format/uwsgi/compile.ts');
    assert.equal(makeByteExtractor(compileUwsgi('%(addr) %(status) %(uri)')), undefined);
  });
});
