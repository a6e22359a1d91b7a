/**
 * Real nginx writes, logtally parses: Debian's nginx runs on loopback with several log_formats
 * (default, json and none escaping; combined, logtail; upstream variables with fail-over and an
 * error_page redirect to a second group), receives byte-exact crafted requests, and every line
 * it wrote must parse back to exactly what was sent.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeBytes } from '../../src/format/bytes.ts';
import { LineParseError } from '../../src/format/errors.ts';
import { compileNginx } from '../../src/format/nginx/compile.ts';
import type { EscapeMode } from '../../src/format/nginx/escape.ts';
import { NGINX_COMBINED, NGINX_LOGTAIL } from '../../src/format/nginx/presets.ts';
import type { Fields } from '../../src/format/nginx/types.ts';
import { upstreamContacts } from '../../src/format/nginx/upstream.ts';
import {
  findNginx,
  freePort,
  type RunningNginx,
  rawRequest,
  startNginx,
  statusOf,
} from '../support/nginx.ts';

const nginx = findNginx();
const skip = nginx ? false : 'nginx is not installed (apt-get install -y nginx); CI installs it';

const FORMATS: Record<string, { escape: EscapeMode; format: string }> = {
  combined: { escape: 'default', format: NGINX_COMBINED },
  logtail: { escape: 'default', format: NGINX_LOGTAIL },
  fjson: {
    escape: 'json',
    format:
      '{"uri":"$request_uri","ua":"$http_user_agent","ref":"$http_referer","status":$status,' +
      '"missing":"$http_x_missing","t":"$time_iso8601"}',
  },
  fnone: {
    escape: 'none',
    format: '"$request" "$http_user_agent" $status "$http_x_missing" $request_length',
  },
  fdefault: {
    escape: 'default',
    format:
      '"$request_uri" "$http_user_agent" "$http_x_missing" $request_time $msec [$time_iso8601] $bytes_sent',
  },
  fup: {
    escape: 'default',
    format:
      '$upstream_addr|$upstream_status|$upstream_connect_time|$upstream_header_time|$upstream_response_time|' +
      '$upstream_response_length|$upstream_bytes_received "$request_uri" $status',
  },
};

function confString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\t/g, '\\t')}'`;
}

interface Sent {
  uri: Buffer;
  ua?: Buffer | undefined;
  referer?: Buffer | undefined;
}

const b = (s: string) => Buffer.from(s, 'latin1');
const CASES: Sent[] = [
  { uri: b('/index.html?x=1&y=%20z'), ua: b('curl/8.0'), referer: b('https://example.com/a?b') },
  { uri: b('/q"uote'), ua: b('ua "q" \\ x') },
  { uri: b('/back\\slash') },
  { uri: Buffer.concat([b('/raw/'), Buffer.from([0x80, 0xff])]), ua: Buffer.from('café', 'utf8') },
  { uri: Buffer.from('/é€😀', 'utf8'), ua: b('') },
  { uri: b('/ctl'), ua: b('a\tb\x01c\x7fd'), referer: Buffer.from([0xc3, 0x28, 0x22]) },
  { uri: b(`/long/${'a'.repeat(4000)}?q=${'b'.repeat(1000)}`), ua: b(`${'U'.repeat(2000)}"`) },
];

function requestBytes(c: Sent): Buffer {
  const parts = [b('GET '), c.uri, b(' HTTP/1.1\r\nHost: test.local\r\n')];
  if (c.ua !== undefined) parts.push(b('User-Agent: '), c.ua, b('\r\n'));
  if (c.referer !== undefined) parts.push(b('Referer: '), c.referer, b('\r\n'));
  parts.push(b('Connection: close\r\n\r\n'));
  return Buffer.concat(parts);
}

function parseAll(name: string, text: string): Fields[] {
  const def = FORMATS[name];
  assert.ok(def);
  const fmt = compileNginx(def.format, { escape: def.escape });
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', `${name}: file ends with a newline`);
  return lines.map((line, i) => {
    const r = fmt.parse(line);
    if (r instanceof LineParseError) assert.fail(`${name}.log:${i + 1}:${r.column}: ${r.reason}\n${line}`);
    assert.equal(fmt.render(r), line, `${name}.log:${i + 1} renders back byte-for-byte`);
    return r;
  });
}

describe('real nginx log lines parse back exactly', { skip }, () => {
  let server: RunningNginx;
  let port = 0;
  let live = 0;
  const dead: number[] = [];
  let t0 = 0;
  let t1 = 0;
  const logs: Record<string, string> = {};

  before(async () => {
    port = await freePort();
    live = await freePort();
    for (let i = 0; i < 3; i++) dead.push(await freePort());
    const formats = Object.entries(FORMATS)
      .filter(([name]) => name !== 'combined')
      .map(([name, f]) => `  log_format ${name} escape=${f.escape} ${confString(f.format)};`)
      .join('\n');
    const logsDir = 'logs'; // relative paths resolve against nginx's -p prefix
    const http = `
${formats}
  upstream backend {
    server 127.0.0.1:${dead[0]};
    server 127.0.0.1:${dead[1]};
    server 127.0.0.1:${live};
  }
  upstream deadonly { server 127.0.0.1:${dead[2]}; }
  server {
    listen 127.0.0.1:${live};
    location / { return 200 "backend"; }
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      ${Object.keys(FORMATS)
        .filter((n) => n !== 'fup')
        .map((n) => `access_log ${logsDir}/${n}.log ${n};`)
        .join('\n      ')}
      return 200 "ok";
    }
    location /up/ {
      access_log ${logsDir}/fup.log fup;
      proxy_pass http://backend;
    }
    location /grp/ {
      access_log ${logsDir}/fup.log fup;
      error_page 502 = @fallback;
      proxy_pass http://deadonly;
    }
    location @fallback {
      access_log ${logsDir}/fup.log fup;
      proxy_pass http://127.0.0.1:${live};
    }
  }`;
    server = await startNginx(nginx as string, http, port);
    const expect200 = async (res: Buffer, what: string) => {
      if (statusOf(res) === 200) return;
      const errors = await readFile(join(server.prefix, 'logs/error.log'), 'utf8');
      assert.fail(
        `${what}: expected 200, got ${JSON.stringify(res.toString('latin1').slice(0, 200))}\n${errors}`,
      );
    };
    t0 = Math.floor(Date.now() / 1000);
    for (const c of CASES) {
      await expect200(
        await rawRequest(port, requestBytes(c)),
        `GET ${c.uri.toString('latin1').slice(0, 60)}`,
      );
    }
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    await expect200(await rawRequest(port, get('/up/a')), 'GET /up/a');
    await expect200(await rawRequest(port, get('/grp/b')), 'GET /grp/b');
    t1 = Math.ceil(Date.now() / 1000);
    await server.stop();
    for (const name of Object.keys(FORMATS)) {
      logs[name] = await readFile(join(server.prefix, 'logs', `${name}.log`), 'latin1').then((s) =>
        // Read as bytes, decode losslessly as the collector will.
        decodeBytes(Buffer.from(s, 'latin1')),
      );
    }
  });

  after(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  const request = (c: Sent) => `GET ${decodeBytes(c.uri)} HTTP/1.1`;
  const text = (v: Buffer | undefined) => (v === undefined ? null : decodeBytes(v));

  it('combined (escape=default)', () => {
    const rows = parseAll('combined', logs.combined ?? '');
    assert.equal(rows.length, CASES.length);
    rows.forEach((r, i) => {
      const c = CASES[i] as Sent;
      const t = r.time_local as number;
      assert.ok(t >= t0 && t <= t1, `time_local ${t} within [${t0}, ${t1}]`);
      assert.deepEqual(r, {
        remote_addr: '127.0.0.1',
        remote_user: null,
        time_local: t,
        request: request(c),
        status: 200,
        body_bytes_sent: 2,
        http_referer: text(c.referer),
        http_user_agent: text(c.ua),
      });
    });
  });

  it('logtail (tab-separated, escape=default)', () => {
    const rows = parseAll('logtail', logs.logtail ?? '');
    assert.equal(rows.length, CASES.length);
    rows.forEach((r, i) => {
      const c = CASES[i] as Sent;
      const msec = r.msec as number;
      assert.ok(msec >= t0 && msec <= t1, `msec ${msec} within [${t0}, ${t1}]`);
      assert.equal(typeof r.request_time, 'number');
      assert.deepEqual(r, {
        host: 'test.local',
        remote_addr: '127.0.0.1',
        msec,
        request_method: 'GET',
        request_uri: decodeBytes(c.uri),
        status: 200,
        body_bytes_sent: 2,
        request_time: r.request_time,
      });
    });
  });

  it('escape=json: parses back, and lines of valid UTF-8 are valid JSON', () => {
    const rows = parseAll('fjson', logs.fjson ?? '');
    assert.equal(rows.length, CASES.length);
    rows.forEach((r, i) => {
      const c = CASES[i] as Sent;
      assert.deepEqual(r, {
        request_uri: decodeBytes(c.uri),
        http_user_agent: text(c.ua) ?? '',
        http_referer: text(c.referer) ?? '',
        status: 200,
        http_x_missing: '',
        time_iso8601: r.time_iso8601,
      });
      const line = (logs.fjson ?? '').split('\n')[i] as string;
      if (!/[\ud800-\udfff]/.test(line.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) {
        const doc = JSON.parse(line) as Record<string, unknown>;
        assert.equal(doc.uri, r.request_uri);
        assert.equal(doc.ua, r.http_user_agent);
      }
    });
  });

  it('escape=none: raw bytes and quotes inside quoted fields', () => {
    const rows = parseAll('fnone', logs.fnone ?? '');
    assert.equal(rows.length, CASES.length);
    rows.forEach((r, i) => {
      const c = CASES[i] as Sent;
      assert.deepEqual(r, {
        request: request(c),
        http_user_agent: text(c.ua) ?? '',
        status: 200,
        http_x_missing: '',
        request_length: requestBytes(c).length,
      });
    });
  });

  it('escape=default: missing vs empty, seconds and ISO time', () => {
    const rows = parseAll('fdefault', logs.fdefault ?? '');
    assert.equal(rows.length, CASES.length);
    rows.forEach((r, i) => {
      const c = CASES[i] as Sent;
      assert.equal(r.request_uri, decodeBytes(c.uri));
      assert.equal(r.http_user_agent, text(c.ua));
      assert.equal(r.http_x_missing, null);
      const iso = r.time_iso8601 as number;
      assert.ok(iso >= t0 && iso <= t1);
      assert.ok(Math.abs((r.msec as number) - iso) < 1.001);
      assert.equal(typeof r.bytes_sent, 'number');
    });
  });

  it('upstream lists: fail-over within a group, and a second group after error_page', () => {
    const rows = parseAll('fup', logs.fup ?? '');
    assert.equal(rows.length, 2);
    const [failover, redirect] = rows as [Fields, Fields];
    const a = upstreamContacts(failover);
    assert.deepEqual(
      a.map((x) => x.addr).sort(),
      [`127.0.0.1:${dead[0]}`, `127.0.0.1:${dead[1]}`, `127.0.0.1:${live}`].sort(),
    );
    for (const x of a) {
      assert.equal(x.group, 0);
      assert.equal(x.status, x.addr === `127.0.0.1:${live}` ? 200 : 502);
      if (x.addr !== `127.0.0.1:${live}`) assert.equal(x.responseLength, 0);
      else assert.equal(x.responseLength, 7);
    }
    assert.equal(a.at(-1)?.addr, `127.0.0.1:${live}`);
    assert.equal(failover.status, 200);
    assert.equal(failover.request_uri, '/up/a');
    const g = upstreamContacts(redirect);
    assert.deepEqual(
      g.map((x) => [x.group, x.addr, x.status, x.responseLength]),
      [
        [0, `127.0.0.1:${dead[2]}`, 502, 0],
        [1, `127.0.0.1:${live}`, 200, 7],
      ],
    );
    assert.equal(redirect.request_uri, '/grp/b');
  });
});
