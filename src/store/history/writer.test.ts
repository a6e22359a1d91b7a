import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MergedStore, type SnapshotRow } from '../merged-store.ts';
import { Store } from '../store.ts';
import { DuckDBSink } from './duckdb.ts';
import type { HistorySink, MinuteWrite } from './sink.ts';
import { HistoryWriter } from './writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'logtally-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T = 1_795_000_200;
const row = (website: string, count: number): SnapshotRow => ({
  website,
  prefix: '10.0.0.0/24',
  uri: '/',
  status: '200',
  upstream: '',
  method: 'GET',
  count,
  bytes: count * 10,
  time: 0,
});
const one = (n: number) => ({ requests: n, bytes: n * 10, time: 0 });

describe('HistoryWriter', () => {
  it("follows an aggregator's merged store: a published minute, then late data and a withdrawal as delta rows", async () => {
    const store = new MergedStore({ now: () => (T + 600) * 1000, settleMs: 0 });
    const sink = await DuckDBSink.open(join(dir, 'agg.duckdb'));
    const writer = new HistoryWriter(sink, { source: 'agg', log: () => {}, now: () => T + 600 });
    writer.follow(store);
    store.add('a', T, 60, [row('a.test', 2)], one(2));
    store.add('b', T, 60, [row('b.test', 3)], one(3));
    store.seal(['a', 'b']); // published: 5 requests
    store.add('c', T, 60, [row('c.test', 4)], one(4)); // late: an amendment (+4)
    store.withdraw('b'); // b failed: its minute is subtracted (-3)
    assert.equal(writer.stats().queuedMinutes, 3);
    await writer.flush();
    const range = { from: T, to: T + 60 };
    assert.deepEqual(
      (await writer.topN({ range, filter: {}, groupBy: 'website', n: 10, orderBy: 'requests' })).map((e) => [
        e.label,
        e.requests,
        e.bytes,
      ]),
      [
        ['c.test', 4, 40],
        ['a.test', 2, 20],
      ],
    );
    assert.deepEqual(
      (await writer.trend({ range, filter: {}, span: 60 })).map((p) => p.requests),
      [6],
    );
    assert.deepEqual(
      (await writer.trend({ range, filter: {}, span: 60 })).map((p) => p.requests),
      store.trend('1m').map((p) => p.requests),
    );
    await writer.close();
  });

  it("follows a collector's store: late lines for a sealed minute (by their own time) are written as delta rows", async () => {
    const clock = { t: T + 5 };
    const store = new Store({ now: () => clock.t });
    const sink = await DuckDBSink.open(join(dir, 'collector.duckdb'));
    const writer = new HistoryWriter(sink, { source: 'web1', log: () => {}, now: () => clock.t });
    writer.follow(store);
    const line = (at: number, uri: string) =>
      store.add('a.test', '192.0.2.1', uri, 200, '', 'GET', 10, 0.5, at);
    line(T + 5, '/x');
    line(T + 6, '/x');
    clock.t = T + 125; // T and T+60 sealed (T written with 2 requests)
    line(T + 70, '/y');
    line(T + 30, '/late'); // late: for the sealed minute T
    line(T - 7200, '/older'); // older than the fine ring: into its five-minute bucket
    clock.t = T + 185;
    store.tick(); // seals T+120, merges the late lines (amendments)
    await writer.flush();
    const range = { from: T - 3 * 3600, to: T + 180 };
    const sinkTrend = (await writer.trend({ range, filter: {}, span: 60 })).filter((p) => p.requests !== 0);
    assert.deepEqual(
      sinkTrend.map((p) => [p.start - T, p.requests]),
      [
        [-7200, 1], // the five-minute bucket's amendment, at its first minute
        [0, 3],
        [60, 1],
      ],
    );
    assert.deepEqual(
      (await writer.topN({ range, filter: {}, groupBy: 'uri', n: 10, orderBy: 'requests' })).map((e) => [
        e.label,
        e.requests,
      ]),
      [
        ['/x', 2],
        ['/late', 1],
        ['/older', 1],
        ['/y', 1],
      ],
    );
    await writer.close();
  });

  it('keeps the queue while the sink fails, retries with backoff, drops the oldest beyond the cap', async () => {
    const written: MinuteWrite[] = [];
    let failing = true;
    const sink: HistorySink = {
      description: 'test:',
      async write(batch) {
        if (failing) throw new Error('down');
        written.push(...batch);
      },
      topN: async () => [],
      trend: async () => [],
      expire: async () => {},
      close: async () => {},
    };
    const logs: string[] = [];
    const writer = new HistoryWriter(sink, {
      source: 's',
      log: (l) => logs.push(l),
      maxQueuedRows: 6,
      backoff: { initialMs: 10, maxMs: 20 },
    });
    const entry = { labels: ['w', 'p', '/', '200', '', 'GET'], requests: 1, bytes: 0, time: 0 };
    for (let m = 0; m < 4; m++)
      writer.amended({ start: T + m * 60, sign: 1, entries: [entry, entry], totals: one(2) });
    // 3 rows per write (2 keys + totals): at most 2 writes fit; the oldest 2 were dropped.
    assert.deepEqual(writer.stats().queuedMinutes, 2);
    assert.equal(writer.stats().droppedMinutes, 2);
    assert.equal(writer.stats().oldestQueued, T + 120);
    await assert.rejects(writer.flush(), /down/);
    assert.equal(writer.stats().writeErrors, 1);
    assert.equal(writer.stats().lastError, 'down');
    assert.equal(writer.stats().queuedMinutes, 2);
    failing = false;
    // The retry timer (10 ms) writes them without being asked.
    for (let i = 0; i < 200 && written.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      written.map((w) => [w.minute - T, w.seq > 0]),
      [
        [120, true],
        [180, true],
      ],
    );
    assert.equal(writer.stats().lastError, '');
    assert.ok(logs.some((l) => /dropped the minute .*: the queue is full \(6 rows\)/.test(l)));
    await writer.close();
  });

  it('with a disk queue: minutes go to disk while the sink fails and at shutdown, and are written once after a restart', async () => {
    const queueDir = join(dir, 'queue');
    const written: MinuteWrite[] = [];
    let failing = true;
    const sink = (): HistorySink => ({
      description: 'test:',
      async write(batch) {
        if (failing) throw new Error('down');
        written.push(...batch);
      },
      topN: async () => [],
      trend: async () => [],
      expire: async () => {},
      close: async () => {},
    });
    const entry = { labels: ['w', 'p', '/', '200', '', 'GET'], requests: 1, bytes: 0, time: 0 };
    const logs: string[] = [];
    const first = new HistoryWriter(sink(), { source: 's', log: (l) => logs.push(l), queueDir });
    first.amended({ start: T, sign: 1, entries: [entry], totals: one(1) });
    await assert.rejects(first.flush(), /down/);
    // Failing: the write moved to disk, and what comes next goes there too.
    first.amended({ start: T + 60, sign: 1, entries: [entry, entry], totals: one(2) });
    assert.equal(readdirSync(queueDir).length, 2);
    assert.deepEqual([first.stats().queuedMinutes, first.stats().oldestQueued], [2, T]);
    await first.close(); // still failing: both stay on disk
    assert.ok(logs.some((l) => l.includes(`2 minute write(s) left in ${queueDir} at shutdown`)));
    // A torn temporary file from a crash is ignored (and removed).
    writeFileSync(join(queueDir, 'x.json.tmp'), '{');
    failing = false;
    const second = new HistoryWriter(sink(), { source: 's', log: (l) => logs.push(l), queueDir });
    assert.equal(second.stats().queuedMinutes, 2);
    await second.flush();
    assert.deepEqual(
      written.map((w) => [w.minute - T, w.entries.length]),
      [
        [0, 1],
        [60, 2],
      ],
    );
    assert.deepEqual(readdirSync(queueDir), []);
    assert.equal(second.stats().queuedMinutes, 0);
    await second.close();
  });

  it('the disk queue drops its oldest minutes beyond its size', async () => {
    const queueDir = join(dir, 'small');
    const sink: HistorySink = {
      description: 'test:',
      write: async () => {
        throw new Error('down');
      },
      topN: async () => [],
      trend: async () => [],
      expire: async () => {},
      close: async () => {},
    };
    const w = new HistoryWriter(sink, { source: 's', log: () => {}, queueDir, maxQueueBytes: 500 });
    const entry = { labels: ['w', 'p', '/', '200', '', 'GET'], requests: 1, bytes: 0, time: 0 };
    w.amended({ start: T, sign: 1, entries: [entry], totals: one(1) });
    await assert.rejects(w.flush());
    for (let m = 1; m < 6; m++) w.amended({ start: T + m * 60, sign: 1, entries: [entry], totals: one(1) });
    const st = w.stats();
    assert.ok(st.droppedMinutes >= 1);
    assert.equal(st.queuedMinutes + st.droppedMinutes, 6);
    assert.equal(st.oldestQueued, T + st.droppedMinutes * 60);
    await w.close();
  });
});
