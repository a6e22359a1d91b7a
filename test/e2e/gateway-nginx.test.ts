/**
 * Differential test: the same configuration run by Debian's nginx and by `logtally gateway`,
 * the same request bytes sent to both, against the same loopback backends (raw TCP servers
 * answering fixed bytes, so what each proxy receives is identical). Every access_log variable
 * below must agree, times aside; for times, the `$upstream_*_time` lists must have the same
 * shape (`, ` and ` : ` in the same places, `-` in the same places).
 *
 * Masked, with the reason: `$body_bytes_sent` of responses the proxy generates itself (its
 * error page names the server); `$bytes_sent` is not compared (the `Server:` and `Date` header
 * lines differ). nginx lacks the upstream log module, so `upstream_log` is not in its copy.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, removeDir, startGateway } from '../support/gateway.ts';
import { freePort } from '../support/listening.ts';
import { findNginx, type RunningNginx, rawRequest, startNginx } from '../support/nginx.ts';
import { until } from '../support/wait.ts';

const nginx = findNginx();
const skip = nginx ? false : 'nginx is not installed (apt-get install -y nginx); CI installs it';

/** A backend that reads one request (head and Content-Length body) and answers fixed bytes. */
async function rawBackend(response: (head: string) => string): Promise<{ port: number; server: Server }> {
  const server = createServer((s: Socket) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.subarray(0, end).toString('latin1');
      const cl = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + cl) return;
      s.end(response(head), 'latin1');
    });
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, server };
}

const fixed = (status: string, body: string, extra = '') =>
  `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${extra}Connection: close\r\n\r\n${body}`;

const FORMAT =
  `log_format diff escape=json '{"id":"$http_x_test","request":"$request","status":"$status",` +
  `"body_bytes_sent":"$body_bytes_sent","request_length":"$request_length","uri":"$uri","args":"$args",` +
  `"request_uri":"$request_uri","host":"$host","remote_addr":"$remote_addr","http_user_agent":"$http_user_agent",` +
  `"request_method":"$request_method","upstream_addr":"$upstream_addr","upstream_status":"$upstream_status",` +
  `"upstream_response_length":"$upstream_response_length","upstream_bytes_received":"$upstream_bytes_received",` +
  `"upstream_bytes_sent":"$upstream_bytes_sent","urt":"$upstream_response_time","uct":"$upstream_connect_time",` +
  `"uht":"$upstream_header_time"}';`;

interface Case {
  readonly id: string;
  readonly request: string;
  /** The proxy answers this one itself (its error page): body length not compared. */
  readonly generated?: boolean;
}

const req = (id: string, method: string, target: string, body = '') =>
  `${method} ${target} HTTP/1.1\r\nHost: gw.test\r\nUser-Agent: differential/1.0\r\nX-Test: ${id}\r\n` +
  `${body ? `Content-Length: ${body.length}\r\n` : ''}Connection: close\r\n\r\n${body}`;

const CASES: readonly Case[] = [
  { id: 'plain', request: req('plain', 'GET', '/plain/a%20b?x=1&y=2') },
  { id: 'uri-part', request: req('uri-part', 'GET', '/rewrite/deep/path?q=1') },
  { id: 'refused', request: req('refused', 'GET', '/refused') },
  { id: 'bad-then-ok', request: req('bad-then-ok', 'GET', '/badok') },
  { id: 'fallback', request: req('fallback', 'GET', '/fallback/z') },
  { id: 'accel', request: req('accel', 'GET', '/accel') },
  { id: 'notfound', request: req('notfound', 'GET', '/notfound') },
  { id: 'intercept', request: req('intercept', 'GET', '/intercept') },
  { id: 'post', request: req('post', 'POST', '/plain/form', 'a=1&b=2') },
  { id: 'tries', request: req('tries', 'GET', '/tries'), generated: true },
  { id: 'return', request: req('return', 'GET', '/gone'), generated: true },
  { id: 'internal', request: req('internal', 'GET', '/internal/x'), generated: true },
  { id: 'head', request: req('head', 'HEAD', '/plain/h') },
];

/** `0.003, 0.001 : -` → `#, # : -`: the shape of a time list. */
const shape = (v: string | undefined) => (v ?? '').replace(/\d+\.\d{3}/g, '#');

