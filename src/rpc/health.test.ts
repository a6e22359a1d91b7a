import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { StoreBackend } from '../collector/store-backend.ts';
import { Health, HealthCheckResponse_ServingStatus as S } from '../gen/grpc/health/v1/health_pb.ts';
import { Store } from '../store/store.ts';
import { HealthState } from './health.ts';
import { startRpcServer } from './server.ts';

const ingest = { files: () => [], linesRead: 0, parseErrors: 0, syslogDatagrams: 0, syslogLines: 0 };

describe('grpc.health.v1.Health', () => {
  it('Check follows the state; Watch sends each change, and ends when the server closes', async () => {
    const health = new HealthState(false);
    const server = await startRpcServer(
      '127.0.0.1:0',
      new StoreBackend(new Store(), 'h', 't', ingest),
      undefined,
      {
        health,
      },
    );
    const client = createClient(
      Health,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.address.port}` }),
    );
    assert.equal((await client.check({})).status, S.NOT_SERVING);
    await assert.rejects(
      client.check({ service: 'other.Service' }),
      (e: unknown) => e instanceof ConnectError && e.code === Code.NotFound,
    );
    const seen: S[] = [];
    const watching = (async () => {
      for await (const r of client.watch({ service: 'logtally.v1.LogtallyService' })) {
        seen.push(r.status);
        if (seen.length === 1) health.set(true);
        if (seen.length === 2) {
          // Two changes in a row while an answer is on its way: the last one is sent.
          health.set(false);
          health.set(true);
          health.set(false);
        }
        if (seen.length === 3) void server.close();
      }
    })();
    await watching;
    assert.deepEqual(seen, [S.NOT_SERVING, S.SERVING, S.NOT_SERVING]);
    assert.equal(health.serving, false);
  });

  it('Watch of an unknown service answers SERVICE_UNKNOWN and stays open', async () => {
    const server = await startRpcServer('127.0.0.1:0', new StoreBackend(new Store(), 'h', 't', ingest));
    try {
      const client = createClient(
        Health,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.address.port}` }),
      );
      const ac = new AbortController();
      const it = client.watch({ service: 'nope' }, { signal: ac.signal })[Symbol.asyncIterator]();
      assert.equal((await it.next()).value?.status, S.SERVICE_UNKNOWN);
      ac.abort();
      await assert.rejects(it.next(), (e: unknown) => e instanceof ConnectError && e.code === Code.Canceled);
    } finally {
      await server.close();
    }
  });
});
