/**
 * `accessLog` on a real node:http server writes the same lines as real nginx (Debian 1.22) for
 * the same requests and the same `log_format`s, captured in this run: every crafted request is
 * sent to nginx, nginx's response is captured, the same request bytes are sent to a Node server
 * that replays nginx's response byte for byte (status line, header fields in order, a fresh
 * Date of the same length, body) — so `$bytes_sent` must match exactly too.
 *
 * Fields that legitimately differ and are masked: `$time_local`, `$msec`, `$request_time`
 * (clocks), `$remote_port` and `$server_port` (each connection and each server has its own
 * port; ours is checked against the Node server's), `$connection` (each
 * server numbers its own connections), `$pid`, `$request_id` (random). Nothing else.
 *
 * Not compared because Node's parser (llhttp) rejects them with 400 before any JavaScript runs
 * while nginx accepts them: raw bytes ≥ 0x80 in the request target, and control characters in
 * header values. Raw and UTF-8 bytes still reach the log here through percent-encoding (`$uri`
 * decodes them) and through header values (obs-text is accepted).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileNginx } from '../../src/format/nginx/compile.ts';
import { NGINX_COMBINED } from '../../src/format/nginx/presets.ts';
import { accessLog } from '../../src/http/access-log.ts';
import { findNginx, freePort, type RunningNginx, rawRequest, startNginx } from '../support/nginx.ts';
import { tempDir } from '../support/writer-fakes.ts';
import {
  exchange,
  leaveEarly,
  parseResponse,
  pipeline,
  type RawResponse,
  replay,
} from '../support/writer-http.ts';

const nginx = findNginx();
const skip = nginx ? false : 'nginx is not installed (apt-get install -y nginx); CI installs it';

const FIELDS = [
  'remote_addr',
  'remote_user',
  'request',
  'status',
  'body_bytes_sent',
  'bytes_sent',
  'request_length',
  'http_referer',
  'http_user_agent',
  'http_x_empty',
  'host',
  'uri',
  'request_uri',
  'args',
  'arg_b',
  'is_args',
  'query_string',
  'server_protocol',
  'request_method',
  'scheme',
  'https',
  'server_addr',
  'server_port',
  'server_name',
  'connection_requests',
  'sent_http_content_type',
  'sent_http_content_length',
  'sent_http_connection',
  'sent_http_location',
  'cookie_sid',
  'content_length',
  'request_completion',
  // masked: they differ legitimately (see the module comment)
  'remote_port',
  'time_local',
  'msec',
  'request_time',
  'connection',
  'pid',
  'request_id',
];
const MASKED = new Set([
  'remote_port',
  'server_port', // each server listens on its own port (checked separately)
  'time_local',
  'msec',
  'request_time',
  'connection',
  'pid',
  'request_id',
]);
const SEP = '\t';
const WIDE = FIELDS.map((f) => `$${f}`).join(SEP);
const JSON_FMT =
  '{"u":"$request_uri","ua":"$http_user_agent","r":"$http_referer","s":$status,"x":"$http_x_missing"}';

const b = (s: string) => Buffer.from(s, 'latin1');
const u = (s: string) => Buffer.from(s, 'utf8');

/** Each case: one or more requests, sent the same way to both servers. */
interface Case {
  readonly name: string;
  readonly requests: readonly Buffer[];
  readonly how: 'one' | 'sequence' | 'pipeline' | 'leave';
}

const get = (target: string, headers = 'Host: test.local\r\n', version = '1.1') =>
  b(`GET ${target} HTTP/${version}\r\n${headers}Connection: close\r\n\r\n`);