describe('logtally gateway and nginx: the same access_log for the same requests', { skip }, () => {
  let ng: RunningNginx | undefined;
  let gw: RunningGateway | undefined;
  const backends: Server[] = [];
  let nginxPort = 0;
  let gatewayPort = 0;

  before(async () => {
    const ok = await rawBackend((head) => fixed('200 OK', `ok:${head.split(' ')[1]}`));
    const bad = await rawBackend(() => fixed('502 Bad Gateway', 'upstream says bad'));
    const missing = await rawBackend(() => fixed('404 Not Found', 'no such thing here'));
    const accel = await rawBackend(() =>
      fixed('200 OK', 'discarded', 'X-Accel-Redirect: /internal/landed?via=accel\r\n'),
    );
    backends.push(ok.server, bad.server, missing.server, accel.server);
    const refused = await freePort();
    const http = (logPath: string, port: number) => `
  ${FORMAT}
  upstream ok { server 127.0.0.1:${ok.port}; }
  upstream refused_ok { server 127.0.0.1:${refused} max_fails=0; server 127.0.0.1:${ok.port}; }
  upstream bad_ok { server 127.0.0.1:${bad.port} max_fails=0; server 127.0.0.1:${ok.port}; }
  upstream refused_only { server 127.0.0.1:${refused} max_fails=0; }
  upstream three_refused { server 127.0.0.1:${refused} max_fails=0; server 127.0.0.2:${refused} max_fails=0; server 127.0.0.3:${refused} max_fails=0; }
  upstream missing { server 127.0.0.1:${missing.port}; }
  upstream accel { server 127.0.0.1:${accel.port}; }
  server {
    listen 127.0.0.1:${port};
    server_name gw.test;
    access_log ${logPath} diff;
    proxy_next_upstream error timeout http_502;
    location /plain/ { proxy_pass http://ok; }
    location /rewrite/ { proxy_pass http://ok/new/; }
    location /refused { proxy_pass http://refused_ok; }
    location /badok { proxy_pass http://bad_ok; }
    location /fallback { proxy_pass http://refused_only; error_page 502 = @fallback; }
    location @fallback { proxy_pass http://ok; }
    location /accel { proxy_pass http://accel; }
    location /internal/ { internal; proxy_pass http://ok; }
    location /notfound { proxy_pass http://missing; }
    location /intercept { proxy_intercept_errors on; error_page 404 = @fallback; proxy_pass http://missing; }
    location /tries { proxy_next_upstream_tries 2; proxy_pass http://three_refused; }
    location /gone { return 410; }
  }`;
    nginxPort = await freePort();
    ng = await startNginx(nginx as string, http('logs/diff.log', nginxPort), nginxPort);
    gatewayPort = await freePort();
    gw = await startGateway((dir) => `events {}\nhttp {${http(join(dir, 'diff.log'), gatewayPort)}\n}\n`);
  });

  after(async () => {
    await ng?.stop();
    await ng?.cleanup();
    if (gw) {
      await gw.stop();
      await removeDir(gw.dir);
    }
    for (const b of backends) b.close();
  });

  it('every case: the same status and the same access_log variables (times: the same shape)', async () => {
    assert.ok(ng && gw);
    for (const c of CASES) {
      const a = await rawRequest(nginxPort, c.request);
      const b = await rawRequest(gatewayPort, c.request);
      const statusA = a.toString('latin1').split('\r\n')[0]?.split(' ')[1];
      const statusB = b.toString('latin1').split('\r\n')[0]?.split(' ')[1];
      assert.equal(statusB, statusA, `${c.id}: response status`);
    }
    const read = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, string>);
    const nginxLog = join((ng as RunningNginx).prefix, 'logs/diff.log');
    const gatewayLog = join((gw as RunningGateway).dir, 'diff.log');
    const theirs = await until('nginx access lines', () => {
      try {
        const r = read(nginxLog);
        return r.length === CASES.length ? r : undefined;
      } catch {
        return undefined;
      }
    });
    const ours = await until('gateway access lines', () => {
      const r = read(gatewayLog);
      return r.length === CASES.length ? r : undefined;
    });
    for (const c of CASES) {
      const n = theirs.find((r) => r.id === c.id);
      const g = ours.find((r) => r.id === c.id);
      assert.ok(n && g, `${c.id}: a line from each`);
      const mask = (r: Record<string, string>) => ({
        ...r,
        urt: shape(r.urt),
        uct: shape(r.uct),
        uht: shape(r.uht),
        upstream_addr: r.upstream_addr
          ?.replaceAll(`:${nginxPort}`, ':PORT')
          .replaceAll(`:${gatewayPort}`, ':PORT'),
        ...(c.generated ? { body_bytes_sent: 'generated' } : {}),
      });
      assert.deepEqual(mask(g), mask(n), `${c.id}: gateway vs nginx`);
    }
  });
});
