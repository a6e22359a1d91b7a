/**
 * `logtally gateway` end to end: the real program in a child process, real loopback backends
 * (refusing, 502-then-200, slower than proxy_read_timeout, X-Accel-Redirect, HTTPS with a
 * self-signed certificate, a slow streamer for client aborts), and the exact log lines it
 * writes: one upstream line per contact, one access line per request, agreeing with each other.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backend, get, type RunningGateway, removeDir, startGateway } from '../support/gateway.ts';
import { freePort } from '../support/listening.ts';
import { synopsis } from '../support/synopsis.ts';
import { makePki } from '../support/tls.ts';
import { until } from '../support/wait.ts';

type Row = Record<string, string>;

const UPSTREAM_FORMAT =
  `upstream_log_format detail escape=json '{"id":"$http_x_test","addr":"$upstream_last_addr","status":"$upstream_last_status",` +
  `"method":"$upstream_method","scheme":"$upstream_scheme","uri":"$upstream_uri",` +
  `"start":"$upstream_last_start_ts","ssl_start":"$upstream_last_ssl_start_ts","send_start":"$upstream_last_send_start_ts",` +
  `"send_end":"$upstream_last_send_end_ts","header":"$upstream_last_header_ts","end":"$upstream_last_end_ts",` +
  `"ct":"$upstream_last_connect_time","tct":"$upstream_last_transport_connect_time","ssl_time":"$upstream_last_ssl_time",` +
  `"send_time":"$upstream_last_send_time","read_time":"$upstream_last_read_time","ht":"$upstream_last_header_time",` +
  `"rt":"$upstream_last_response_time","len":"$upstream_last_response_length","recv":"$upstream_last_bytes_received",` +
  `"sent":"$upstream_last_bytes_sent","lists":"$upstream_addr|$upstream_status","tries":"$upstream_tries","end_msec":"$upstream_last_end_msec"}';`;
const ACCESS_FORMAT =
  `log_format trace escape=json '{"id":"$http_x_test","status":"$status","addr":"$upstream_addr","ustatus":"$upstream_status",` +
  `"urt":"$upstream_response_time","uct":"$upstream_connect_time","uht":"$upstream_header_time","ulen":"$upstream_response_length"}';`;

function rows(file: string): Row[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
}

describe('logtally gateway: one upstream line per contact', () => {
  let gw: RunningGateway;
  let port: number;
  let refusedPort: number;
  let okPort: number;
  let flakyPort: number;
  let slowPort: number;
  let accelPort: number;
  let otherPort: number;
  let tlsPort: number;
  let streamPort: number;
  let backupPort: number;
  const servers: { close(): void; closeAllConnections?: () => void }[] = [];
  const upstreamLog = () => rows(join(gw.dir, 'upstream.log'));
  const accessLog = () => rows(join(gw.dir, 'access.log'));
  const linesOf = (id: string) => upstreamLog().filter((r) => r.id === id);
  const accessOf = (id: string) => until(`access line of ${id}`, () => accessLog().find((r) => r.id === id));

  before(async () => {
    refusedPort = await freePort(); // nothing listens here
    const ok = await backend((req, res) => res.end(`ok ${req.url}`));
    okPort = ok.port;
    let flakyCount = 0;
    const flaky = await backend((_req, res) => {
      flakyCount++;
      res.statusCode = flakyCount === 1 ? 502 : 200;
      res.end(flakyCount === 1 ? 'bad gateway' : 'fine');
    });
    flakyPort = flaky.port;
    const slow = await backend((_req, res) => {
      const t = setTimeout(() => res.end('too late'), 5_000);
      res.on('close', () => clearTimeout(t));
    });
    slowPort = slow.port;
    const accel = await backend((req, res) => {
      res.setHeader('x-accel-redirect', `/internal/from-accel?orig=${encodeURIComponent(req.url ?? '')}`);
      res.end('this body is discarded');
    });
    accelPort = accel.port;
    const other = await backend((req, res) => res.end(`other ${req.method} ${req.url}`));
    otherPort = other.port;
    const backupSrv = await backend((_req, res) => res.end('backup'));
    backupPort = backupSrv.port;
    const stream = await backend((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk\n');
      const t = setInterval(() => res.write('more\n'), 100);
      res.on('close', () => clearInterval(t));
    });
    streamPort = stream.port;
    const pki = makePki();
    const tls = createHttps(
      { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
      (_req, res) => res.end('secure'),
    );
    tls.listen(0, '127.0.0.1');
    await new Promise((r) => tls.once('listening', r));
    tlsPort = (tls.address() as AddressInfo).port;
    servers.push(
      ok.server,
      flaky.server,
      slow.server,
      accel.server,
      other.server,
      backupSrv.server,
      stream.server,
      tls,
    );

    port = await freePort();
    gw = await startGateway(
      (dir) => `
events {}
http {
  ${ACCESS_FORMAT}
  ${UPSTREAM_FORMAT}
  map $upstream_status $upstream_loggable {
    # quoted: nginx reads an unquoted { as the start of a block
    "~(?:^|:\\s|,\\s)[23][0-9]{2}"  0;
    default 1;
  }
  upstream refused_then_ok { server 127.0.0.1:${refusedPort}; server 127.0.0.1:${okPort}; }
  upstream flaky_then_ok { server 127.0.0.1:${flakyPort}; server 127.0.0.1:${okPort}; }
  upstream slow_then_ok { server 127.0.0.1:${slowPort}; server 127.0.0.1:${okPort}; }
  upstream refused_only { server 127.0.0.1:${refusedPort}; }
  upstream three_refused { server 127.0.0.1:${refusedPort} max_fails=0; server 127.0.0.2:${refusedPort} max_fails=0; server 127.0.0.3:${refusedPort} max_fails=0; server 127.0.0.1:${okPort}; }
  upstream primary_ok { server 127.0.0.1:${okPort}; server 127.0.0.1:${backupPort} backup; }
  upstream primary_down { server 127.0.0.1:${refusedPort} max_fails=0; server 127.0.0.1:${backupPort} backup; }
  upstream accel { server 127.0.0.1:${accelPort}; }
  upstream other { server 127.0.0.1:${otherPort}; }
  upstream secure { server 127.0.0.1:${tlsPort}; }
  upstream streamer { server 127.0.0.1:${streamPort}; }
  server {
    listen 127.0.0.1:${port};
    access_log ${dir}/access.log trace;
    upstream_log ${dir}/upstream.log detail;
    upstream_log ${dir}/failures.log detail if=$upstream_loggable;
    upstream_log ${dir}/not-failures.log detail if!=$upstream_loggable;
    proxy_next_upstream error timeout http_502;
    location /refused { proxy_pass http://refused_then_ok; }
    location /flaky { proxy_pass http://flaky_then_ok; }
    location /slow { proxy_read_timeout 700ms; proxy_pass http://slow_then_ok; }
    location /tries { proxy_next_upstream_tries 2; proxy_pass http://three_refused; }
    location /primary { proxy_pass http://primary_ok; }
    location /backup { proxy_pass http://primary_down; }
    location /accel { proxy_pass http://accel; }
    location /internal/ { internal; proxy_pass http://other/landed/; }
    location /secure { proxy_pass https://secure; }
    location /stream { proxy_pass http://streamer; }
    location /fallback { proxy_pass http://refused_only; error_page 502 = @fallback; }
    location @fallback { proxy_pass http://other; }
  }
}
`,
    );
  });

  after(async () => {
    if (gw) {
      await gw.stop();
      await removeDir(gw.dir);
    }
    for (const s of servers) {
      s.closeAllConnections?.();
      s.close();
    }
  });

  /** Every contact's instants in order and its durations consistent, exactly as the module defines them. */
  function assertTimings(r: Row, tls = false): void {
    const n = (k: string) => Number(r[k]);
    assert.ok(n('start') > 1e9, `start ${r.start}`);
    assert.ok(
      n('start') <= n('send_start') || r.send_start === '',
      `start ≤ send_start: ${JSON.stringify(r)}`,
    );
    if (r.send_start !== '') {
      assert.ok(n('send_start') <= n('send_end'), `send_start ≤ send_end: ${JSON.stringify(r)}`);
      assert.ok(n('send_end') <= n('header') || r.header === '', `send_end ≤ header: ${JSON.stringify(r)}`);
    }
    if (r.header !== '') assert.ok(n('header') <= n('end'), `header ≤ end: ${JSON.stringify(r)}`);
    assert.equal(r.end_msec, r.end, '$upstream_last_end_msec = $upstream_last_end_ts');
    // connect ≤ header ≤ response, over the times the contact reached ("-" = never reached).
    const times = ['ct', 'ht', 'rt'].filter((k) => r[k] !== '').map(n);
    assert.ok(r.rt !== '', `a response time always: ${JSON.stringify(r)}`);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      `connect ≤ header ≤ response: ${JSON.stringify(r)}`,
    );
    if (tls) {
      assert.notEqual(r.ssl_start, '', 'ssl_start on the https contact');
      assert.ok(n('start') <= n('ssl_start') && n('ssl_start') <= n('send_start'));
      assert.notEqual(r.ssl_time, '');
      // transport connect = ssl_start − start; ssl_time = send_start − ssl_start (± 1 ms of rounding).
      assert.ok(Math.abs(n('tct') - (n('ssl_start') - n('start'))) <= 0.0015, `tct: ${JSON.stringify(r)}`);
      assert.ok(
        Math.abs(n('ssl_time') - (n('send_start') - n('ssl_start'))) <= 0.0015,
        `ssl_time: ${JSON.stringify(r)}`,
      );
      assert.ok(n('tct') <= n('ct'), 'TCP connect ≤ connect with TLS');
    } else {
      assert.equal(r.ssl_start, '', `no TLS instant on a cleartext contact: ${JSON.stringify(r)}`);
      assert.equal(r.ssl_time, '');
    }
  }

  it('a refused server: the failed contact is logged (502, synthetic) before the retry, then the answer', async () => {
    const reply = await get(port, '/refused/a?x=1', { 'x-test': 'refused' });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'ok /refused/a?x=1');
    const lines = linesOf('refused');
    assert.deepEqual(
      lines.map((l) => [l.addr, l.status, l.method, l.uri, l.scheme, l.lists, l.tries]),
      [
        [
          `127.0.0.1:${refusedPort}`,
          '502',
          'GET',
          '/refused/a?x=1',
          'http',
          `127.0.0.1:${refusedPort}|502`,
          '1',
        ],
        [
          `127.0.0.1:${okPort}`,
          '200',
          'GET',
          '/refused/a?x=1',
          'http',
          `127.0.0.1:${refusedPort}, 127.0.0.1:${okPort}|502, 200`,
          '2',
        ],
      ],
    );
    // The refused contact never sent anything: no send instants, nothing sent or received.
    assert.equal(lines[0]?.send_start, '');
    assert.equal(lines[0]?.sent, '0');
    assert.equal(lines[0]?.recv, '0');
    assert.equal(lines[1]?.len, String('ok /refused/a?x=1'.length));
    for (const l of lines) assertTimings(l);
    const access = await accessOf('refused');
    assert.equal(access.status, '200');
    assert.equal(access.addr, `127.0.0.1:${refusedPort}, 127.0.0.1:${okPort}`);
    assert.equal(access.ustatus, '502, 200');
    assert.equal(access.ulen, `0, ${'ok /refused/a?x=1'.length}`);
    assert.equal(access.urt?.split(', ').length, 2);
  });

  it('a server answering 502 then 200 (proxy_next_upstream http_502)', async () => {
    const reply = await get(port, '/flaky', { 'x-test': 'flaky' });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'ok /flaky');
    const lines = linesOf('flaky');
    assert.deepEqual(
      lines.map((l) => [l.addr, l.status, l.len]),
      [
        [`127.0.0.1:${flakyPort}`, '502', '0'],
        [`127.0.0.1:${okPort}`, '200', String('ok /flaky'.length)],
      ],
    );
    for (const l of lines) assertTimings(l);
    // The 502 was answered by the server: it has a header instant and sent bytes.
    assert.notEqual(lines[0]?.header, '');
    assert.ok(Number(lines[0]?.sent) > 0);
    const access = await accessOf('flaky');
    assert.equal(access.ustatus, '502, 200');
    // The next request goes to the flaky server again (it answers 200 now): one contact.
    // (max_fails=1 marked it failed for fail_timeout=10s, so round robin skips it: ok answers.)
    const again = await get(port, '/flaky', { 'x-test': 'flaky2' });
    assert.equal(again.status, 200);
    assert.deepEqual(
      linesOf('flaky2').map((l) => [l.addr, l.status]),
      [[`127.0.0.1:${okPort}`, '200']],
    );
  });

  it('a server slower than proxy_read_timeout: 504 for its contact, then the next server', async () => {
    const reply = await get(port, '/slow', { 'x-test': 'slow' });
    assert.equal(reply.status, 200);
    const lines = linesOf('slow');
    assert.deepEqual(
      lines.map((l) => [l.addr, l.status]),
      [
        [`127.0.0.1:${slowPort}`, '504'],
        [`127.0.0.1:${okPort}`, '200'],
      ],
    );
    // It waited at least the read timeout (and far less than the backend's 5 s).
    assert.ok(Number(lines[0]?.rt) >= 0.7, `read timeout waited: ${lines[0]?.rt}`);
    assert.ok(Number(lines[0]?.rt) < 4.5, `read timeout fired: ${lines[0]?.rt}`);
    assert.equal(lines[0]?.header, '');
    for (const l of lines) assertTimings(l);
    assert.equal((await accessOf('slow')).ustatus, '504, 200');
  });

  it('proxy_next_upstream_tries 2 stops after two contacts: 502', async () => {
    const reply = await get(port, '/tries', { 'x-test': 'tries' });
    assert.equal(reply.status, 502);
    const lines = linesOf('tries');
    assert.equal(lines.length, 2);
    assert.deepEqual(
      lines.map((l) => l.status),
      ['502', '502'],
    );
    const access = await accessOf('tries');
    assert.equal(access.status, '502');
    assert.equal(access.ustatus, '502, 502');
  });

  it('backup servers are used only when the primaries fail', async () => {
    for (const id of ['p1', 'p2', 'p3']) {
      assert.equal((await get(port, '/primary', { 'x-test': id })).body, 'ok /primary');
      assert.deepEqual(
        linesOf(id).map((l) => l.addr),
        [`127.0.0.1:${okPort}`],
      );
    }
    const reply = await get(port, '/backup', { 'x-test': 'b1' });
    assert.equal(reply.body, 'backup');
    assert.deepEqual(
      linesOf('b1').map((l) => [l.addr, l.status]),
      [
        [`127.0.0.1:${refusedPort}`, '502'],
        [`127.0.0.1:${backupPort}`, '200'],
      ],
    );
  });

  it('X-Accel-Redirect: the first contact is logged before the internal redirect; the lists get " : "', async () => {
    const reply = await get(port, '/accel/x', { 'x-test': 'accel' });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, `other GET /landed/from-accel?orig=${encodeURIComponent('/accel/x')}`);
    assert.equal(reply.headers['x-accel-redirect'], undefined);
    const lines = linesOf('accel');
    assert.deepEqual(
      lines.map((l) => [l.addr, l.status, l.uri, l.lists]),
      [
        [`127.0.0.1:${accelPort}`, '200', '/accel/x', `127.0.0.1:${accelPort}|200`],
        [
          `127.0.0.1:${otherPort}`,
          '200',
          `/landed/from-accel?orig=${encodeURIComponent('/accel/x')}`,
          `127.0.0.1:${accelPort} : 127.0.0.1:${otherPort}|200 : 200`,
        ],
      ],
    );
    for (const l of lines) assertTimings(l);
    const access = await accessOf('accel');
    assert.equal(access.addr, `127.0.0.1:${accelPort} : 127.0.0.1:${otherPort}`);
    assert.equal(access.ustatus, '200 : 200');
  });

  it('an internal location is not reachable from outside', async () => {
    assert.equal((await get(port, '/internal/x', { 'x-test': 'internal' })).status, 404);
    assert.equal(linesOf('internal').length, 0);
    assert.equal((await accessOf('internal')).addr, '');
  });

  it("error_page 502 = @fallback: the failed group, then the named location's group", async () => {
    const reply = await get(port, '/fallback/y', { 'x-test': 'fallback' });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'other GET /fallback/y');
    assert.deepEqual(
      linesOf('fallback').map((l) => [l.addr, l.status]),
      [
        [`127.0.0.1:${refusedPort}`, '502'],
        [`127.0.0.1:${otherPort}`, '200'],
      ],
    );
    const access = await accessOf('fallback');
    assert.equal(access.addr, `127.0.0.1:${refusedPort} : 127.0.0.1:${otherPort}`);
    assert.equal(access.ustatus, '502 : 200');
    assert.equal(access.status, '200');
  });

  it('https upstream: TLS instants and times only on the https contact', async () => {
    const reply = await get(port, '/secure', { 'x-test': 'tls' });
    assert.equal(reply.body, 'secure');
    const [line] = linesOf('tls');
    assert.ok(line);
    assert.equal(line.scheme, 'https');
    assertTimings(line, true);
    // connect_time (TLS included) ≥ transport connect time (TCP only).
    assert.ok(Number(line.ct) >= Number(line.tct));
  });

  it('a client that leaves mid-response: its contact is logged with the status received, the access line with 499', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/stream', headers: { 'x-test': 'abort' }, agent: false },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
      req.end();
    });
    const line = await until('the aborted contact', () => linesOf('abort')[0]);
    assert.equal(line.addr, `127.0.0.1:${streamPort}`);
    assert.equal(line.status, '200');
    assert.ok(Number(line.len) >= 'first chunk\n'.length);
    assertTimings(line);
    assert.equal((await accessOf('abort')).status, '499');
  });

  it('if= with the reference map logs only failed contacts; if!= only the others', async () => {
    const all = upstreamLog();
    assert.ok(all.length > 0);
    // The three logs are written one after another: the last contact's line may reach
    // upstream.log (which the previous test waited on) before the other two.
    const [failures, others] = await until('every contact in failures.log or not-failures.log', () => {
      const f = rows(join(gw.dir, 'failures.log'));
      const o = rows(join(gw.dir, 'not-failures.log'));
      return f.length + o.length >= all.length ? [f, o] : undefined;
    });
    // The map looks at $upstream_status when each line is written: a line is "loggable" when no
    // contact so far has a 2xx/3xx status.
    const loggable = (r: Row) => !/(?:^|:\s|,\s)[23][0-9]{2}/.test(r.lists?.split('|')[1] ?? '');
    assert.deepEqual(failures, all.filter(loggable));
    assert.deepEqual(
      others,
      all.filter((r) => !loggable(r)),
    );
    assert.ok(failures.length > 0 && others.length > 0);
  });
});

