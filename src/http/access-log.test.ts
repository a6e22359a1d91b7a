import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/support/writer-fakes.ts';
import { compileNginx } from '../format/nginx/compile.ts';
import type { CompiledFormat, Dialect, RenderSource } from '../format/types.ts';
import { accessLog } from './access-log.ts';
import { setLogvar } from './logvars.ts';

/** A stand-in format of another dialect: renders the named variables as JSON. */
function stub(dialect: Dialect, names: string[]): CompiledFormat {
  return {
    dialect,
    format: names.join(' '),
    variables: names.map((name) => ({ name, type: 'string', known: true })),
    render: (src: RenderSource) =>
      JSON.stringify(
        Object.fromEntries(
          names.map((n) => {
            const v = typeof src === 'function' ? src(n) : src[n];
            return [n, v instanceof Date ? `date:${v.getTime()}` : (v ?? null)];
          }),
        ),
      ),
    parse: () => ({}),
  };
}

async function serve(t: { after(fn: () => void): void }, handler: RequestListener): Promise<number> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as { port: number }).port;
}

async function request(port: number, raw: string, leave = false): Promise<string> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  let out = '';
  s.on('data', (d: Buffer) => {
    out += d.toString('latin1');
  });
  s.write(raw);
  if (leave) return '';
  await once(s, 'close');
  return out;
}

