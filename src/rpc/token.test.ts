/**
 * The bearer token is checked on the headers, before any byte of the body is read: a client
 * without it is answered at once even while it is still sending (or never finishes) its body.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StoreBackend } from '../collector/store-backend.ts';
import { Store } from '../store/store.ts';
import { createLogtallyClient } from './client.ts';
import { loadSecurity } from './security.ts';
import { type RpcServer, startRpcServer } from './server.ts';

const ingest = { files: () => [], linesRead: 7, parseErrors: 0, syslogDatagrams: 0, syslogLines: 0 };
const TOKEN = 'a-token-of-twenty-chars';
const SERVICE = '/logtally.v1.LogtallyService';

describe('rpc server: the token before the body', () => {
  let server: RpcServer;
  let port = 0;
  const dir = mkdtempSync(join(tmpdir(), 'logtally-token-'));
  before(async () => {
    writeFileSync(join(dir, 'token'), TOKEN);
    const store = new Store();
    store.add('a.test', '192.0.2.1', '/x', 200, '', 'GET', 100, 0.5);
    server = await startRpcServer(
      '127.0.0.1:0',
      new StoreBackend(store, 'web1', '9.9.9', ingest),
      loadSecurity({ tokenFile: join(dir, 'token') }),
    );
    port = server.address.port;
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('HTTP/1.1 Connect: a 1 GB body that never comes is answered 401 at once, and the connection closed', async () => {
    const s = connect(port, '127.0.0.1');
    await once(s, 'connect');
    s.write(
      `POST ${SERVICE}/Status HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\n\r\n{"`,
    );
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
    });
    await once(s, 'close');
    assert.match(text, /^HTTP\/1\.1 401 /);
    assert.match(text, /"code":"unauthenticated"/);
  });

  it('HTTP/2 gRPC: an unfinished body is answered UNAUTHENTICATED (trailers-only) at once', async () => {
    const c = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const req = c.request({
        ':method': 'POST',
        ':path': `${SERVICE}/TopN`,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      req.write(Buffer.from([0, 0, 0x10, 0, 0])); // a 1 MiB message announced, never sent
      const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
      assert.equal(headers['grpc-status'], '16');
      assert.equal(decodeURIComponent(String(headers['grpc-message'])), 'missing or invalid bearer token');
      req.close();
    } finally {
      c.close();
    }
  });

  it('with the token the same calls are served, without it refused', async () => {
    const ok = createLogtallyClient(
      `127.0.0.1:${port}`,
      '--target',
      loadSecurity({ tokenFile: join(dir, 'token') }),
    );
    assert.equal(Number((await ok.status({})).linesRead), 7);
    const none = createLogtallyClient(`127.0.0.1:${port}`);
    await assert.rejects(() => none.status({}), /unauthenticated|bearer token/i);
  });
});