describe('logtally gateway: upstream_log buffer/gzip/flush and variable paths', () => {
  it('a gzip upstream log is zcat-able while the gateway runs; a $host path with upstream_open_log_file_cache', async () => {
    const ok = await backend((req, res) => res.end(`ok ${req.url}`));
    const port = await freePort();
    const gw = await startGateway(
      (dir) => `
events {}
http {
  upstream_log_format short '$host $upstream_last_addr $upstream_last_status $upstream_uri';
  upstream_open_log_file_cache max=10 inactive=20s valid=1m min_uses=1;
  upstream b { server 127.0.0.1:${ok.port}; keepalive 4; }
  server {
    listen 127.0.0.1:${port};
    access_log off;
    upstream_log ${dir}/upstream.log.gz short gzip=5 flush=200ms;
    upstream_log ${dir}/by-host-$host.log short;
    location / { proxy_pass http://b; }
  }
}
`,
    );
    try {
      for (let i = 0; i < 5; i++) {
        const r = await get(port, `/p${i}`, { host: i % 2 ? 'a.example' : 'b.example' });
        assert.equal(r.status, 200);
      }
      const expected = [0, 1, 2, 3, 4].map(
        (i) => `${i % 2 ? 'a' : 'b'}.example 127.0.0.1:${ok.port} 200 /p${i}`,
      );
      // Flushed by flush=200ms while running: one complete gzip member, readable now.
      const text = await until('the gzip log flushed', () => {
        try {
          const t = execFileSync('zcat', [join(gw.dir, 'upstream.log.gz')], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
          });
          return t.split('\n').filter(Boolean).length === 5 ? t : undefined;
        } catch {
          return undefined;
        }
      });
      assert.deepEqual(text.split('\n').filter(Boolean), expected);
      assert.deepEqual(
        readFileSync(join(gw.dir, 'by-host-a.example.log'), 'utf8').split('\n').filter(Boolean),
        expected.filter((l) => l.startsWith('a.')),
      );
      assert.deepEqual(
        readFileSync(join(gw.dir, 'by-host-b.example.log'), 'utf8').split('\n').filter(Boolean),
        expected.filter((l) => l.startsWith('b.')),
      );
      // Keep-alive: the later contacts reuse the connection (connect time 0 is not asserted here; the count of connections is).
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
      ok.server.closeAllConnections();
      ok.server.close();
    }
  });
});

