import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import type { Snapshot } from '../gen/logtally/v1/logtally_pb.ts';
import { createLogtallyClient, type LogtallyClient } from '../rpc/client.ts';
import { filterMessage } from '../rpc/filter-message.ts';
import { type RpcServer, startRpcServer } from '../rpc/server.ts';
import { Store } from '../store/store.ts';
import { StoreBackend } from './store-backend.ts';

describe('LogtallyService over gRPC', () => {
  const clock = { t: 1_795_000_010 };
  const store = new Store({ now: () => clock.t });
  const ingest = { files: () => [], linesRead: 7, parseErrors: 1, syslogDatagrams: 0, syslogLines: 0 };
  const backend = new StoreBackend(store, 'web1', '0.1.0', ingest);
  let server: RpcServer;
  let client: LogtallyClient;

  before(async () => {
    store.add('a.example', '192.0.2.1', '/x?y', 200, '', 'GET', 10, 0.5);
    store.add('a.example', '192.0.2.2', '/x', 503, '10.0.0.1:80', 'GET', 20, 1);
    store.add('b.example', '2001:db8::1', '/z', 404, '', 'POST', 5, 0.25);
    server = await startRpcServer('127.0.0.1:0', backend);
    client = createLogtallyClient(`127.0.0.1:${server.address.port}`);
  });
  after(async () => {
    await server.close();
  });

  it('TopN with defaults and with filters', async () => {
    const r = await client.topN({});
    assert.equal(r.source, 'web1');
    assert.deepEqual(
      r.entries.map((e) => [e.label, e.count, e.bytes, e.time]),
      [
        ['a.example', 2, 30, 1.5],
        ['b.example', 1, 5, 0.25],
      ],
    );
    const f = await client.topN({ groupBy: 'uri', window: '1m', filter: filterMessage({ status: '>=500' }) });
    assert.deepEqual(
      f.entries.map((e) => [e.label, e.count]),
      [['/x', 1]],
    );
    const p = await client.topN({ groupBy: 'prefix', orderBy: 'bytes', n: 1 });
    assert.deepEqual(
      p.entries.map((e) => [e.label, e.count]),
      [['192.0.2.0/24', 2]],
    );
  });

  it('rejects invalid arguments naming the field', async () => {
    for (const [req, message] of [
      [{ window: '2m' }, 'window: unknown window "2m"'],
      [{ groupBy: 'colour' }, 'group_by: unknown dimension "colour"'],
      [{ orderBy: 'fame' }, 'order_by: unknown order "fame"'],
      [{ n: 1_000_000 }, 'n: at most 100000'],
      [{ filter: filterMessage({ status: '5xx' }) }, 'filter.status: expected a status'],
      [{ filter: filterMessage({ uriRe: '(' }) }, 'filter.uri_re: invalid regular expression'],
      [{ filter: filterMessage({ uriRe: '(a)\\1' }) }, 'filter.uri_re: invalid regular expression'],
      [
        { filter: filterMessage({ websiteRe: 'a'.repeat(300) }) },
        'filter.website_re: longer than 256 characters',
      ],
    ] as const) {
      await assert.rejects(client.topN(req), (e: unknown) => {
        assert.ok(e instanceof ConnectError);
        assert.equal(e.code, Code.InvalidArgument);
        assert.ok(e.rawMessage.startsWith(message), e.rawMessage);
        return true;
      });
    }
  });

  it('refuses a request larger than 64 KiB with RESOURCE_EXHAUSTED', async () => {
    await assert.rejects(
      client.topN({ filter: filterMessage({ uri: 'u'.repeat(200 * 1024) }) }),
      (e: unknown) => {
        assert.ok(e instanceof ConnectError);
        assert.equal(e.code, Code.ResourceExhausted);
        return true;
      },
    );
    // The connection is still usable.
    assert.equal((await client.trend({ window: '5m' })).points.length, 1);
  });

  it('Trend, ListTargets and Status', async () => {
    const t = await client.trend({ window: '5m' });
    assert.equal(t.points.length, 1);
    assert.equal(t.points[0]?.count, 3);
    assert.equal(t.points[0]?.start, 1_795_000_000 - (1_795_000_000 % 60));
    const targets = await client.listTargets({});
    assert.deepEqual(
      targets.targets.map((x) => [x.source, x.state]),
      [['web1', 'up']],
    );
    const s = await client.status({});
    assert.equal(s.source, 'web1');
    assert.equal(s.linesRead, 7);
    assert.equal(s.parseErrors, 1);
  });

  it('StreamSnapshots pushes each completed minute', async () => {
    const ac = new AbortController();
    const stream = client.streamSnapshots({ backfill: false }, { signal: ac.signal });
    const it = stream[Symbol.asyncIterator]();
    const first = it.next();
    // Let the subscription reach the server, then complete the minute.
    await new Promise((r) => setTimeout(r, 100));
    clock.t += 60;
    store.tick();
    const value = (await first).value as Snapshot | undefined;
    assert.ok(value);
    assert.equal(value.source, 'web1');
    assert.equal(value.totalCount, 3);
    assert.deepEqual(
      value.entries.map((e) => [e.website, e.prefix, e.uri, e.status, e.upstream, e.method, e.count]).sort(),
      [
        ['a.example', '192.0.2.0/24', '/x', '200', '', 'GET', 1],
        ['a.example', '192.0.2.0/24', '/x', '503', '10.0.0.1:80', 'GET', 1],
        ['b.example', '2001:db8::/48', '/z', '404', '', 'POST', 1],
      ],
    );
    ac.abort();
    await it.return?.();
  });
});

