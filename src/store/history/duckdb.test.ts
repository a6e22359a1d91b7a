import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OTHER_TEXT } from '../dimensions.ts';
import { Store } from '../store.ts';
import { DuckDBSink } from './duckdb.ts';
import { openHistorySink } from './index.ts';
import { HistoryWriter } from './writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'logtally-duckdb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_790_000_040; // a minute boundary
const range = (from: number, to: number) => ({ from, to });

describe('DuckDB history sink', () => {
  it('keeps sealed minutes and their deltas; TopN and Trend sum them; a retried write is not doubled', async () => {
    const path = join(dir, 'a.duckdb');
    let now = T0;
    const store = new Store({ now: () => now });
    const sink = await DuckDBSink.open(path);
    const writer = new HistoryWriter(sink, { source: 'c1', log: () => {}, now: () => now, flushMs: 60_000 });
    writer.follow(store);
    store.add('a.test', '192.0.2.1', '/x?q=1', 200, '', 'GET', 100, 0.5);
    store.add('a.test', '192.0.2.1', '/x', 200, '', 'GET', 100, 0.5);
    store.add('b.test', '198.51.100.9', '/y', 404, '10.0.0.1:80', 'POST', 7, 0.25);
    now = T0 + 60;
    store.add('b.test', '198.51.100.9', '/y', 503, '10.0.0.1:80', 'POST', 1, 1);
    now = T0 + 120;
    store.tick();
    // A late addition to the first minute (as the collector reports late lines).
    writer.amended({
      start: T0,
      sign: 1,
      entries: [
        {
          labels: ['b.test', '198.51.100.0/24', '/y', '404', '10.0.0.1:80', 'POST'],
          requests: 2,
          bytes: 14,
          time: 0.5,
        },
      ],
      totals: { requests: 2, bytes: 14, time: 0.5 },
    });
    assert.equal(writer.stats().queuedMinutes, 3);
    await writer.flush();
    assert.deepEqual(writer.stats().queuedMinutes, 0);
    const r = range(T0, T0 + 120);
    assert.deepEqual(
      await writer.topN({ range: r, filter: {}, groupBy: 'website', n: 10, orderBy: 'requests' }),
      [
        { label: 'b.test', requests: 4, bytes: 22, time: 1.75 },
        { label: 'a.test', requests: 2, bytes: 200, time: 1 },
      ],
    );
    assert.deepEqual(
      await writer.topN({
        range: r,
        filter: { status: { op: '>=', value: 400 } },
        groupBy: 'status',
        n: 10,
        orderBy: 'bytes',
      }),
      [
        { label: '404', requests: 3, bytes: 21, time: 0.75 },
        { label: '503', requests: 1, bytes: 1, time: 1 },
      ],
    );
    assert.deepEqual(
      await writer.topN({
        range: r,
        filter: { uriRe: '^/x', uriReNegate: true },
        groupBy: 'prefix',
        n: 1,
        orderBy: 'requests',
      }),
      [{ label: '198.51.100.0/24', requests: 4, bytes: 22, time: 1.75 }],
    );
    assert.deepEqual(await writer.trend({ range: range(T0 - 60, T0 + 120), filter: {}, span: 60 }), [
      { start: T0 - 60, span: 60, requests: 0, bytes: 0, time: 0 },
      { start: T0, span: 60, requests: 5, bytes: 221, time: 1.75 },
      { start: T0 + 60, span: 60, requests: 1, bytes: 1, time: 1 },
    ]);
    assert.deepEqual(await writer.trend({ range: r, filter: { website: 'a.test' }, span: 3600 }), [
      { start: Math.floor(T0 / 3600) * 3600, span: 3600, requests: 2, bytes: 200, time: 1 },
    ]);
    // The same write again (a retry after a lost acknowledgement) changes nothing.
    await sink.write([
      {
        source: 'c1',
        minute: T0 + 60,
        seq: 0,
        entries: [
          {
            labels: ['b.test', '198.51.100.0/24', '/y', '503', '10.0.0.1:80', 'POST'],
            requests: 1,
            bytes: 1,
            time: 1,
          },
        ],
        totals: { requests: 1, bytes: 1, time: 1 },
      },
    ]);
    assert.deepEqual(
      (await writer.trend({ range: range(T0 + 60, T0 + 120), filter: {}, span: 60 }))[0]?.requests,
      1,
    );
    await writer.close();

    // Reopened: everything is there; expiry deletes what is older.
    const again = await DuckDBSink.open(path);
    assert.deepEqual(
      (await again.topN({ range: r, filter: {}, groupBy: 'method', n: 5, orderBy: 'time' })).map((e) => [
        e.label,
        e.requests,
      ]),
      [
        ['POST', 4],
        ['GET', 2],
      ],
    );
    await again.expire(T0 + 60);
    assert.deepEqual(
      (await again.topN({ range: r, filter: {}, groupBy: 'method', n: 5, orderBy: 'time' })).map((e) => [
        e.label,
        e.requests,
      ]),
      [['POST', 1]],
    );
    await again.close();
  });

  it('a batch holding a write twice stores it once; a minute written as changes only is not sealed again', async () => {
    const path = join(dir, 'twice.duckdb');
    const sink = await DuckDBSink.open(path);
    const write = (minute: number, seq: number, requests: number) => ({
      source: 'agg',
      minute,
      seq,
      ...(seq === 0 ? { at: 70_000 } : {}),
      entries: [
        { labels: ['a.test', '192.0.2.0/24', '/', '200', '', 'GET'], requests, bytes: requests, time: 0 },
      ],
      totals: { requests, bytes: requests, time: 0 },
    });
    // The same seal twice in one batch (it was refused whole before, and retried for ever).
    await sink.write([write(T0, 0, 3), write(T0, 0, 3)]);
    // Minute T0+60 had nothing when published: its lines came as a change; an aggregator
    // restarted re-takes the minute whole and seals it (the change with it).
    await sink.write([write(T0 + 60, 4000, 2)]);
    await sink.write([write(T0 + 60, 0, 2)]);
    assert.deepEqual(
      (await sink.trend({ range: range(T0, T0 + 120), filter: {}, span: 60 })).map((p) => [
        p.start,
        p.requests,
      ]),
      [
        [T0, 3],
        [T0 + 60, 2],
      ],
    );
    await sink.close();
  });

  it('refuses a file from a newer logtally, or a foreign one, with a clear message', async () => {
    const path = join(dir, 'b.duckdb');
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    await c.run(
      "CREATE TABLE logtally_meta (key VARCHAR PRIMARY KEY, value VARCHAR); INSERT INTO logtally_meta VALUES ('schema_version', '7')",
    );
    c.closeSync();
    db.closeSync();
    await assert.rejects(openHistorySink(`duckdb:${path}`), {
      message: `--history duckdb:${path}: written by a newer logtally (schema 7; this one reads schema 1); upgrade logtally or use another file`,
    });
    const foreign = join(dir, 'c.duckdb');
    const db2 = await DuckDBInstance.create(foreign);
    const c2 = await db2.connect();
    await c2.run('CREATE TABLE minute_keys (x INTEGER)');
    c2.closeSync();
    db2.closeSync();
    await assert.rejects(
      openHistorySink(`duckdb:${foreign}`),
      /has minute_keys but no logtally_meta: not a logtally history file/,
    );
    await assert.rejects(openHistorySink('duckdb:'), /--history: duckdb: needs a file path/);
    await assert.rejects(
      openHistorySink('mysql://x'),
      /--history: expected duckdb:PATH or clickhouse:\/\/HOST:8123\/DB, got "mysql:\/\/x"/,
    );
  });

  it('opens an existing logtally file again without changing it (the schema is idempotent)', async () => {
    const path = join(dir, 'd.duckdb');
    await (await DuckDBSink.open(path)).close();
    await (await DuckDBSink.open(path)).close();
  });
});