describe('logtally gateway: the references’ Synopsis configurations, as written', () => {
  // 000 (packaged docs): upstream_log names a log_format; 001 (README): upstream_log_format.
  // Their 192.168.0.x servers become loopback backends; "listen 80" a free port; logs/ the temp dir.
  for (const name of ['000', '001'] as const) {
    it(`reference ${name}: one access line per request, one upstream line per contact, round robin over the cluster`, async () => {
      const a = await backend((_req, res) => res.end('from a'));
      const b = await backend((_req, res) => res.end('from b'));
      const port = await freePort();
      const gw = await startGateway(
        (dir) => `
events {}
    http {
${synopsis(name, { servers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], listen: `127.0.0.1:${port}`, logs: dir })}
    }
`,
      );
      try {
        const bodies: string[] = [];
        for (let i = 0; i < 4; i++)
          bodies.push((await get(port, `/page/${i}`, { 'user-agent': 'synopsis' })).body);
        assert.deepEqual(bodies, ['from a', 'from b', 'from a', 'from b']);
        const access = await until('4 access lines', () => {
          const l = readFileSync(join(gw.dir, 'access.log'), 'utf8').split('\n').filter(Boolean);
          return l.length === 4 ? l : undefined;
        });
        const ts = String.raw`\[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]`;
        for (const [i, l] of access.entries()) {
          assert.match(
            l,
            new RegExp(`^127\\.0\\.0\\.1 - - ${ts} "GET /page/${i} HTTP/1\\.1" 200 6 "-" "synopsis" "-"$`),
          );
        }
        const upstream = readFileSync(join(gw.dir, 'upstream.log'), 'utf8').split('\n').filter(Boolean);
        assert.equal(upstream.length, 4);
        for (const [i, l] of upstream.entries()) {
          const addr = `127.0.0.1:${i % 2 ? b.port : a.port}`;
          assert.match(
            l,
            new RegExp(
              `^127\\.0\\.0\\.1 ${addr.replaceAll('.', '\\.')} ${ts} "GET /page/${i}" 200 6 \\d+ \\d+ \\d+\\.\\d{3} \\d+\\.\\d{3} \\d+\\.\\d{3}$`,
            ),
          );
        }
      } finally {
        await gw.stop();
        await removeDir(gw.dir);
        for (const s of [a.server, b.server]) {
          s.closeAllConnections();
          s.close();
        }
      }
    });
  }
});