describe('gRPC server connection limits', () => {
  /** A server over an empty store with the given limits. */
  const limited = (limits: { idleMs?: number; maxConnections?: number }) => {
    const store = new Store({ now: () => 1_795_000_010 });
    const ingest = { files: () => [], linesRead: 0, parseErrors: 0, syslogDatagrams: 0, syslogLines: 0 };
    return startRpcServer('127.0.0.1:0', new StoreBackend(store, 'w', 't', ingest), undefined, limits);
  };

  it('closes a connection that sends nothing for idleMs; a client that talks is served', async () => {
    const { connect } = await import('node:net');
    const server = await limited({ idleMs: 300 });
    try {
      const s = connect(server.address.port, '127.0.0.1');
      s.on('error', () => {});
      s.resume(); // read (and drop) the server's SETTINGS, so the close is seen
      const t0 = Date.now();
      const after = await new Promise<number>((resolve) => s.on('close', () => resolve(Date.now() - t0)));
      assert.ok(after >= 250 && after < 10_000, `closed after ${after} ms`);
      const client = createLogtallyClient(`127.0.0.1:${server.address.port}`);
      assert.equal((await client.status({})).source, 'w');
    } finally {
      await server.close();
    }
  });

  it('refuses connections past maxConnections, and serves again once they end', async () => {
    const { connect } = await import('node:net');
    const server = await limited({ maxConnections: 2 });
    const open = () => {
      const s = connect(server.address.port, '127.0.0.1');
      const closed = new Promise<number>((resolve) => {
        const t0 = Date.now();
        s.on('error', () => {});
        s.on('close', () => resolve(Date.now() - t0));
      });
      return { s, closed };
    };
    try {
      const a = open();
      const b = open();
      await new Promise((r) => setTimeout(r, 100));
      const c = open();
      // The third is over the limit: closed at once, long before the idle timeout.
      assert.ok((await c.closed) < 250);
      a.s.destroy();
      b.s.destroy();
      await Promise.all([a.closed, b.closed]);
      // A client that talks is served.
      const client = createLogtallyClient(`127.0.0.1:${server.address.port}`);
      assert.equal((await client.status({})).source, 'w');
    } finally {
      await server.close();
    }
  });
});
