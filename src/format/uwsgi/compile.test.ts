import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineParseError, LogtallyError } from '../errors.ts';
import { compileUwsgi, compileUwsgiPreset } from './compile.ts';
import { UWSGI_CASES } from './conformance.case.ts';
import { knownUwsgiLogvars } from './logvars.ts';
import { UWSGI_PRESETS } from './presets.ts';
import type { Fields } from './types.ts';

function parsed(r: Fields | LineParseError): Fields {
  if (r instanceof LineParseError) throw r;
  return r;
}

const T = 1795455407; // Mon Nov 23 17:36:47 2026 UTC

describe('uWSGI conformance (renderer and parser share one table)', () => {
  for (const c of UWSGI_CASES) {
    const fmt = compileUwsgi(`[%(${c.logvar})]`, c.options);
    const wantLine = `[${c.written}]`;
    const vars = { [c.logvar]: c.value };
    it(`${c.logvar}: ${c.what} renders as uWSGI writes it`, () => {
      assert.equal(fmt.render(vars), wantLine);
    });
    it(`${c.logvar}: ${c.what} parses back`, () => {
      const expected = c.parsed === undefined ? c.value : c.parsed;
      const got = parsed(fmt.parse(wantLine));
      assert.deepEqual(got[c.logvar], expected);
      assert.equal(fmt.render(got), wantLine, 'and renders back');
    });
  }
});