async function lines(path: string, n: number): Promise<string[]> {
  for (let i = 0; i < 500; i++) {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {}
    const l = text.split('\n').slice(0, -1);
    if (l.length >= n) return l;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${path}: fewer than ${n} lines`);
}

describe('accessLog', () => {
  it('uWSGI logvars with Node meanings, and setLogvar from a handler', async (t) => {
    const path = join(tempDir(t), 'uwsgi.log');
    const names = [
      'method',
      'uri',
      'proto',
      'status',
      'addr',
      'user',
      'host',
      'uagent',
      'referer',
      'size',
      'hsize',
      'rsize',
      'cl',
      'pid',
      'wid',
      'core',
      'vars',
      'headers',
      'pktsize',
      'rss',
      'vsz',
      'rssM',
      'msecs',
      'time',
      'var.PATH_INFO',
      'var.QUERY_STRING',
      'var.HTTP_X_TEST',
      'metric.requests',
      'user_id',
      'missing_logvar',
    ];
    const log = accessLog({
      path,
      format: stub('uwsgi', names),
      metric: (n) => (n === 'requests' ? 42 : undefined),
    });
    const port = await serve(
      t,
      log.wrap((req, res) => {
        setLogvar(req, 'user_id', 'u-7');
        res.setHeader('X-A', '1');
        res.end('hello');
      }),
    );
    const raw =
      'GET /a/%2e%2e/b?q=1 HTTP/1.1\r\nHost: Ex.test\r\nUser-Agent: ua\r\nX-Test: t\r\nAuthorization: Basic dTpw\r\nConnection: close\r\n\r\n';
    const response = await request(port, raw);
    const [line] = await lines(path, 1);
    log.close();
    const r = JSON.parse(line as string);
    const head = response.slice(0, response.indexOf('\r\n\r\n') + 4);
    assert.deepEqual(
      {
        ...r,
        rss: typeof r.rss,
        vsz: typeof r.vsz,
        rssM: typeof r.rssM,
        msecs: typeof r.msecs,
        time: typeof r.time,
      },
      {
        method: 'GET',
        uri: '/a/%2e%2e/b?q=1',
        proto: 'HTTP/1.1',
        status: 200,
        addr: '127.0.0.1',
        user: 'u',
        host: 'Ex.test',
        uagent: 'ua',
        referer: null,
        size: response.length,
        hsize: head.length,
        rsize: 5,
        cl: 0,
        pid: process.pid,
        wid: 1,
        core: 0,
        vars: 5,
        headers: head.split('\r\n').length - 3,
        pktsize: raw.length,
        rss: 'number',
        vsz: 'number',
        rssM: 'number',
        msecs: 'number',
        time: 'number',
        'var.PATH_INFO': '/b',
        'var.QUERY_STRING': 'q=1',
        'var.HTTP_X_TEST': 't',
        'metric.requests': 42,
        user_id: 'u-7',
        missing_logvar: null,
      },
    );
  });

  it('Envoy operators, and a client that leaves: RESPONSE_CODE 0, RESPONSE_FLAGS DC; nginx 499', async (t) => {
    const dir = tempDir(t);
    const ops = [
      'REQ(:METHOD)',
      'REQ(:PATH)',
      'REQ(:AUTHORITY)',
      'REQ(X-MISSING?USER-AGENT)',
      'RESP(CONTENT-TYPE)',
      'PROTOCOL',
      'RESPONSE_CODE',
      'RESPONSE_FLAGS',
      'BYTES_RECEIVED',
      'BYTES_SENT',
      'DURATION',
      'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
      'START_TIME',
      'UPSTREAM_HOST',
    ];
    let arrived: () => void = () => {};
    const log = accessLog({
      logs: [
        { target: join(dir, 'envoy.log'), format: stub('envoy', ops) },
        {
          target: join(dir, 'nginx.log'),
          format: compileNginx('$status $body_bytes_sent $request_completion $request'),
        },
      ],
    });
    const port = await serve(
      t,
      log.wrap((req, res) => {
        if (req.url === '/leave') {
          arrived();
          return;
        }
        if (req.url === '/partial') {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.write('part');
          arrived();
          return;
        }
        req.resume();
        req.on('end', () => {
          res.setHeader('Content-Type', 'text/plain');
          res.end('0123456789');
        });
      }),
    );
    await request(
      port,
      'POST /up HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
    );
    for (const path of ['/leave', '/partial']) {
      const got = new Promise<void>((r) => {
        arrived = r;
      });
      const s = connect(port, '127.0.0.1');
      await once(s, 'connect');
      s.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`);
      await got;
      if (path === '/partial') await once(s, 'data');
      s.destroy();
      await lines(join(dir, 'nginx.log'), path === '/leave' ? 2 : 3);
    }
    log.close();
    const e = (await lines(join(dir, 'envoy.log'), 3)).map((l) => JSON.parse(l));
    assert.deepEqual(
      { ...e[0], DURATION: typeof e[0].DURATION, START_TIME: typeof e[0].START_TIME },
      {
        'REQ(:METHOD)': 'POST',
        'REQ(:PATH)': '/up',
        'REQ(:AUTHORITY)': 'h',
        'REQ(X-MISSING?USER-AGENT)': 'ua',
        'RESP(CONTENT-TYPE)': 'text/plain',
        PROTOCOL: 'HTTP/1.1',
        RESPONSE_CODE: 200,
        RESPONSE_FLAGS: null,
        BYTES_RECEIVED: 3,
        BYTES_SENT: 10,
        DURATION: 'number',
        DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: '127.0.0.1',
        START_TIME: 'string',
        UPSTREAM_HOST: null,
      },
    );
    assert.match(e[0].START_TIME, /^date:\d+$/);
    assert.equal(e[1].RESPONSE_CODE, 0);
    assert.equal(e[1].RESPONSE_FLAGS, 'DC');
    assert.equal(e[2].RESPONSE_CODE, 200, 'headers were sent: the status stays');
    assert.equal(e[2].RESPONSE_FLAGS, 'DC');
    assert.deepEqual(await lines(join(dir, 'nginx.log'), 3), [
      '200 10 OK POST /up HTTP/1.1',
      '499 0  GET /leave HTTP/1.1',
      // nginx keeps the status once bytes were sent; chunk framing counts: "4\r\npart\r\n"
      '200 9  GET /partial HTTP/1.1',
    ]);
  });

  it('(req, res, next) middleware shape; skip; custom variables drive if=; one line per request', async (t) => {
    const path = join(tempDir(t), 'mw.log');
    const log = accessLog({
      path,
      format: '$request_uri $status $loggable',
      if: '$loggable',
      variables: { loggable: (s) => (s.status >= 400 ? '1' : '0') },
      skip: (req) => req.url === '/skipped',
    });
    let nexts = 0;
    const app = (req: IncomingMessage, res: ServerResponse) => {
      log(req, res, () => {
        nexts++;
        log(req, res); // applied twice: still one line
        res.statusCode = req.url === '/ok' ? 200 : 404;
        res.end();
      });
    };
    const port = await serve(t, app);
    for (const p of ['/ok', '/missing', '/skipped'])
      await request(port, `GET ${p} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
    await request(port, 'GET /last-404 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    assert.deepEqual(await lines(path, 2), ['/missing 404 1', '/last-404 404 1']);
    log.close();
    assert.equal(nexts, 4);
    assert.equal(log.logs.logs[0]?.stats.skipped, 1, 'the 200 was skipped by if=');
  });

  it('a format string or preset name; default combined', (t) => {
    const dir = tempDir(t);
    const a = accessLog({ path: join(dir, 'a.log') });
    const b = accessLog({ path: join(dir, 'b.log'), format: 'logtail' });
    assert.match(a.logs.logs[0]?.format.format ?? '', /^\$remote_addr - \$remote_user/);
    assert.match(b.logs.logs[0]?.format.format ?? '', /^\$host\t/);
    a.close();
    b.close();
  });
});
