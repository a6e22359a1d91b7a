/**
 * Real uWSGI writes, logtally parses: Debian's uWSGI (2.0, python3 plugin) runs on loopback with a
 * tiny WSGI app that sets a user-defined logvar, once per layout (uWSGI takes one --logformat per
 * instance): the Apache-combined logformat, a logformat with timing, size, pid, request-variable
 * and user-defined logvars, a logformat full of tokenizer quirks, and no logformat at all (uWSGI's
 * built-in request line). The same byte-exact requests go to each; every line uWSGI wrote must
 * parse back to exactly what was sent and render back byte for byte.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decodeBytes } from '../../src/format/bytes.ts';
import { LineParseError } from '../../src/format/errors.ts';
import { compileUwsgi, compileUwsgiPreset } from '../../src/format/uwsgi/compile.ts';
import { UWSGI_APACHE_COMBINED } from '../../src/format/uwsgi/presets.ts';
import { formatCFloat } from '../../src/format/uwsgi/time.ts';
import type { CompiledUwsgiFormat, Fields } from '../../src/format/uwsgi/types.ts';
import { rawRequest, statusOf } from '../support/nginx.ts';
import { findUwsgi, type RunningUwsgi, startUwsgi } from '../support/uwsgi.ts';

const found = findUwsgi();
const skip = found.install ? false : `${found.why}; CI installs it`;
const basicauth = found.install?.plugins.has('router_basicauth') ?? false;

// A zone with a non-zero, DST-free offset, so ltime/ctime exercise the offset (+05:30).
const TZ = existsSync('/usr/share/zoneinfo/Asia/Kolkata') ? 'Asia/Kolkata' : 'UTC';
const OFFSET = TZ === 'UTC' ? 0 : 330;

const APP = `
import os
import uwsgi

def application(env, start_response):
    uri = env.get('REQUEST_URI', '')
    if env.get('PATH_INFO') != '/nolv':
        # derived from the request; contains a space
        uwsgi.set_logvar('myvar', '%s %d' % (env['REQUEST_METHOD'], len(uri)))
    env['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    if env.get('PATH_INFO') == '/file':
        return env['wsgi.file_wrapper'](open(__file__, 'rb'))
    return [str(os.getpid()).encode()]
`;

const CUSTOM =
  '%(addr) %(host) "%(method) %(uri) %(proto)" %(status) %(cl) %(msecs) %(micros) %(secs) %(rsize) %(hsize) ' +
  '%(size) %(pid) [%(ltime)] [%(ctime)] %(time) %(tmsecs) "%(var.HTTP_X_TEST)" "%(uagent)" (%(user)) {%(myvar)}';

/** `%%`, a lone `%`, `%((`, an unset logvar, var. and metric. misses, ftime, and an unterminated `%(`. */
const QUIRKS =
  '%% %(method) %(nosuch) %(var.NOPE) %(metric.nope) 100% x%((uri) [%(ftime)] "%(uagent)" end %(proto';
const LOGDATE = '%Y-%m-%d %H:%M:%S %z (%a %j)';

interface Sent {
  readonly method?: 'GET' | 'POST';
  readonly uri: Buffer;
  readonly host?: string;
  readonly ua?: Buffer;
  readonly referer?: Buffer;
  readonly xtest?: Buffer;
  readonly body?: Buffer;
  readonly auth?: boolean;
}

const b = (s: string) => Buffer.from(s, 'latin1');
const u = (s: string) => Buffer.from(s, 'utf8');
const CASES: Sent[] = [
  {
    uri: b('/index.html?x=1&y=%20z'),
    ua: b('curl/8.0'),
    referer: b('https://example.com/a?b'),
    xtest: b('plain'),
  },
  { uri: b('/q"uote'), ua: u('ua "q" \\ é'), xtest: b('x"y\\z'), host: 'Test.Local:8080' },
  { uri: b('/back\\slash'), ua: b('') },
  {
    uri: Buffer.concat([b('/raw/'), Buffer.from([0x80, 0xff])]),
    ua: b('caf\xe9'),
    referer: Buffer.from([0xc3, 0x28, 0x22]),
  },
  { uri: u('/é€😀'), xtest: u('€ "quoted" \\') },
  { uri: b(`/long/${'a'.repeat(4000)}?q=${'b'.repeat(1000)}`), ua: b(`a" "b ${'U'.repeat(2000)}"`) },
  { uri: b('/nolv'), ua: b('tab\there'), xtest: b('') },
  { method: 'POST', uri: b('/post'), ua: b('poster'), body: b('a=1&b=2') },
  { uri: b('/file') },
  ...(basicauth ? [{ uri: b('/auth/x'), ua: b('authed'), auth: true }] : []),
];