const CASES: Case[] = [
  {
    name: 'typical browser request',
    how: 'one',
    requests: [
      get(
        '/index.html?x=1&b=2',
        'Host: test.local\r\nUser-Agent: Mozilla/5.0 (X11)\r\nReferer: https://example.com/a?b\r\nCookie: a=1; sid=abc\r\n',
      ),
    ],
  },
  {
    name: 'quote in the URI and UA',
    how: 'one',
    requests: [get('/q"uote', 'Host: t\r\nUser-Agent: ua "q" \\ x\r\n')],
  },
  { name: 'backslashes', how: 'one', requests: [get('/back\\slash?b=\\\\', 'Host: t\r\nReferer: \\\\\r\n')] },
  {
    name: 'percent-encoded UTF-8 and raw bytes',
    how: 'one',
    requests: [get('/caf%C3%A9/%80%FF?b=%E2%82%AC')],
  },
  {
    name: 'UTF-8 and raw bytes in headers',
    how: 'one',
    requests: [
      Buffer.concat([
        b('GET /h HTTP/1.1\r\nHost: t\r\nUser-Agent: '),
        u('café € 😀'),
        b('\r\nReferer: \xc3\x28\x22\x80\xff\r\nConnection: close\r\n\r\n'),
      ]),
    ],
  },
  {
    name: 'empty and missing headers',
    how: 'one',
    requests: [get('/empty', 'Host: t\r\nUser-Agent:\r\nX-Empty:\r\n')],
  },
  {
    name: 'extra whitespace around a header value',
    how: 'one',
    requests: [get('/ws', 'Host: t\r\nUser-Agent:   a  b   \r\n')],
  },
  {
    name: 'basic auth',
    how: 'one',
    requests: [get('/auth', 'Host: t\r\nAuthorization: Basic dXNlcjpwYXNz\r\n')],
  },
  {
    name: 'basic auth without a colon',
    how: 'one',
    requests: [get('/auth2', 'Host: t\r\nAuthorization: basic Zm9v\r\n')],
  },
  {
    name: 'absolute-form target',
    how: 'one',
    requests: [get('http://Example.COM:8080/abs?y', 'Host: other\r\n')],
  },
  {
    name: 'host with port and trailing dot, dot segments',
    how: 'one',
    requests: [get('/a//b/./../c?', 'Host: X.Example.com.:80\r\n')],
  },
  { name: 'HTTP/1.0 without Host', how: 'one', requests: [b('GET /old HTTP/1.0\r\n\r\n')] },
  {
    name: 'POST with a body the server reads (nginx: proxied)',
    how: 'one',
    requests: [
      b(
        'POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
      ),
    ],
  },
  {
    name: 'POST with a chunked body the server reads (nginx: proxied)',
    how: 'one',
    requests: [
      b(
        'POST /chunk HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n',
      ),
    ],
  },
  {
    name: 'POST with a body the server ignores (nginx: return 200)',
    how: 'one',
    requests: [b('POST /discard HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')],
  },
  {
    name: 'POST with a chunked body the server ignores',
    how: 'one',
    requests: [
      b(
        'POST /discard2 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      ),
    ],
  },
  { name: '404', how: 'one', requests: [get('/missing')] },
  { name: 'redirect', how: 'one', requests: [get('/redirect')] },
  { name: 'long URI', how: 'one', requests: [get(`/long/${'a'.repeat(3000)}?b=${'z'.repeat(500)}`)] },
  {
    name: 'keep-alive: two requests, one connection',
    how: 'sequence',
    requests: [
      b('GET /ka1 HTTP/1.1\r\nHost: t\r\n\r\n'),
      b('GET /ka2?b=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'),
    ],
  },
  {
    name: 'pipelined requests',
    how: 'pipeline',
    requests: [
      b('GET /p1 HTTP/1.1\r\nHost: t\r\n\r\n'),
      b('GET /p2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'),
    ],
  },
  { name: 'client leaves before the response: 499', how: 'leave', requests: [get('/slow')] },
];

const NGINX_LOCATIONS = (hang: number, backend: number) => `
    location / { return 200 "ok\\n"; }
    location = /form { proxy_pass http://127.0.0.1:${backend}; }
    location = /chunk { proxy_pass http://127.0.0.1:${backend}; }
    location = /missing { return 404; }
    location = /redirect { return 302 /elsewhere; }
    location = /slow { proxy_pass http://127.0.0.1:${hang}; }`;

function confString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\t/g, '\\t')}'`;
}