describe('logtally gateway: signals', () => {
  it('SIGHUP reloads without dropping a request in flight; a bad configuration is refused and the old one serves; SIGUSR1 reopens; SIGTERM drains and flushes', async () => {
    const { rename, writeFile } = await import('node:fs/promises');
    let release: (() => void) | undefined;
    const slow = await backend((req, res) => {
      if (req.url === '/hold') release = () => res.end('held');
      else res.end(`v1 ${req.url}`);
    });
    const other = await backend((req, res) => res.end(`v2 ${req.url}`));
    const port = await freePort();
    const conf = (dir: string, target: number, extra = '') => `
events {}
http {
  log_format short '$request_uri $status $upstream_addr';
  upstream b { server 127.0.0.1:${target}; }
  server {
    listen 127.0.0.1:${port};
    access_log ${dir}/access.log short buffer=64k flush=1h;
    location / { proxy_pass http://b; }
    ${extra}
  }
}
`;
    const gw = await startGateway((dir) => conf(dir, slow.port));
    const file = join(gw.dir, 'gateway.conf');
    try {
      const held = get(port, '/hold');
      await until('the held request to reach the backend', () => release);
      // Reload to another backend while /hold is in flight.
      await writeFile(file, conf(gw.dir, other.port));
      await gw.signal('SIGHUP', /configuration reloaded/);
      assert.equal((await get(port, '/after')).body, 'v2 /after');
      release?.();
      assert.equal((await held).body, 'held');
      // A bad configuration: reported with file:line, the running one keeps serving.
      await writeFile(file, conf(gw.dir, other.port, 'gzip_static on;'));
      await gw.signal('SIGHUP', /reload refused/);
      assert.match(
        gw.stderr(),
        /directive "gzip_static" is not supported by logtally gateway in .*gateway\.conf:10/,
      );
      assert.equal((await get(port, '/still')).body, 'v2 /still');
      // SIGUSR1: buffered lines are flushed into the renamed file, new ones go to a new file.
      await rename(join(gw.dir, 'access.log'), join(gw.dir, 'access.log.1'));
      await gw.signal('SIGUSR1', /log files reopened/);
      assert.equal((await get(port, '/new')).status, 200);
      const old = readFileSync(join(gw.dir, 'access.log.1'), 'utf8');
      assert.deepEqual(old.split('\n').filter(Boolean).sort(), [
        `/after 200 127.0.0.1:${other.port}`,
        `/hold 200 127.0.0.1:${slow.port}`,
        `/still 200 127.0.0.1:${other.port}`,
      ]);
      // SIGTERM flushes the buffer (flush=1h would otherwise hold it).
      assert.equal(await gw.stop(), 0);
      assert.equal(readFileSync(join(gw.dir, 'access.log'), 'utf8'), `/new 200 127.0.0.1:${other.port}\n`);
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
      for (const s of [slow.server, other.server]) {
        s.closeAllConnections();
        s.close();
      }
    }
  });
});

