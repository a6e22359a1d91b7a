import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { runCli } from '../../test/support/cli.ts';
import { makePki, type TestPki } from '../../test/support/tls.ts';
import { Health, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.ts';
import { ServerReflection } from '../gen/grpc/reflection/v1/reflection_pb.ts';
import { createLogtallyClient } from '../rpc/client.ts';
import { loadSecurity } from '../rpc/security.ts';
import { type RpcServer, startRpcServer } from '../rpc/server.ts';
import { Store } from '../store/store.ts';
import { StoreBackend } from './store-backend.ts';

const run = promisify(execFile);
const ingest = { files: () => [], linesRead: 0, parseErrors: 0, syslogDatagrams: 0, syslogLines: 0 };
const backend = () => new StoreBackend(new Store(), 'secure', 't', ingest);

describe('gRPC transport security', () => {
  let pki: TestPki;
  const servers: RpcServer[] = [];
  before(() => {
    pki = makePki();
    writeFileSync(join(pki.dir, 'token'), 'a-long-shared-secret-token\n');
    writeFileSync(join(pki.dir, 'short'), 'short\n');
  });
  after(async () => {
    for (const s of servers) await s.close();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  it('TLS: a client that trusts the CA connects; one that does not is refused', async () => {
    const s = await startRpcServer(
      '127.0.0.1:0',
      backend(),
      loadSecurity({ tlsCert: pki.serverCert, tlsKey: pki.serverKey }),
    );
    servers.push(s);
    const good = createLogtallyClient(
      `127.0.0.1:${s.address.port}`,
      '--target',
      loadSecurity({ tlsCa: pki.ca }),
    );
    assert.equal((await good.status({})).source, 'secure');
    const plain = createLogtallyClient(`127.0.0.1:${s.address.port}`);
    await assert.rejects(plain.status({}));
  });

  it('mutual TLS: a client without a certificate is refused', async () => {
    const s = await startRpcServer(
      '127.0.0.1:0',
      backend(),
      loadSecurity({ tlsCert: pki.serverCert, tlsKey: pki.serverKey, tlsCa: pki.ca }),
    );
    servers.push(s);
    const withCert = createLogtallyClient(
      `127.0.0.1:${s.address.port}`,
      '--target',
      loadSecurity({ tlsCa: pki.ca, tlsCert: pki.clientCert, tlsKey: pki.clientKey }),
    );
    assert.equal((await withCert.status({})).source, 'secure');
    const noCert = createLogtallyClient(
      `127.0.0.1:${s.address.port}`,
      '--target',
      loadSecurity({ tlsCa: pki.ca }),
    );
    await assert.rejects(noCert.status({}));
  });

  it('bearer token: calls without it are UNAUTHENTICATED', async () => {
    const tokenFile = join(pki.dir, 'token');
    const s = await startRpcServer('127.0.0.1:0', backend(), loadSecurity({ tokenFile }));
    servers.push(s);
    const ok = createLogtallyClient(`127.0.0.1:${s.address.port}`, '--target', loadSecurity({ tokenFile }));
    assert.equal((await ok.status({})).source, 'secure');
    const none = createLogtallyClient(`127.0.0.1:${s.address.port}`);
    await assert.rejects(
      none.status({}),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated,
    );
  });

  it('bearer token: health checks (probes send no credentials) are answered without it', async () => {
    const tokenFile = join(pki.dir, 'token');
    const s = await startRpcServer('127.0.0.1:0', backend(), loadSecurity({ tokenFile }));
    servers.push(s);
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${s.address.port}` });
    const health = createClient(Health, transport);
    assert.equal((await health.check({})).status, HealthCheckResponse_ServingStatus.SERVING);
    await assert.rejects(
      createClient(ServerReflection, transport)
        .serverReflectionInfo(
          (async function* () {
            yield { messageRequest: { case: 'listServices' as const, value: '' } };
          })(),
        )
        [Symbol.asyncIterator]()
        .next(),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated,
    );
  });

  it('bearer token: the scheme name is case-insensitive (RFC 7235), the token is not', async () => {
    const tokenFile = join(pki.dir, 'token');
    const s = await startRpcServer('127.0.0.1:0', backend(), loadSecurity({ tokenFile }));
    servers.push(s);
    const url = `http://127.0.0.1:${s.address.port}/logtally.v1.LogtallyService/Status`;
    const status = async (authorization: string) => {
      const r = await run('curl', [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-H',
        'content-type: application/json',
        '-H',
        `authorization: ${authorization}`,
        '-d',
        '{}',
        url,
      ]);
      return r.stdout;
    };
    const token = 'a-long-shared-secret-token';
    assert.equal(await status(`Bearer ${token}`), '200');
    assert.equal(await status(`bearer ${token}`), '200');
    assert.equal(await status(`BEARER  ${token}`), '200');
    assert.equal(await status(`bearer ${token.toUpperCase()}`), '401');
    assert.equal(await status(`Basic ${token}`), '401');
    assert.equal(await status(`bearer${token}`), '401');
    assert.equal(await status(token), '401');
  });

  it('the CLI reports a TLS refusal on one line, saying what to do (no trailing \\x0A)', async () => {
    const s = await startRpcServer(
      '127.0.0.1:0',
      backend(),
      loadSecurity({ tlsCert: pki.serverCert, tlsKey: pki.serverKey, tlsCa: pki.ca }),
    );
    servers.push(s);
    const target = `127.0.0.1:${s.address.port}`;
    const r = await runCli(['topn', '--target', target, '--tls-ca', pki.ca]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `logtally: ${target}: TLS handshake failed: tlsv13 alert certificate required (alert 116); ` +
        'the server requires a client certificate: give --tls-cert and --tls-key\n',
    );
    const ok = await runCli([
      'topn',
      '--target',
      target,
      '--tls-ca',
      pki.ca,
      '--tls-cert',
      pki.clientCert,
      '--tls-key',
      pki.clientKey,
    ]);
    assert.equal(ok.stderr, '');
    assert.equal(ok.code, 0);
  });

  it('names the flag of a bad security setting', () => {
    assert.throws(() => loadSecurity({ tlsCert: pki.serverCert }), /--tls-cert and --tls-key go together/);
    assert.throws(() => loadSecurity({ tlsCa: join(pki.dir, 'nope') }), /^LogtallyError: --tls-ca: ENOENT/);
    assert.throws(
      () => loadSecurity({ tokenFile: join(pki.dir, 'short') }),
      /--token-file: the token must have at least 16/,
    );
  });
});