async function waitLines(path: string, n: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(path, 'latin1');
    } catch {}
    const lines = text.split('\n').slice(0, -1);
    if (lines.length >= n) return lines;
    if (Date.now() > deadline) throw new Error(`${path}: ${lines.length} of ${n} lines`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('accessLog on node:http writes what nginx writes', { skip }, () => {
  let nginxServer: RunningNginx;
  let node: Server;
  let hang: TcpServer;
  let backend: Server;
  let nodePort = 0;
  const hung: Socket[] = [];
  let dir = '';
  const responses = new Map<string, RawResponse>();
  let arrivedAtNode: () => void = () => {};
  const theirs: Record<string, string[]> = {};
  const ours: Record<string, string[]> = {};
  const total = CASES.reduce((n, c) => n + c.requests.length, 0);

  async function send(port: number, c: Case, arrived: Promise<unknown>): Promise<Buffer[]> {
    if (c.how === 'one') return [await rawRequest(port, c.requests[0] as Buffer)];
    if (c.how === 'sequence') return exchange(port, c.requests);
    if (c.how === 'pipeline') return pipeline(port, c.requests);
    await leaveEarly(port, c.requests[0] as Buffer, arrived);
    return [];
  }

  before(async () => {
    dir = tempDir({ after });
    hang = createTcpServer((s) => {
      hung.push(s);
      hangArrived();
    });
    hang.listen(0, '127.0.0.1');
    await once(hang, 'listening');
    const hangPort = (hang.address() as { port: number }).port;
    let hangArrived: () => void = () => {};
    backend = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok\n'));
    });
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const backendPort = (backend.address() as { port: number }).port;

    // 1. nginx
    const port = await freePort();
    nginxServer = await startNginx(
      nginx as string,
      `  log_format wide ${confString(WIDE)};
  log_format js escape=json ${confString(JSON_FMT)};
  server {
    listen 127.0.0.1:${port};
    server_name logtally.test;
    access_log logs/wide.log wide;
    access_log logs/combined.log combined;
    access_log logs/json.log js;
${NGINX_LOCATIONS(hangPort, backendPort)}
  }`,
      port,
    );
    for (const c of CASES) {
      const arrived = new Promise<void>((r) => {
        hangArrived = r;
      });
      const rs = await send(port, c, arrived);
      rs.forEach((r, i) => {
        responses.set((c.requests[i] as Buffer).toString('latin1'), parseResponse(r));
      });
    }
    theirs.wide = await waitLines(join(nginxServer.prefix, 'logs/wide.log'), total);
    await nginxServer.stop();
    theirs.combined = readFileSync(join(nginxServer.prefix, 'logs/combined.log'), 'latin1')
      .split('\n')
      .slice(0, -1);
    theirs.json = readFileSync(join(nginxServer.prefix, 'logs/json.log'), 'latin1').split('\n').slice(0, -1);

    // 2. Node, same requests, nginx's responses replayed
    const log = accessLog({
      serverName: 'logtally.test',
      logs: [
        { target: join(dir, 'wide.log'), format: compileNginx(WIDE) },
        { target: join(dir, 'combined.log'), format: compileNginx(NGINX_COMBINED) },
        { target: join(dir, 'json.log'), format: compileNginx(JSON_FMT, { escape: 'json' }) },
      ],
    });
    node = createServer(
      log.wrap((req: IncomingMessage, res: ServerResponse) => {
        if (req.url === '/slow') {
          arrivedAtNode();
          return; // never answers
        }
        const answer = () => {
          // Which captured response: the request's own bytes are the key.
          const key = [...responses.keys()].find((k) =>
            k.startsWith(`${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`),
          );
          const r = key === undefined ? undefined : responses.get(key);
          if (!r) {
            res.statusCode = 500;
            res.end('no captured response');
            return;
          }
          replay(res, r);
        };
        if (String(req.url).startsWith('/discard')) {
          answer(); // the body is never read, as nginx's `return` discards it
          return;
        }
        req.on('data', () => {});
        req.on('end', answer);
      }),
    );
    node.listen(0, '127.0.0.1');
    await once(node, 'listening');
    nodePort = (node.address() as { port: number }).port;
    for (const c of CASES) {
      const arrived = new Promise<void>((r) => {
        arrivedAtNode = r;
      });
      await send(nodePort, c, arrived);
    }
    ours.wide = await waitLines(join(dir, 'wide.log'), total);
    log.close();
    ours.combined = readFileSync(join(dir, 'combined.log'), 'latin1').split('\n').slice(0, -1);
    ours.json = readFileSync(join(dir, 'json.log'), 'latin1').split('\n').slice(0, -1);
  });

  after(async () => {
    for (const s of hung) s.destroy();
    hang?.close();
    backend?.close();
    node?.closeAllConnections();
    node?.close();
    await nginxServer?.stop();
    await nginxServer?.cleanup();
  });

  let line = 0;
  for (const c of CASES) {
    const first = line;
    line += c.requests.length;
    it(c.name, () => {
      for (let i = first; i < first + c.requests.length; i++) {
        const n = (theirs.wide?.[i] ?? '').split(SEP);
        const o = (ours.wide?.[i] ?? '').split(SEP);
        assert.equal(o.length, FIELDS.length, `our line ${i + 1} has every field`);
        assert.equal(n.length, FIELDS.length, `nginx line ${i + 1} has every field`);
        const diff = FIELDS.flatMap((f, k) =>
          MASKED.has(f) || n[k] === o[k]
            ? []
            : [`$${f}: nginx ${JSON.stringify(n[k])}, ours ${JSON.stringify(o[k])}`],
        );
        assert.deepEqual(diff, [], `line ${i + 1}`);
        const noTime = (s: string | undefined) => (s ?? '').replace(/\[[^\]]+\]/, '[T]');
        assert.equal(
          noTime(ours.combined?.[i]),
          noTime(theirs.combined?.[i]),
          'combined, byte for byte but the time',
        );
        assert.equal(ours.json?.[i], theirs.json?.[i], 'escape=json, byte for byte');
      }
    });
  }

  it('masked fields have the right shape', () => {
    for (const l of ours.wide ?? []) {
      const f = Object.fromEntries(l.split(SEP).map((v, k) => [FIELDS[k], v]));
      assert.match(f.time_local ?? '', /^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$/);
      assert.match(f.msec ?? '', /^\d{10}\.\d{3}$/);
      assert.match(f.request_time ?? '', /^\d+\.\d{3}$/);
      assert.match(f.request_id ?? '', /^[0-9a-f]{32}$/);
      assert.equal(f.pid, String(process.pid));
      assert.match(f.remote_port ?? '', /^\d+$/);
      assert.equal(f.server_port, String(nodePort));
    }
  });
});