describe('DuckDB history sink: residuals', () => {
  it('keeps a residual ("\\0other") row; TopN puts it after the top n; a regex and its negation add up', async () => {
    const path = join(dir, 'residual.duckdb');
    let now = T0;
    // A minute of 3 keys: /k2 … /k9 push keys out into the residual (site.test, 200, GET).
    const store = new Store({ now: () => now, liveCap: 3 });
    const sink = await DuckDBSink.open(path);
    const writer = new HistoryWriter(sink, { source: 'c1', log: () => {}, now: () => now, flushMs: 60_000 });
    writer.follow(store);
    for (let i = 0; i < 5; i++) store.add('site.test', '192.0.2.1', '/heavy', 200, '', 'GET', 1, 0);
    for (let i = 0; i < 10; i++) store.add('site.test', '192.0.2.1', `/k${i}`, 200, '', 'GET', 1, 0);
    now = T0 + 60;
    store.tick();
    await writer.flush();
    const r = range(T0, T0 + 60);
    const top = (q: Partial<Parameters<HistoryWriter['topN']>[0]>) =>
      writer.topN({ range: r, filter: {}, groupBy: 'uri', n: 1, orderBy: 'requests', ...q });
    assert.deepEqual(
      (await top({})).map((e) => [e.label, e.requests]),
      [
        ['/heavy', 5],
        [OTHER_TEXT, 8],
      ],
    );
    assert.deepEqual(
      (await top({ groupBy: 'website' })).map((e) => [e.label, e.requests]),
      [['site.test', 15]],
    );
    const sum = async (neg: boolean) =>
      (await top({ n: 100, filter: { uriRe: '^/heavy', uriReNegate: neg } })).reduce(
        (n, e) => n + e.requests,
        0,
      );
    assert.deepEqual([await sum(false), await sum(true)], [5, 10]);
    await writer.close();
  });
});
