import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatSyntaxError, LineParseError } from '../errors.ts';
import { compileNginx, compileNginxPreset } from './compile.ts';
import { ESCAPE_CASES } from './conformance.case.ts';
import type { Fields } from './types.ts';
import { upstreamContacts } from './upstream.ts';

function parsed(r: Fields | LineParseError): Fields {
  if (r instanceof LineParseError) throw r;
  return r;
}

describe('escape conformance (renderer and parser share one table)', () => {
  for (const c of ESCAPE_CASES) {
    const fmt = compileNginx('"$http_x" $status', { escape: c.escape });
    it(`${c.escape}: ${c.what} renders as nginx writes it`, () => {
      assert.equal(fmt.render({ http_x: c.value, status: 200 }), `"${c.written}" 200`);
    });
    it(`${c.escape}: ${c.what} parses back`, () => {
      const expected = c.parsed === undefined ? c.value : c.parsed;
      assert.deepEqual(parsed(fmt.parse(`"${c.written}" 200`)), { http_x: expected, status: 200 });
    });
  }
});

describe('compileNginx', () => {
  it('lists the variables once each, with their types', () => {
    const f = compileNginx('$status $Status $http_user_agent $upstream_addr $nope');
    assert.deepEqual(
      f.variables.map((v) => [v.name, v.type, v.known]),
      [
        ['status', 'status', true],
        ['http_user_agent', 'string', true],
        ['upstream_addr', 'list_string', true],
        ['nope', 'string', false],
      ],
    );
  });

  it('reports a syntax error with its column', () => {
    assert.throws(
      () => compileNginx('$remote_addr ${host'),
      (e: unknown) => e instanceof FormatSyntaxError && e.code === 'ERR_FORMAT_SYNTAX' && e.column === 14,
    );
  });

  it('renders the combined preset byte-for-byte', () => {
    const f = compileNginxPreset('combined', { utcOffset: 60 });
    const line = f.render({
      remote_addr: '192.0.2.7',
      remote_user: null,
      time_local: 1763837706,
      request: 'GET /q"uote HTTP/1.1',
      status: 200,
      body_bytes_sent: 612,
      http_referer: 'https://example.com/',
      http_user_agent: 'curl/8.0',
    });
    assert.equal(
      line,
      '192.0.2.7 - - [22/Nov/2025:19:55:06 +0100] "GET /q\\x22uote HTTP/1.1" 200 612 "https://example.com/" "curl/8.0"',
    );
  });

  it('parses the combined preset into typed fields', () => {
    const f = compileNginxPreset('combined');
    assert.deepEqual(
      parsed(
        f.parse(
          '192.0.2.7 - bob [22/Nov/2026:18:55:06 -0130] "GET /raw/\\x80\\xFF HTTP/1.1" 499 0 "-" "Mozilla/5.0 (X11)"',
        ),
      ),
      {
        remote_addr: '192.0.2.7',
        remote_user: 'bob',
        time_local: Date.UTC(2026, 10, 22, 18, 55, 6) / 1000 + 90 * 60,
        request: 'GET /raw/\udc80\udcff HTTP/1.1',
        status: 499,
        body_bytes_sent: 0,
        http_referer: null,
        http_user_agent: 'Mozilla/5.0 (X11)',
      },
    );
  });

  it('parses the logtail preset', () => {
    const f = compileNginxPreset('logtail');
    assert.deepEqual(
      parsed(f.parse('www.example.com\t2001:db8::1\t1763837706.123\tPOST\t/api?x=1\t503\t17\t12.500')),
      {
        host: 'www.example.com',
        remote_addr: '2001:db8::1',
        msec: 1763837706.123,
        request_method: 'POST',
        request_uri: '/api?x=1',
        status: 503,
        body_bytes_sent: 17,
        request_time: 12.5,
      },
    );
  });

  it('renders seconds with 3 decimals, statuses with 3 digits, ISO times with the offset', () => {
    const f = compileNginx('$msec $request_time $status $time_iso8601', { utcOffset: -300 });
    assert.equal(
      f.render({ msec: 1763837706.1234, request_time: 0, status: 0, time_iso8601: new Date(1763837706000) }),
      '1763837706.123 0.000 000 2025-11-22T13:55:06-05:00',
    );
    assert.deepEqual(parsed(f.parse('1763837706.123 0.000 000 2025-11-22T13:55:06-05:00')), {
      msec: 1763837706.123,
      request_time: 0,
      status: 0,
      time_iso8601: 1763837706,
    });
  });

  it('parses upstream lists into groups and contacts', () => {
    const f = compileNginx(
      '$upstream_addr|$upstream_status|$upstream_connect_time|$upstream_response_length',
    );
    const fields = parsed(
      f.parse('127.0.0.1:18092, 127.0.0.1:18093 : 127.0.0.1:18091|502, 502 : 200|-, 0.000 : 0.001|0, 0 : 5'),
    );
    assert.deepEqual(fields.upstream_status, [[502, 502], [200]]);
    assert.deepEqual(fields.upstream_connect_time, [[null, 0], [0.001]]);
    assert.deepEqual(
      upstreamContacts(fields).map((c) => [c.group, c.addr, c.status, c.connectTime, c.responseLength]),
      [
        [0, '127.0.0.1:18092', 502, null, 0],
        [0, '127.0.0.1:18093', 502, 0, 0],
        [1, '127.0.0.1:18091', 200, 0.001, 5],
      ],
    );
    assert.equal(
      f.render(fields),
      '127.0.0.1:18092, 127.0.0.1:18093 : 127.0.0.1:18091|502, 502 : 200|-, 0.000 : 0.001|0, 0 : 5',
    );
  });

  it('reports the column and reason of a line that does not match', () => {
    const f = compileNginxPreset('combined');
    const bad = f.parse('192.0.2.7 - - [22/Nov/2026:18:55:06 +0000] "GET / HTTP/1.1" 2x0 0 "-" "-"');
    assert.ok(bad instanceof LineParseError);
    assert.equal(bad.column, 61);
    assert.equal(bad.reason, 'invalid value "2x0" for $status');
    const short = f.parse('192.0.2.7 - - [22/Nov/2026');
    assert.ok(short instanceof LineParseError);
    assert.equal(short.reason, 'expected "] \\"" after $time_local');
    assert.equal(short.column, 16);
    const other = f.parse('hello');
    assert.ok(other instanceof LineParseError);
    assert.equal(other.reason, 'expected " - " after $remote_addr');
  });

  it('backtracks when a value contains its own anchor (escape=none)', () => {
    const f = compileNginx('$remote_user [$time_local] "$http_user_agent" $status', { escape: 'none' });
    const line = 'a [b [22/Nov/2026:18:55:06 +0000] "ua "q" \\ é" 200';
    assert.deepEqual(parsed(f.parse(line)), {
      remote_user: 'a [b',
      time_local: Date.UTC(2026, 10, 22, 18, 55, 6) / 1000,
      http_user_agent: 'ua "q" \\ é',
      status: 200,
    });
  });

  it('gives up on a crafted line instead of backtracking without bound', () => {
    // A backtracking regular expression took 13 s on 830 bytes of this; the search has a budget.
    const f = compileNginx('$remote_user $http_a $http_b $http_c [$time_local] $status');
    const r = f.parse(`${'a '.repeat(20_000)}[22/Nov/2026:18:55:06 +0000] x`);
    assert.ok(r instanceof LineParseError);
    assert.equal(r.reason, 'ambiguous line: gave up searching for a split that matches the format');
    // A line that does match still parses, however many candidate splits it has.
    assert.deepEqual(parsed(f.parse('a b c d e [22/Nov/2026:18:55:06 +0000] 200')), {
      remote_user: 'a',
      http_a: 'b',
      http_b: 'c',
      http_c: 'd e',
      time_local: Date.UTC(2026, 10, 22, 18, 55, 6) / 1000,
      status: 200,
    });
  });

  it('splits touching variables by their types', () => {
    const f = compileNginx('$status$request_time$uri');
    assert.deepEqual(parsed(f.parse('2000.123/x')), { status: 200, request_time: 0.123, uri: '/x' });
  });

  it('skips JSON-escaped quotes when looking for an anchor', () => {
    const f = compileNginx('{"a":"$arg_a","b":"$arg_b"}', { escape: 'json' });
    const line = f.render({ arg_a: 'x","b":"y', arg_b: '\\' });
    assert.equal(line, '{"a":"x\\",\\"b\\":\\"y","b":"\\\\"}');
    assert.deepEqual(JSON.parse(line), { a: 'x","b":"y', b: '\\' });
    assert.deepEqual(parsed(f.parse(line)), { arg_a: 'x","b":"y', arg_b: '\\' });
  });

  it('treats inherited object properties as missing variables', () => {
    assert.equal(compileNginx('$constructor $tostring').render({}), '- -');
  });

  it('split() returns the escaped text of every field', () => {
    const f = compileNginx('$remote_addr "$request"');
    assert.deepEqual(f.split('1.2.3.4 "GET /\\x22 HTTP/1.1"'), ['1.2.3.4', 'GET /\\x22 HTTP/1.1']);
  });
});
