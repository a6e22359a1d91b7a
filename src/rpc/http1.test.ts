/**
 * HTTP/1.1 and HTTP/2 on the rpc port, as curl sees them: the Connect protocol's JSON form over
 * both, cleartext and TLS (ALPN), with gRPC clients served on the same port.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { makePki, type TestPki } from '../../test/support/tls.ts';
import { StoreBackend } from '../collector/store-backend.ts';
import { Store } from '../store/store.ts';
import { createLogtallyClient } from './client.ts';
import { loadSecurity } from './security.ts';
import { type RpcServer, startRpcServer } from './server.ts';

const run = promisify(execFile);
const ingest = { files: () => [], linesRead: 7, parseErrors: 0, syslogDatagrams: 0, syslogLines: 0 };

function backend(): StoreBackend {
  const store = new Store({ now: () => 1_795_000_010_000 });
  store.add('a.test', '192.0.2.1', '/x', 200, '', 'GET', 100, 0.5);
  store.add('b.test', '192.0.2.2', '/y', 503, '', 'POST', 10, 0.25);
  store.add('b.test', '192.0.2.3', '/y?q', 503, '', 'POST', 10, 0.25);
  return new StoreBackend(store, 'web1', '9.9.9', ingest);
}

/** curl -i: the status line and the body. */
async function curl(args: string[]): Promise<{ status: string; body: string }> {
  const r = await run('curl', ['-sS', '-i', '--max-time', '20', ...args]);
  const [head = '', body = ''] = r.stdout.split('\r\n\r\n');
  return { status: head.split('\r\n')[0] ?? '', body };
}

const JSON_POST = ['-H', 'content-type: application/json'];

describe('rpc server over HTTP/1.1 and HTTP/2 on one port', () => {
  let pki: TestPki;
  let plain: RpcServer;
  let tls: RpcServer;
  let base = '';
  let tlsBase = '';

  before(async () => {
    pki = makePki();
    plain = await startRpcServer('127.0.0.1:0', backend());
    tls = await startRpcServer(
      '127.0.0.1:0',
      backend(),
      loadSecurity({ tlsCert: pki.serverCert, tlsKey: pki.serverKey }),
    );
    base = `http://127.0.0.1:${plain.address.port}/logtally.v1.LogtallyService`;
    tlsBase = `https://127.0.0.1:${tls.address.port}/logtally.v1.LogtallyService`;
  });

  after(async () => {
    await plain?.close();
    await tls?.close();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  it('answers Connect JSON over cleartext HTTP/1.1 (plain curl) and HTTP/2 (prior knowledge)', async () => {
    const h1 = await curl([...JSON_POST, '-d', '{}', `${base}/Status`]);
    assert.equal(h1.status, 'HTTP/1.1 200 OK');
    const status = JSON.parse(h1.body) as { source: string; version: string; linesRead: number };
    assert.deepEqual([status.source, status.version, status.linesRead], ['web1', '9.9.9', 7]);
    const h2 = await curl(['--http2-prior-knowledge', ...JSON_POST, '-d', '{}', `${base}/Status`]);
    assert.equal(h2.status, 'HTTP/2 200 ');
    assert.equal((JSON.parse(h2.body) as { source: string }).source, 'web1');
  });

  it('answers a TopN with a filter over HTTP/1.1 as it does over gRPC', async () => {
    const body = JSON.stringify({ groupBy: 'uri', window: '5m', filter: { status: '>=500' } });
    const r = await curl([...JSON_POST, '-d', body, `${base}/TopN`]);
    assert.equal(r.status, 'HTTP/1.1 200 OK');
    assert.deepEqual(JSON.parse(r.body), {
      source: 'web1',
      entries: [{ label: '/y', count: 2, bytes: 20, time: 0.5 }],
    });
    const grpc = await createLogtallyClient(`127.0.0.1:${plain.address.port}`).topN({
      groupBy: 'uri',
      window: '5m',
    });
    assert.deepEqual(
      grpc.entries.map((e) => [e.label, e.count]),
      [
        ['/y', 2],
        ['/x', 1],
      ],
    );
  });

  it('keeps an HTTP/1.1 connection alive for several calls, and reports errors as Connect JSON', async () => {
    const r = await run('curl', [
      '-sS',
      '--max-time',
      '20',
      ...JSON_POST,
      '-d',
      '{"window":"2m"}',
      `${base}/Trend`,
      '-w',
      '\n',
      '--next',
      ...JSON_POST,
      '-d',
      '{}',
      `${base}/ListTargets`,
      '-w',
      '\n%{num_connects}\n',
    ]);
    const lines = r.stdout.split('\n');
    assert.deepEqual(JSON.parse(lines[0] as string), {
      code: 'invalid_argument',
      message: 'window: unknown window "2m" (expected one of 1m, 5m, 15m, 60m, 6h, 24h, 7d, 30d)',
    });
    assert.deepEqual(JSON.parse(lines[1] as string), {
      targets: [{ source: 'web1', state: 'up' }],
    });
    // The second request reused the first one's connection.
    assert.equal(lines[2], '0');
  });

  it('TLS: ALPN picks HTTP/2 for a client that offers it and HTTP/1.1 for one that does not', async () => {
    const ca = ['--cacert', pki.ca];
    const h2 = await curl([...ca, '--http2', ...JSON_POST, '-d', '{}', `${tlsBase}/Status`]);
    assert.equal(h2.status, 'HTTP/2 200 ');
    const h1 = await curl([...ca, '--http1.1', ...JSON_POST, '-d', '{}', `${tlsBase}/Status`]);
    assert.equal(h1.status, 'HTTP/1.1 200 OK');
    assert.equal((JSON.parse(h1.body) as { source: string }).source, 'web1');
    const client = createLogtallyClient(
      `127.0.0.1:${tls.address.port}`,
      '--target',
      loadSecurity({ tlsCa: pki.ca }),
    );
    assert.equal((await client.status({})).source, 'web1');
  });

  it('closes a connection idle for idleMs: in HTTP/1.1 headers, in the HTTP/2 preface, or silent', async () => {
    const server = await startRpcServer('127.0.0.1:0', backend(), undefined, { idleMs: 300 });
    try {
      for (const first of ['GET / HTTP/1.1\r\nHost: x\r\n', 'PRI * HTTP/2.0\r\n', '']) {
        const s = connect(server.address.port, '127.0.0.1');
        s.on('error', () => {});
        s.resume();
        s.write(first);
        const t0 = Date.now();
        const closedAfter = await new Promise<number>((resolve) =>
          s.on('close', () => resolve(Date.now() - t0)),
        );
        assert.ok(closedAfter >= 250 && closedAfter < 4000, `${JSON.stringify(first)}: ${closedAfter} ms`);
      }
    } finally {
      await server.close();
    }
  });
});