function requestBytes(c: Sent): Buffer {
  const parts = [b(`${c.method ?? 'GET'} `), c.uri, b(` HTTP/1.1\r\nHost: ${c.host ?? 'test.local'}\r\n`)];
  if (c.ua !== undefined) parts.push(b('User-Agent: '), c.ua, b('\r\n'));
  if (c.referer !== undefined) parts.push(b('Referer: '), c.referer, b('\r\n'));
  if (c.xtest !== undefined) parts.push(b('X-Test: '), c.xtest, b('\r\n'));
  if (c.auth) parts.push(b(`Authorization: Basic ${Buffer.from('bob:pw').toString('base64')}\r\n`));
  if (c.body !== undefined) {
    parts.push(b(`Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${c.body.length}\r\n`));
  }
  parts.push(b('Connection: close\r\n\r\n'));
  if (c.body !== undefined) parts.push(c.body);
  return Buffer.concat(parts);
}

interface Response {
  readonly headerBytes: number;
  readonly body: Buffer;
}

function splitResponse(res: Buffer): Response {
  const end = res.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'response has a header block');
  return { headerBytes: end + 4, body: res.subarray(end + 4) };
}

const text = (v: Buffer | undefined) => (v === undefined || v.length === 0 ? null : decodeBytes(v));

function parseAll(name: string, fmt: CompiledUwsgiFormat, log: Buffer): Fields[] {
  // Read as bytes, decode losslessly as the collector will.
  const lines = decodeBytes(log).split('\n');
  assert.equal(lines.pop(), '', `${name}: file ends with a newline`);
  return lines.map((line, i) => {
    const r = fmt.parse(line);
    if (r instanceof LineParseError) assert.fail(`${name}:${i + 1}:${r.column}: ${r.reason}\n${line}`);
    assert.equal(fmt.render(r), line, `${name}:${i + 1} renders back byte for byte`);
    return r;
  });
}