describe('compileUwsgi', () => {
  it('lists the logvars once each, with their types and kinds', () => {
    const f = compileUwsgi('%(status) %(status) %(uagent) %(var.HTTP_X) %(metric.m) %(ltime) %(foo) %(vszM)');
    assert.deepEqual(
      f.variables.map((v) => [v.name, v.type, v.kind, v.known]),
      [
        ['status', 'int', 'function', true],
        ['uagent', 'string', 'offsetof', true],
        ['var.HTTP_X', 'string', 'var', true],
        ['metric.m', 'signed', 'metric', true],
        ['ltime', 'ltime', 'function', true],
        ['foo', 'string', 'logvar', false],
        ['vszM', 'int', 'function', true],
      ],
    );
  });

  it('knows every logvar of the reference', () => {
    const names =
      'uri method user addr host proto uagent referer status micros msecs secs time ctime epoch size ltime ' +
      'hsize rsize cl pid wid switches vars headers core vsz rss vszM rssM pktsize modifier1 modifier2 ftime ' +
      'rerr werr ioerr tmsecs tmicros';
    assert.deepEqual([...knownUwsgiLogvars()].sort(), names.split(' ').sort());
  });

  it('names are case-sensitive: %(URI) is a user-defined logvar', () => {
    assert.deepEqual(
      compileUwsgi('%(URI)').variables.map((v) => [v.type, v.known]),
      [['string', false]],
    );
  });

  it('the built-in-line names are user-defined logvars in a logformat', () => {
    assert.deepEqual(
      compileUwsgi('%(app) %(via)').variables.map((v) => v.kind),
      ['logvar', 'logvar'],
    );
    assert.deepEqual(
      compileUwsgi('%(app) %(via)', { builtin: true }).variables.map((v) => v.type),
      ['signed', 'via'],
    );
  });

  it('renders the Apache-combined preset byte for byte (nothing escaped)', () => {
    const f = compileUwsgiPreset('apache-combined', { utcOffset: 60 });
    const line = f.render({
      addr: '192.0.2.7',
      user: null,
      ltime: T,
      method: 'GET',
      uri: '/q"uote',
      proto: 'HTTP/1.1',
      status: 200,
      size: 612,
      referer: '',
      uagent: 'ua "q" \\ é',
    });
    assert.equal(
      line,
      '192.0.2.7 - - [23/Nov/2026:18:36:47 +0100] "GET /q"uote HTTP/1.1" 200 612 "-" "ua "q" \\ é"',
    );
  });

  it('parses the Apache-combined preset, backtracking over quotes inside values', () => {
    const f = compileUwsgiPreset('apache-combined');
    assert.deepEqual(
      parsed(
        f.parse(
          '192.0.2.7 - bob [23/Nov/2026:17:36:47 -0130] "GET /raw/\udc80\udcff HTTP/1.1" 499 0 "-" "ua "q" \\ "x" "y"',
        ),
      ),
      {
        addr: '192.0.2.7',
        user: 'bob',
        ltime: T + 90 * 60,
        method: 'GET',
        uri: '/raw/\udc80\udcff',
        proto: 'HTTP/1.1',
        status: 499,
        size: 0,
        referer: null,
        uagent: 'ua "q" \\ "x" "y',
      },
    );
  });

  it('uses the regular expression when a first-occurrence split is invalid', () => {
    const f = compileUwsgi('%(uagent) %(status) %(msecs)');
    assert.deepEqual(parsed(f.parse('a 1 b 200 3')), { uagent: 'a 1 b', status: 200, msecs: 3 });
  });

  it('an empty time text is not a time, also before the first time was read', () => {
    // The converter remembers the last time text it read; it started as '' and took '' for 0.
    const line = '0404 -012 [] [10/Oct/2000:13:55:36 -0700] -';
    const f = compileUwsgi('%(status)%(size) %(msecs)%(uri) [%(ltime)] %(uagent)');
    assert.deepEqual(f.parse(line), {
      status: 0,
      size: 404,
      msecs: null,
      uri: '012 []',
      ltime: 971211336,
      uagent: null,
    });
  });

  it('parses the built-in request line (uwsgi-default), as uWSGI 2.0.21 wrote it', () => {
    const f = compileUwsgiPreset('uwsgi-default', { utcOffset: 0 });
    const lines = [
      '[pid: 13970|app: 0|req: 1/1] 127.0.0.1 () {24 vars in 263 bytes} [Mon Nov 23 17:35:59 2026] GET /hello?x=1 => generated 2 bytes in 0 msecs (HTTP/1.1 200) 1 headers in 45 bytes (1 switches on core 0)',
      '[pid: 14275|app: 0|req: 1/1] 127.0.0.1 () {22 vars in 225 bytes} [Mon Nov 23 17:36:06 2026] GET /file => generated 453 bytes in 0 msecs via sendfile() (HTTP/1.1 200) 1 headers in 45 bytes (0 switches on core 0)',
      '[pid: 14275|app: 0|req: 2/2] 0.0.0.0 () {22 vars in 10208 bytes} [Mon Nov 23 17:36:07 2026] - - => generated 2 bytes in 0 msecs (- 200) 1 headers in 45 bytes (1 switches on core 0)',
    ];
    const rows = lines.map((l) => parsed(f.parse(l)));
    assert.deepEqual(rows[0], {
      pid: 13970,
      app: 0,
      app_req: 1,
      req: 1,
      addr: '127.0.0.1',
      user: null,
      vars: 24,
      pktsize: 263,
      ctime: T - 48,
      method: 'GET',
      uri: '/hello?x=1',
      rsize: 2,
      msecs: 0,
      via: null,
      proto: 'HTTP/1.1',
      status: 200,
      headers: 1,
      hsize: 45,
      switches: 1,
      core: 0,
    });
    assert.equal(rows[1]?.via, 'sendfile');
    assert.deepEqual(
      [rows[2]?.addr, rows[2]?.method, rows[2]?.uri, rows[2]?.proto],
      ['0.0.0.0', '-', '-', '-'],
    );
    rows.forEach((r, i) => {
      assert.equal(f.render(r), lines[i]);
    });
    const micros = compileUwsgiPreset('uwsgi-default-micros', { utcOffset: 0 });
    assert.equal(
      micros.render({ ...rows[0], micros: 1234 }),
      (lines[0] as string).replace('0 msecs', '1234 micros'),
    );
  });

  it('the uwsgi-compatible preset writes `-` where the built-in line writes nothing', () => {
    const f = compileUwsgiPreset('uwsgi-compatible', { utcOffset: 0 });
    const line =
      '[pid: 13970|app: -|req: -/-] 127.0.0.1 (-) {24 vars in 263 bytes} [Mon Nov 23 17:35:59 2026] GET /hello?x=1 => generated 2 bytes in 0 msecs (HTTP/1.1 200) 1 headers in 45 bytes (1 switches on core 0)';
    const r = parsed(f.parse(line));
    assert.equal(r.user, null);
    assert.equal(f.render(r), line);
  });

  it('exposes every preset, and rejects unknown ones', () => {
    assert.deepEqual(Object.keys(UWSGI_PRESETS).sort(), [
      'apache-combined',
      'uwsgi-compatible',
      'uwsgi-default',
      'uwsgi-default-micros',
    ]);
    assert.throws(
      () => compileUwsgiPreset('nope'),
      (e: unknown) => e instanceof LogtallyError && e.code === 'ERR_FORMAT_UNKNOWN_PRESET',
    );
    assert.throws(
      () => compileUwsgi('%(uri)', { utcOffset: Number.NaN }),
      (e: unknown) => e instanceof LogtallyError && e.code === 'ERR_FORMAT_OPTION',
    );
  });

  it('reports the column and the logvar of a line that does not match', () => {
    const f = compileUwsgiPreset('apache-combined');
    const bad = f.parse('192.0.2.7 - - [23/Nov/2026:17:36:47 +0000] "GET / HTTP/1.1" 2x0 0 "-" "-"');
    assert.ok(bad instanceof LineParseError);
    assert.equal(bad.reason, 'invalid value "2x0" for %(status)');
    assert.equal(bad.column, 61);
    const short = f.parse('192.0.2.7 - - [23/Nov/2026');
    assert.ok(short instanceof LineParseError);
    assert.equal(short.reason, 'expected "] \\"" after %(ltime)');
    assert.equal(short.column, 16);
    const empty = compileUwsgi('[%(uri)]').parse('[]');
    assert.ok(empty instanceof LineParseError);
    assert.equal(empty.reason, 'invalid value "" for %(uri)');
    const prefix = compileUwsgi('x %(uri)').parse('y /');
    assert.ok(prefix instanceof LineParseError);
    assert.equal(prefix.reason, 'expected "x " at the start of the line');
  });

  it('a line that does not match fails in bounded time, however many anchors it holds', () => {
    // A backtracking regular expression takes seconds to minutes on such lines; the search is
    // polynomial and gives up after a fixed number of tries.
    const f = compileUwsgiPreset('apache-combined');
    const junk = '- - [" " "'.repeat(300);
    const line = `1.2.3.4 - - [23/Nov/2026:17:36:47 +0000] "GET / ${junk} HTTP/1.1" 200 5 "${junk}" "${junk}" x`;
    const t = performance.now();
    assert.ok(f.parse(line) instanceof LineParseError);
    assert.ok(f.split(line) instanceof LineParseError);
    assert.ok(performance.now() - t < 5000, `${performance.now() - t} ms`);
  });

  it('renders missing values, inherited properties and objects as `-`', () => {
    assert.equal(compileUwsgi('%(constructor) %(toString) %(__proto__) %(x)').render({ x: {} }), '- - - -');
  });

  it('a logvar named __proto__ is an own field', () => {
    const f = compileUwsgi('%(__proto__) %(status)');
    const r = parsed(f.parse('x 200'));
    assert.ok(Object.hasOwn(r, '__proto__'));
    assert.equal(Object.getPrototypeOf(r), Object.prototype);
    assert.equal(f.render(r), 'x 200');
    const slow = parsed(compileUwsgi('%(__proto__)%(status)').parse('x200'));
    assert.ok(Object.hasOwn(slow, '__proto__'));
  });

  it('accepts a render function', () => {
    const f = compileUwsgi('%(method) %(uri)');
    assert.equal(
      f.render((n) => (n === 'method' ? 'GET' : undefined)),
      'GET -',
    );
  });

  it('split() returns the raw text of each logvar', () => {
    const f = compileUwsgi('%(addr) "%(uagent)" %(status)');
    assert.deepEqual(f.split('1.2.3.4 "a" "b" 200'), ['1.2.3.4', 'a" "b', '200']);
  });

  it('a format without logvars matches only its own text', () => {
    const f = compileUwsgi('100% %%');
    assert.deepEqual(f.parse('100% %%'), {});
    assert.ok(f.parse('100%') instanceof LineParseError);
    assert.equal(f.render({}), '100% %%');
  });
});