describe('logtally gateway: HTTPS listener, streamed bodies, client_max_body_size', () => {
  it('serves `listen … ssl`, streams a 1 MiB request body and a 5 MiB response, refuses a body over the limit with 413', async () => {
    const { createHash } = await import('node:crypto');
    const { request: httpsRequest } = await import('node:https');
    const big = Buffer.alloc(5 * 1024 * 1024, 'y');
    const echo = await backend((req, res) => {
      if (req.method === 'POST') {
        const h = createHash('sha256');
        let n = 0;
        req.on('data', (c: Buffer) => {
          h.update(c);
          n += c.length;
        });
        req.on('end', () => res.end(`${n} ${h.digest('hex')}`));
        return;
      }
      res.setHeader('content-length', big.length);
      res.end(big);
    });
    const pki = makePki();
    const port = await freePort();
    const gw = await startGateway(
      (dir) => `
events {}
http {
  log_format s '$scheme $request_method $status $request_length $body_bytes_sent $upstream_response_length';
  upstream echo { server 127.0.0.1:${echo.port}; }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${pki.serverCert};
    ssl_certificate_key ${pki.serverKey};
    client_max_body_size 2m;
    access_log ${dir}/access.log s;
    location / { proxy_pass http://echo; }
  }
}
`,
    );
    const call = (method: string, body?: Buffer) =>
      new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const r = httpsRequest(
          { host: '127.0.0.1', port, path: '/x', method, rejectUnauthorized: false, agent: false },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          },
        );
        r.on('error', reject);
        r.end(body);
      });
    try {
      const payload = Buffer.alloc(1024 * 1024, 'p');
      const posted = await call('POST', payload);
      assert.equal(posted.status, 200);
      assert.equal(
        posted.body.toString(),
        `${payload.length} ${createHash('sha256').update(payload).digest('hex')}`,
      );
      const got = await call('GET');
      assert.equal(got.status, 200);
      assert.equal(got.body.length, big.length);
      assert.ok(got.body.equals(big));
      const refused = await call('POST', Buffer.alloc(3 * 1024 * 1024, 'z')).catch(() => ({
        status: 413,
        body: Buffer.alloc(0),
      }));
      assert.equal(refused.status, 413);
      const lines = await until('3 access lines', () => {
        const l = readFileSync(join(gw.dir, 'access.log'), 'utf8').split('\n').filter(Boolean);
        return l.length === 3 ? l : undefined;
      });
      assert.match(lines[0] as string, /^https POST 200 \d+ \d+ \d+$/);
      assert.ok(
        Number((lines[0] as string).split(' ')[3]) > payload.length,
        'request_length counts the body',
      );
      assert.equal(
        lines[1],
        `https GET 200 ${(lines[1] as string).split(' ')[3]} ${big.length} ${big.length}`,
      );
      assert.match(lines[2] as string, /^https POST 413 /);
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
      echo.server.closeAllConnections();
      echo.server.close();
    }
  });
});