describe('real uWSGI log lines parse back exactly', { skip }, () => {
  const servers: Record<string, RunningUwsgi> = {};
  const logs: Record<string, Buffer> = {};
  const responses: Record<string, Response[]> = {};
  let t0 = 0;
  let t1 = 0;

  before(async () => {
    const install = found.install;
    assert.ok(install);
    const route = basicauth ? ['--route', '^/auth/ basicauth:logtally,bob:pw'] : [];
    const plugins = basicauth ? ['router_basicauth'] : [];
    const layouts: Record<string, { logformat?: string; args?: string[] }> = {
      combined: { logformat: UWSGI_APACHE_COMBINED },
      custom: { logformat: CUSTOM },
      quirks: { logformat: QUIRKS, args: [`--logdate=${LOGDATE}`, '--logformat-strftime'] },
      builtin: {},
    };
    await Promise.all(
      Object.entries(layouts).map(async ([name, l]) => {
        servers[name] = await startUwsgi(install, {
          app: APP,
          ...(l.logformat === undefined ? {} : { logformat: l.logformat }),
          args: [...route, ...(l.args ?? [])],
          plugins,
          tz: TZ,
        });
      }),
    );
    t0 = Math.floor(Date.now() / 1000);
    for (const [name, server] of Object.entries(servers)) {
      const got: Response[] = [];
      for (const c of CASES) {
        const res = await rawRequest(server.port, requestBytes(c));
        assert.equal(
          statusOf(res),
          200,
          `${name}: ${c.uri.toString('latin1').slice(0, 40)}: ${res.toString('latin1').slice(0, 200)}\n${server.output()}`,
        );
        got.push(splitResponse(res));
      }
      responses[name] = got;
      logs[name] = await server.waitForLines(CASES.length);
    }
    t1 = Math.ceil(Date.now() / 1000);
  });

  after(async () => {
    for (const s of Object.values(servers)) {
      await s.stop();
      await s.cleanup();
    }
  });

  const pidOf = (name: string) => Number((responses[name] as Response[])[0]?.body.toString());
  const within = (t: unknown, what: string) => {
    assert.equal(typeof t, 'number', `${what} is a number`);
    assert.ok((t as number) >= t0 && (t as number) <= t1, `${what} ${t} within [${t0}, ${t1}]`);
  };

  it('Apache-combined logformat', () => {
    const rows = parseAll(
      'combined',
      compileUwsgiPreset('apache-combined', { utcOffset: OFFSET }),
      logs.combined as Buffer,
    );
    assert.equal(rows.length, CASES.length);
    rows.forEach((r, i) => {
      const c = CASES[i] as Sent;
      const res = responses.combined?.[i] as Response;
      within(r.ltime, 'ltime');
      assert.deepEqual(r, {
        addr: '127.0.0.1',
        user: c.auth ? 'bob' : null,
        ltime: r.ltime,
        method: c.method ?? 'GET',
        uri: decodeBytes(c.uri),
        proto: 'HTTP/1.1',
        status: 200,
        size: res.headerBytes + res.body.length,
        referer: text(c.referer),
        uagent: text(c.ua),
      });
    });
  });

  it('timing, sizes, pid, ltime/ctime with a zone offset, var.HTTP_X_TEST and a user-defined logvar', () => {
    const rows = parseAll('custom', compileUwsgi(CUSTOM, { utcOffset: OFFSET }), logs.custom as Buffer);
    assert.equal(rows.length, CASES.length);
    const pid = pidOf('custom');
    rows.forEach((r, i) => {
      const c = CASES[i] as Sent;
      const res = responses.custom?.[i] as Response;
      const micros = r.micros as number;
      assert.ok(Number.isInteger(micros) && micros >= 0 && micros < 10_000_000, `micros ${micros}`);
      // msecs and secs come from the same interval as micros.
      assert.equal(r.msecs, Math.floor(micros / 1000));
      assert.equal(r.secs, Number(formatCFloat(micros / 1e6)));
      within(r.time, 'time');
      assert.equal(r.ltime, r.time);
      assert.equal(r.ctime, r.time);
      assert.equal(Math.floor((r.tmsecs as number) / 1000), r.time);
      const uri = c.uri.length;
      assert.deepEqual(r, {
        addr: '127.0.0.1',
        host: c.host ?? 'test.local',
        method: c.method ?? 'GET',
        uri: decodeBytes(c.uri),
        proto: 'HTTP/1.1',
        status: 200,
        cl: c.body?.length ?? 0,
        msecs: r.msecs,
        micros,
        secs: r.secs,
        rsize: res.body.length,
        hsize: res.headerBytes,
        size: res.headerBytes + res.body.length,
        pid,
        ltime: r.ltime,
        ctime: r.ctime,
        time: r.time,
        tmsecs: r.tmsecs,
        'var.HTTP_X_TEST': text(c.xtest),
        uagent: text(c.ua),
        user: c.auth ? 'bob' : null,
        myvar: decodeBytes(c.uri) === '/nolv' ? null : `${c.method ?? 'GET'} ${uri}`,
      });
    });
  });

  it('tokenizer quirks, unset logvars and ftime with --logdate/--logformat-strftime', () => {
    const fmt = compileUwsgi(QUIRKS, { utcOffset: OFFSET, logdate: LOGDATE });
    const rows = parseAll('quirks', fmt, logs.quirks as Buffer);
    assert.equal(rows.length, CASES.length);
    rows.forEach((r, i) => {
      const c = CASES[i] as Sent;
      within(r.ftime, 'ftime');
      assert.deepEqual(r, {
        method: c.method ?? 'GET',
        nosuch: null,
        'var.NOPE': null,
        'metric.nope': 0,
        uri: decodeBytes(c.uri),
        ftime: r.ftime,
        uagent: text(c.ua),
      });
    });
    // The unterminated `%(proto` repeats the text since the last logvar, as uWSGI does.
    const first = decodeBytes(logs.quirks as Buffer).split('\n')[0] as string;
    assert.ok(first.startsWith('%% GET - - 0 100% x%/index.html?x=1&y=%20z ['), first);
    assert.ok(first.endsWith('"curl/8.0" end " end %(proto'), first);
  });

  it("uWSGI's built-in request line (no --logformat) parses with the uwsgi-default preset", () => {
    const rows = parseAll(
      'builtin',
      compileUwsgiPreset('uwsgi-default', { utcOffset: OFFSET }),
      logs.builtin as Buffer,
    );
    assert.equal(rows.length, CASES.length);
    const pid = pidOf('builtin');
    const lines = decodeBytes(logs.builtin as Buffer).split('\n');
    rows.forEach((r, i) => {
      const c = CASES[i] as Sent;
      const res = responses.builtin?.[i] as Response;
      within(r.ctime, 'ctime');
      assert.equal(typeof r.msecs, 'number');
      assert.equal(typeof r.vars, 'number');
      assert.equal(typeof r.switches, 'number');
      // A record longer than 4096 bytes is replaced by uWSGI's minimal line.
      const long = (lines[i] as string).includes(' 0.0.0.0 () ');
      assert.equal(long, c.uri.length > 4000, `line ${i + 1} is the minimal line only for the long URI`);
      assert.deepEqual(r, {
        pid,
        app: 0,
        app_req: i + 1,
        req: i + 1,
        addr: long ? '0.0.0.0' : '127.0.0.1',
        user: c.auth && !long ? 'bob' : null,
        vars: r.vars,
        pktsize: r.pktsize,
        ctime: r.ctime,
        method: long ? '-' : (c.method ?? 'GET'),
        uri: long ? '-' : decodeBytes(c.uri),
        rsize: res.body.length,
        msecs: r.msecs,
        via: decodeBytes(c.uri) === '/file' ? 'sendfile' : null,
        proto: long ? '-' : 'HTTP/1.1',
        status: 200,
        headers: 1,
        hsize: res.headerBytes,
        switches: r.switches,
        core: 0,
      });
    });
  });
});
