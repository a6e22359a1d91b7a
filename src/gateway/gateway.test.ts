import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderRecord } from '../format/record/index.ts';
import type { RequestRecord } from '../format/record/record.ts';
import { compileFormat } from '../format/registry.ts';
import { loadGatewayConfig } from './config.ts';
import { findLocation } from './runtime.ts';
import { Gateway } from './server.ts';

async function port0(): Promise<number> {
  const s = createTcp();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const p = (s.address() as AddressInfo).port;
  s.close();
  await once(s, 'close');
  return p;
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
    r.end();
  });
}

describe('location search, as ngx_http_core_find_location', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logtally-gw-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gw.conf');
  writeFileSync(
    file,
    `events {}
http {
  server {
    listen 127.0.0.1:1;
    location = / { return 200 exact-root; }
    location / { return 200 root; }
    location /images/ { return 200 images; location ~ \\.png$ { return 200 nested-png; } }
    location ^~ /static/ { return 200 static; }
    location ~* \\.(gif|jpg)$ { return 200 gif-jpg; }
    location ~ ^/static/.*\\.css$ { return 200 never-static-css; }
    location /documents/ { return 200 documents; }
    location @named { return 200 named; }
  }
}
`,
  );
  const server = loadGatewayConfig(file).servers[0];
  const find = (uri: string) => {
    const l = server ? findLocation(server.locations, uri) : undefined;
    return l?.conf.ret?.text;
  };
  for (const [uri, want] of [
    ['/', 'exact-root'],
    ['/index.html', 'root'],
    ['/documents/document.html', 'documents'],
    ['/images/1.gif', 'gif-jpg'],
    ['/images/1.png', 'nested-png'],
    ['/documents/1.jpg', 'gif-jpg'],
    ['/static/a.css', 'static'],
    ['/static/a.gif', 'static'],
    ['/@named', 'root'],
  ] as const) {
    it(`${uri} → ${want}`, () => assert.equal(find(uri), want));
  }
});