describe('logtally gateway: review regressions', () => {
  let gw: RunningGateway;
  let port: number;
  const got: string[] = [];
  const servers: { close(): void; closeAllConnections(): void }[] = [];
  before(async () => {
    const ok = await backend((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
      });
      req.on('end', () => {
        got.push(`${req.method} ${req.url} ${n}`);
        res.end(`ok ${req.method} ${req.url}`);
      });
    });
    const accel = await backend((req, res) => {
      req.resume();
      res.setHeader('x-accel-redirect', '/landing');
      res.setHeader('set-cookie', 'session=abc; Path=/');
      res.setHeader('content-disposition', 'attachment; filename="report.csv"');
      res.setHeader('x-private', 'not carried');
      res.end('x');
    });
    const bad = await backend((req, res) => {
      req.resume();
      res.statusCode = 502;
      res.end('bad');
    });
    const cut = await backend((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only ten b');
      setTimeout(() => res.destroy(), 50);
    });
    servers.push(ok.server, accel.server, bad.server, cut.server);
    port = await freePort();
    gw = await startGateway(
      (dir) => `
events {}
http {
  log_format s '$request_method $request_uri $status $upstream_addr $upstream_status';
  upstream ka { server 127.0.0.1:${accel.port}; keepalive 4; }
  upstream okg { server 127.0.0.1:${ok.port}; keepalive 4; }
  upstream two { server 127.0.0.1:${ok.port}; server 127.0.0.2:${ok.port}; }
  upstream badg { server 127.0.0.1:${bad.port}; }
  upstream cutg { server 127.0.0.1:${cut.port}; }
  upstream withdown { server 127.0.0.1:${bad.port}; server 127.0.0.1:${ok.port} down; }
  server {
    listen 127.0.0.1:${port};
    root ${dir};
    client_max_body_size 1k;
    access_log ${dir}/access.log s;
    proxy_next_upstream error timeout http_502;
    location /s/ { error_page 404 = @up; }
    location @up { proxy_pass http://okg; }
    location /accel { proxy_pass http://ka; }
    location = /landing { proxy_pass http://okg; }
    location /inject { proxy_set_header X-Orig-Uri $uri; proxy_pass http://two; }
    location /intercept { proxy_intercept_errors on; error_page 502 = @up; proxy_pass http://badg; }
    location /intercept-big { client_max_body_size 1m; proxy_intercept_errors on; error_page 502 = @up; proxy_pass http://badg; }
    location /gone { return 444; }
    location /cut { proxy_pass http://cutg; }
    location /if/ { proxy_pass http://okg; if ($arg_x) { access_log ${dir}/if.log s; } }
    location /down { proxy_pass http://withdown; }
    location /post { proxy_pass http://okg; }
  }
}
`,
    );
  });
  after(async () => {
    await gw.stop();
    await removeDir(gw.dir);
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });
  const raw = async (text: string): Promise<void> => {
    const { connect } = await import('node:net');
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.write(text);
    await new Promise((r) => setTimeout(r, 100));
    s.destroy();
  };
  const line = (re: RegExp) =>
    until(`an access line ${re}`, () =>
      readFileSync(join(gw.dir, 'access.log'), 'utf8')
        .split('\n')
        .find((l) => re.test(l)),
    );

  it('a client leaving mid-body after an error_page redirect does not crash the gateway', async () => {
    await raw('GET /s/missing HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\nabc');
    assert.equal((await get(port, '/landing')).status, 200);
    assert.equal(gw.process.exitCode, null);
  });

  it('HEAD answered with X-Accel-Redirect keeps the keep-alive pool sound', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get(port, '/accel', {}, 'HEAD')).status, 200);
    const r = await get(port, '/accel');
    assert.equal(r.body, 'ok GET /landing');
    // The headers nginx carries over from the X-Accel-Redirect response, and only those.
    assert.deepEqual(r.headers['set-cookie'], ['session=abc; Path=/']);
    assert.equal(r.headers['content-disposition'], 'attachment; filename="report.csv"');
    assert.equal(r.headers['x-private'], undefined);
  });

  it('a header value with CR/LF is refused (500) before any server is tried; the group stays up', async () => {
    assert.equal((await get(port, '/inject/a%0d%0aX-Injected:%20yes')).status, 500);
    assert.equal((await get(port, '/inject/b')).status, 200);
    assert.equal((await get(port, '/inject/c')).status, 200);
    assert.ok(!got.some((g) => g.includes('Injected')));
  });

  it('a body is sent again after error_page when it was buffered; a streamed one already sent is not sent empty (502)', async () => {
    const before = got.length;
    const small = await get(port, '/intercept', {}, 'POST', 'p'.repeat(500));
    assert.equal(small.status, 200);
    assert.equal(small.body, 'ok POST /intercept');
    const big = await get(port, '/intercept-big', {}, 'POST', 'p'.repeat(200 * 1024));
    assert.equal(big.status, 502);
    assert.deepEqual(got.slice(before), ['POST /intercept 500']);
    assert.match(gw.stderr(), /request body of "POST \/intercept-big" was already sent upstream/);
  });

  it('return 444 is logged as 444, an upstream cut mid-body as the status received (not 499)', async () => {
    await get(port, '/gone').catch(() => undefined);
    await line(/^GET \/gone 444 /);
    await get(port, '/cut').catch(() => undefined);
    await line(/^GET \/cut 200 /);
  });

  it('an if block in a proxying location proxies (and logs at its own level)', async () => {
    assert.equal((await get(port, '/if/a?x=1')).body, 'ok GET /if/a?x=1');
    const ifLog = await until('the if level log', () => {
      try {
        return readFileSync(join(gw.dir, 'if.log'), 'utf8') || undefined;
      } catch {
        return undefined;
      }
    });
    assert.match(ifLog, /^GET \/if\/a\?x=1 200 /);
  });

  it('a chunked body over client_max_body_size is refused with 413', async () => {
    const r = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/post',
          method: 'POST',
          agent: false,
          headers: { 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('q'.repeat(800));
      req.end('q'.repeat(800));
    });
    assert.equal(r, 413);
  });

  it('a down server is neither tried nor a reason to replace a real answer', async () => {
    const r = await get(port, '/down');
    assert.equal(r.status, 502);
    assert.equal(r.body, 'bad');
    await line(/^GET \/down 502 127\.0\.0\.1:\d+ 502$/);
  });
});

