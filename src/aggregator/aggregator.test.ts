import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort } from '../../test/support/listening.ts';
import { until } from '../../test/support/wait.ts';
import { type IngestCounters, StoreBackend } from '../collector/store-backend.ts';
import { createLogtallyClient } from '../rpc/client.ts';
import { type RpcServer, startRpcServer } from '../rpc/server.ts';
import { Store } from '../store/store.ts';
import { type AggregatorOptions, type RunningAggregator, startAggregator } from './run.ts';

const T0 = 1_795_000_000; // a multiple of 300

interface FakeCollector {
  clock: { t: number };
  store: Store;
  server: RpcServer;
  port: number;
}

/** A collector on `port`; with `from`, one restarted with the counts it held (its state file). */
async function collector(
  source: string,
  port = 0,
  from?: FakeCollector,
  ingest: IngestCounters = {
    files: () => [],
    linesRead: 0,
    parseErrors: 0,
    syslogDatagrams: 0,
    syslogLines: 0,
  },
): Promise<FakeCollector> {
  const clock = from?.clock ?? { t: T0 + 5 };
  const store = from?.store ?? new Store({ now: () => clock.t });
  const server = await startRpcServer(`127.0.0.1:${port}`, new StoreBackend(store, source, 't', ingest));
  return { clock, store, server, port: server.address.port };
}

function traffic(c: FakeCollector, site: string, n: number, status = 200) {
  for (let i = 0; i < n; i++) c.store.add(site, `10.0.${i % 3}.1`, `/p${i % 2}`, status, '', 'GET', 10, 0.1);
}

function nextMinute(c: FakeCollector) {
  c.clock.t += 60;
  c.store.tick();
}

const cleanup: (() => Promise<void>)[] = [];

/** An aggregator on a free port with quick backoff and grace, stopped after the suite. */
async function aggregator(
  collectors: string[],
  source: string,
  extra: Partial<AggregatorOptions> = {},
): Promise<RunningAggregator> {
  const a = await startAggregator({
    listen: '127.0.0.1:0',
    collectors,
    source,
    version: 't',
    log: () => {},
    backoff: { initialMs: 20, maxMs: 100 },
    minuteGraceMs: 200,
    ...extra,
  });
  cleanup.push(() => a.stop());
  return a;
}