describe('Gateway hooks: the canonical record per contact, rendered in the Envoy dialect', () => {
  let gw: Gateway;
  let port: number;
  let okPort: number;
  let refused: number;
  let ok: Server;
  let dir: string;
  const contacts: RequestRecord[] = [];
  const requests: RequestRecord[] = [];
  const envoy = compileFormat({
    dialect: 'envoy',
    format:
      '"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_HOST%',
  });

  before(async () => {
    ok = createServer((_req, res) => res.end('ok'));
    ok.listen(0, '127.0.0.1');
    await once(ok, 'listening');
    okPort = (ok.address() as AddressInfo).port;
    refused = await port0();
    port = await port0();
    dir = mkdtempSync(join(tmpdir(), 'logtally-gw-hooks-'));
    const file = join(dir, 'gw.conf');
    writeFileSync(
      file,
      `events {}
http {
  upstream retry { server 127.0.0.1:${refused} max_fails=0; server 127.0.0.1:${okPort}; }
  upstream dead { server 127.0.0.1:${refused}; server 127.0.0.2:${refused}; }
  upstream two_dead { server 127.0.0.1:${refused} max_fails=0; server 127.0.0.2:${refused} max_fails=0; server 127.0.0.3:${refused} max_fails=0; }
  server {
    listen 127.0.0.1:${port};
    access_log off;
    location /retry { proxy_pass http://retry; }
    location /dead { proxy_pass http://dead; }
    location /tries { proxy_next_upstream_tries 2; proxy_pass http://two_dead; }
    # allow/deny run in the access phase, after return (rewrite phase): these proxy instead.
    location /allowed { allow 10.0.0.0/8; allow 127.0.0.0/8; deny all; proxy_pass http://retry; }
    location /denied { allow 2001:db8::/32; allow ::1; deny 127.0.0.1; allow all; proxy_pass http://retry; }
    location /v4-only-net { deny 127.0.0.0/24; proxy_pass http://retry; }
    location /return-before-access { deny all; return 204; }
    if ($uri = /blocked) { return 403; }
    location /to-blocked { error_page 404 = /blocked; return 404; }
    location /return-first { return 204; if ($arg_x) { return 403; } }
    location /if-first { if ($arg_x) { return 403; } return 204; }
  }
}
`,
    );
    gw = await Gateway.start({
      config: file,
      log: () => {},
      hooks: { onContact: (r) => contacts.push(r), onRequest: (r) => requests.push(r) },
    });
  });

  after(async () => {
    await gw.stop();
    ok.closeAllConnections();
    ok.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a refused contact is UF, the next one has no flag; the request record holds both contacts', async () => {
    contacts.length = 0;
    requests.length = 0;
    assert.equal(await get(port, '/retry?a=1'), 200);
    assert.deepEqual(
      contacts.map((r) => renderRecord(envoy, r)),
      [
        `"GET /retry?a=1 HTTP/1.1" 502 UF 127.0.0.1:${refused}`,
        `"GET /retry?a=1 HTTP/1.1" 200 - 127.0.0.1:${okPort}`,
      ],
    );
    const done = await new Promise<RequestRecord>((resolve) => {
      const t = setInterval(() => {
        if (requests[0]) {
          clearInterval(t);
          resolve(requests[0]);
        }
      }, 5);
    });
    assert.equal(done.status, 200);
    assert.deepEqual(
      done.upstreams?.map((u) => [u.group, u.addr, u.status]),
      [
        [0, `127.0.0.1:${refused}`, 502],
        [0, `127.0.0.1:${okPort}`, 200],
      ],
    );
  });

  it('retries cut by proxy_next_upstream_tries: UF,URX on the last contact', async () => {
    contacts.length = 0;
    assert.equal(await get(port, '/tries'), 502);
    assert.deepEqual(
      contacts.map((r) => r.responseFlags),
      ['UF', 'UF,URX'],
    );
  });

  it('allow/deny: first matching rule, IPv4 and IPv6 networks', async () => {
    assert.equal(await get(port, '/allowed'), 200);
    assert.equal(await get(port, '/return-before-access'), 204);
    assert.equal(await get(port, '/denied'), 403);
    assert.equal(await get(port, '/v4-only-net'), 403);
  });

  it('return and if run in written order (nginx rewrite phase)', async () => {
    assert.equal(await get(port, '/return-first?x=1'), 204);
    assert.equal(await get(port, '/if-first?x=1'), 403);
    assert.equal(await get(port, '/if-first'), 204);
    // An internal redirect to a URI runs the server's rewrite phase again.
    assert.equal(await get(port, '/to-blocked'), 403);
  });

  it('no live upstreams (every server failed max_fails times): UH, the group name as the address', async () => {
    assert.equal(await get(port, '/dead'), 502);
    contacts.length = 0;
    assert.equal(await get(port, '/dead'), 502);
    assert.deepEqual(
      contacts.map((r) => renderRecord(envoy, r)),
      ['"GET /dead HTTP/1.1" 502 UH dead'],
    );
  });
});

describe('server selection, as nginx: exact, leading wildcard, trailing wildcard, regex, default', () => {
  it('picks the server each Host names', async () => {
    const { Runtime } = await import('./runtime.ts');
    const dir = mkdtempSync(join(tmpdir(), 'logtally-gw-names-'));
    try {
      const file = join(dir, 'gw.conf');
      const server = (name: string, extra = '') =>
        `server { listen 127.0.0.1:1 ${extra}; server_name ${name}; return 204; }`;
      writeFileSync(
        file,
        `events {}\nhttp {\n${server('fallback.example')}\n${server('www.example', 'default_server')}\n${server('*.example')}\n${server('mail.*')}\n${server('"~^api[0-9]+\\.test$"')}\n}\n`,
      );
      const rt = await Runtime.create(loadGatewayConfig(file), () => {});
      const listen = { host: '127.0.0.1', port: 1, ssl: false, defaultServer: false };
      const pick = (h: string | undefined) => rt.selectServer(listen, h).names[0];
      assert.equal(pick('www.example'), 'www.example');
      assert.equal(pick('shop.example'), '*.example');
      assert.equal(pick('mail.other'), 'mail.*');
      assert.equal(pick('API42.test'), '~^api[0-9]+\\.test$');
      assert.equal(pick('nothing.else'), 'www.example');
      assert.equal(pick(undefined), 'www.example');
      rt.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