describe('logtally gateway: stopping and reloading with requests in flight', () => {
  it('SIGTERM lets a keep-alive request in flight finish (Connection: close), then exits at once; a reload keeps the lines of an aborted old request', async () => {
    const { Agent } = await import('node:http');
    const { writeFile } = await import('node:fs/promises');
    const slow = await backend((req, res) => {
      const t = setTimeout(() => res.end(`late ${req.url}`), 700);
      res.on('close', () => clearTimeout(t));
    });
    const port = await freePort();
    const conf = (dir: string, extra = '') => `
events {}
http {
  log_format s '$request_uri $status $upstream_status';
  upstream b { server 127.0.0.1:${slow.port}; }
  server {
    listen 127.0.0.1:${port};
    access_log ${dir}/access.log s;
    upstream_log ${dir}/upstream.log s;
    location / { proxy_pass http://b; }
    ${extra}
  }
}
`;
    const gw = await startGateway((dir) => conf(dir));
    try {
      // A request aborted by its client after a reload: its lines still reach the old logs.
      const aborted = new Promise<void>((resolve) => {
        const r = request({ host: '127.0.0.1', port, path: '/abort-me', agent: false });
        r.on('error', () => resolve());
        r.end();
        setTimeout(async () => {
          await writeFile(join(gw.dir, 'gateway.conf'), conf(gw.dir, 'location /other { return 204; }'));
          await gw.signal('SIGHUP', /configuration reloaded/);
          r.destroy();
        }, 200);
      });
      await aborted;
      await until('the aborted request logged', () => {
        const a = readFileSync(join(gw.dir, 'access.log'), 'utf8');
        const u = readFileSync(join(gw.dir, 'upstream.log'), 'utf8');
        return a.includes('/abort-me 499') && u.includes('/abort-me') ? true : undefined;
      });
      // SIGTERM during a keep-alive request.
      const agent = new Agent({ keepAlive: true });
      const started = Date.now();
      const reply = new Promise<{ status: number; connection: string | undefined; body: string }>(
        (resolve, reject) => {
          const r = request({ host: '127.0.0.1', port, path: '/in-flight', agent }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => {
              body += c.toString();
            });
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
            );
          });
          r.on('error', reject);
          r.end();
        },
      );
      await new Promise((r) => setTimeout(r, 200));
      const code = gw.stop();
      const got = await reply;
      assert.deepEqual(got, { status: 200, connection: 'close', body: 'late /in-flight' });
      assert.equal(await code, 0);
      assert.ok(Date.now() - started < 10_000, `stopped in ${Date.now() - started} ms`);
      assert.match(readFileSync(join(gw.dir, 'access.log'), 'utf8'), /\/in-flight 200 200\n$/);
      agent.destroy();
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
      slow.server.closeAllConnections();
      slow.server.close();
    }
  });
});