describe('aggregator', () => {
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it('merges collectors, backfills history, withdraws a failed collector’s last minute and reintegrates it', async () => {
    const a = await collector('web-a');
    const b = await collector('web-b');
    cleanup.push(() => a.server.close());
    // History before the aggregator starts: 10 minutes (two 5-minute buckets) on a.
    for (let m = 0; m < 10; m++) {
      traffic(a, 'shop.test', 3);
      nextMinute(a);
    }
    traffic(b, 'blog.test', 4, 503);
    nextMinute(b);
    const logs: string[] = [];
    const agg = await aggregator([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], 'agg', {
      log: (l) => logs.push(l),
    });
    const client = createLogtallyClient(`127.0.0.1:${agg.rpc.address.port}`);
    // Backfill: the 24h window shows a's 10 minutes and b's minute at once.
    const merged = await until('backfill', async () => {
      const r = await client.topN({ groupBy: 'website', window: '24h' });
      const got = r.entries.map((e) => [e.label, e.count]);
      return got.length === 2 && got[0]?.[1] === 30 ? got : undefined;
    });
    assert.deepEqual(merged, [
      ['shop.test', 30],
      ['blog.test', 4],
    ]);
    const statuses = await client.topN({ groupBy: 'status', window: '60m' });
    assert.deepEqual(
      statuses.entries.map((e) => [e.label, e.count]),
      [
        ['200', 30],
        ['503', 4],
      ],
    );
    const targets = await client.listTargets({});
    assert.deepEqual(
      targets.targets.map((t) => [t.source, t.state, t.failures]),
      [
        ['web-a', 'up', 0],
        ['web-b', 'up', 0],
      ],
    );

    // b fails: after 3 consecutive failures it is degraded and its last minute (its only one
    // here) is subtracted.
    await b.server.close();
    await until('b degraded', async () => {
      const t = await client.listTargets({});
      return t.targets[1]?.state === 'degraded' ? true : undefined;
    });
    const without = await client.topN({ groupBy: 'website', window: '24h' });
    assert.deepEqual(
      without.entries.map((e) => [e.label, e.count]),
      [['shop.test', 30]],
    );
    assert.ok(
      logs.some((l) => l.includes('degraded after 3 consecutive failures')),
      logs.join('\n'),
    );

    // b comes back on the same port, with what it held and a new minute: reintegrated, the
    // withdrawn minute taken again from its backfill.
    const b2 = await collector('web-b', b.port, b);
    cleanup.push(() => b2.server.close());
    b2.clock.t += 120; // restarted two minutes later
    traffic(b2, 'blog.test', 2, 503);
    nextMinute(b2);
    await until('b reintegrated', async () => {
      const t = await client.listTargets({});
      return t.targets[1]?.state === 'up' ? true : undefined;
    });
    const back = await client.topN({ groupBy: 'website', window: '24h' });
    assert.deepEqual(
      back.entries.map((e) => [e.label, e.count]),
      [
        ['shop.test', 30],
        ['blog.test', 6],
      ],
    );
  });

  it('refreshes a connected collector’s figures (lines read, files) without waiting for a reconnect', async () => {
    const file = { path: '/var/log/a.log', offset: 0, lines: 0, parseErrors: 0, format: 'main' };
    const ingest = {
      files: () => [{ ...file }],
      linesRead: 600,
      parseErrors: 0,
      syslogDatagrams: 0,
      syslogLines: 0,
    };
    const c = await collector('web-r', 0, undefined, ingest);
    cleanup.push(() => c.server.close());
    const agg = await aggregator([`127.0.0.1:${c.port}`], 'agg-r', { statusRefreshMs: 50 });
    const client = createLogtallyClient(`127.0.0.1:${agg.rpc.address.port}`);
    const figures = async () => {
      const s = await client.status({});
      return [s.linesRead, s.files.map((f) => [f.path, f.lines, f.offset])];
    };
    await until('the first status', async () => ((await figures())[0] === 600 ? true : undefined));
    ingest.linesRead = 830;
    file.lines = 830;
    file.offset = 99_000;
    await until('the refreshed status', async () => ((await figures())[0] === 830 ? true : undefined));
    assert.deepEqual(await figures(), [830, [['web-r:/var/log/a.log', 830, 99_000]]]);
  });

  it('can be aggregated itself (stacking): merged minutes stream on', async () => {
    const a = await collector('web-a');
    const b = await collector('web-b');
    cleanup.push(
      () => a.server.close(),
      () => b.server.close(),
    );
    const mid = await aggregator([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], 'mid');
    const top = await aggregator([`127.0.0.1:${mid.rpc.address.port}`], 'top');
    const midClient = createLogtallyClient(`127.0.0.1:${mid.rpc.address.port}`);
    await until('mid connected', async () =>
      (await midClient.listTargets({})).targets.every((t) => t.source.startsWith('web')) ? true : undefined,
    );
    traffic(a, 'x.test', 5);
    traffic(b, 'x.test', 7);
    traffic(b, 'y.test', 1);
    nextMinute(a);
    nextMinute(b);
    const client = createLogtallyClient(`127.0.0.1:${top.rpc.address.port}`);
    const r = await until('the top aggregator to see the merged minute', async () => {
      const x = await client.topN({ groupBy: 'website', window: '5m' });
      return x.entries.length === 2 ? x : undefined;
    });
    assert.deepEqual(
      r.entries.map((e) => [e.label, e.count]),
      [
        ['x.test', 12],
        ['y.test', 1],
      ],
    );
    const t = await client.listTargets({});
    assert.deepEqual(
      t.targets.map((x) => [x.source, x.state]),
      [['mid', 'up']],
    );
  });

  it('renews a stream whose dictionary outgrew its bound, without losing or repeating a minute', async () => {
    const a = await collector('web-a');
    cleanup.push(() => a.server.close());
    for (let m = 0; m < 3; m++) {
      traffic(a, `s${m}.test`, m + 1);
      nextMinute(a);
    }
    // A dictionary bound of 1 value: the stream is renewed after every snapshot.
    const agg = await aggregator([`127.0.0.1:${a.port}`], 'agg', { dictionaryLimit: 1 });
    const client = createLogtallyClient(`127.0.0.1:${agg.rpc.address.port}`);
    const sites = async () =>
      (await client.topN({ groupBy: 'website', window: '24h' })).entries.map((e) => [e.label, e.count]);
    await until('backfill', async () => ((await sites()).length === 3 ? true : undefined));
    for (let m = 3; m < 6; m++) {
      traffic(a, `s${m}.test`, m + 1);
      nextMinute(a);
      await until(`minute ${m}`, async () => ((await sites()).length === m + 1 ? true : undefined));
    }
    assert.deepEqual(await sites(), [
      ['s5.test', 6],
      ['s4.test', 5],
      ['s3.test', 4],
      ['s2.test', 3],
      ['s1.test', 2],
      ['s0.test', 1],
    ]);
    const t = await client.listTargets({});
    assert.deepEqual(
      t.targets.map((x) => [x.state, x.failures]),
      [['up', 0]],
    );
  });

  it('forwards a late collector’s minute up a stack as an amendment', async () => {
    const a = await collector('web-a');
    cleanup.push(() => a.server.close());
    const cPort = await freePort();
    const mid = await aggregator([`127.0.0.1:${a.port}`, `127.0.0.1:${cPort}`], 'mid', { settleMs: 200 });
    const top = await aggregator([`127.0.0.1:${mid.rpc.address.port}`], 'top');
    const client = createLogtallyClient(`127.0.0.1:${top.rpc.address.port}`);
    const sites = async () =>
      (await client.topN({ groupBy: 'website', window: '5m' })).entries.map((e) => [e.label, e.count]);
    traffic(a, 'a.test', 5);
    nextMinute(a);
    await until('the minute at the top, without the collector that is down', async () =>
      JSON.stringify(await sites()) === JSON.stringify([['a.test', 5]]) ? true : undefined,
    );
    // The late collector comes up with that same minute: mid merges it into the published
    // minute, and the top receives it as an amendment.
    const c = await collector('web-c', cPort);
    cleanup.push(() => c.server.close());
    traffic(c, 'c.test', 7);
    nextMinute(c);
    const got = await until('the amendment at the top', async () => {
      const x = await sites();
      return x.length === 2 ? x : undefined;
    });
    assert.deepEqual(got, [
      ['c.test', 7],
      ['a.test', 5],
    ]);
  });
});