describe('logtally gateway: client timeouts', () => {
  it('client_body_timeout answers 408 to a stalled body; send_timeout drops a client that stopped reading', async () => {
    const { connect } = await import('node:net');
    const big = await backend((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
      const chunk = Buffer.alloc(1024 * 1024, 'b');
      let sent = 0;
      const pump = () => {
        while (sent < 64 && res.write(chunk)) sent++;
        if (sent < 64) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    const port = await freePort();
    const gw = await startGateway(
      (dir) => `
events {}
http {
  log_format s '$request_uri $status';
  upstream b { server 127.0.0.1:${big.port}; }
  server {
    listen 127.0.0.1:${port};
    client_body_timeout 300ms;
    send_timeout 500ms;
    access_log ${dir}/access.log s;
    location / { proxy_pass http://b; }
  }
}
`,
    );
    try {
      const stalled = connect(port, '127.0.0.1');
      await new Promise((r) => stalled.once('connect', r));
      stalled.write('POST /stalled HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        stalled.on('data', (d: Buffer) => {
          text += d.toString('latin1');
        });
        stalled.on('close', () => resolve(text));
      });
      assert.match(answer, /^HTTP\/1\.1 408 /);
      // A client that reads the head and then nothing: the gateway closes it after send_timeout.
      const reader = connect(port, '127.0.0.1');
      await new Promise((r) => reader.once('connect', r));
      reader.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((r) => reader.once('data', r));
      reader.pause();
      // The gateway gives up on it (its side of the connection is closed; the client, not reading,
      // cannot see that until it reads) and the request is logged.
      await until('send_timeout to drop the client', () =>
        /client timed out reading the response to "GET \/big"/.test(gw.stderr()) ? true : undefined,
      );
      const logged = await until('the access line of /big', () =>
        readFileSync(join(gw.dir, 'access.log'), 'utf8')
          .split('\n')
          .find((l) => l.startsWith('/big ')),
      );
      assert.equal(logged, '/big 200');
      // A client that goes away while the gateway waits for it to read did not time out: no error
      // line later, and nothing keeps the gateway from stopping at once.
      const leaver = connect(port, '127.0.0.1');
      await new Promise((r) => leaver.once('connect', r));
      leaver.write('GET /leaver HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((r) => leaver.once('data', r));
      leaver.pause();
      await new Promise((r) => setTimeout(r, 200));
      leaver.destroy();
      await new Promise((r) => setTimeout(r, 1_000));
      assert.doesNotMatch(gw.stderr(), /timed out reading the response to "GET \/leaver"/);
      const t0 = Date.now();
      assert.equal(await gw.stop(), 0);
      assert.ok(Date.now() - t0 < 10_000, `stopped in ${Date.now() - t0} ms`);
      reader.destroy();
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
      big.server.closeAllConnections();
      big.server.close();
    }
  });
});
