import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MergedStore, type SnapshotRow } from '../store/merged-store.ts';
import { Store } from '../store/store.ts';
import type { SnapshotData } from './backend.ts';
import { bucketSnapshots } from './snapshot-stream.ts';

const T0 = 1_795_000_020; // a minute start 120 s into a 5-minute period

/** One key of a member's minute (a website and its count). */
const row = (website: string, count: number): SnapshotRow => ({
  website,
  prefix: '10.0.0.0/24',
  uri: '/',
  status: '200',
  upstream: '',
  method: 'GET',
  count,
  bytes: 0,
  time: 0,
});

/** The backfill a subscriber receives (the stream is stopped once it would wait for a new bucket). */
async function backfill(store: Store, since?: number): Promise<[number, number, number][]> {
  const ac = new AbortController();
  const got: [number, number, number][] = [];
  const stream = bucketSnapshots(store, 's', true, ac.signal, false, since);
  setTimeout(() => ac.abort(), 300); // the backfill is sent at once; then the stream waits
  for await (const s of stream) got.push([s.start - T0, s.span, s.totalRequests]);
  return got;
}

describe('snapshot stream backfill', () => {
  it('sends the 5-minute buckets before the fine ring, then the fine ring; with since, only what ends after it', async () => {
    const clock = { t: T0 };
    const store = new Store({ now: () => clock.t });
    for (let m = 0; m < 70; m++) {
      store.add('w', '10.0.0.1', '/', 200, '', 'GET', 1, 0);
      clock.t += 60;
      store.tick();
    }
    const all = await backfill(store);
    // 70 minutes: the fine ring holds the last 60 (from +600 s); the periods starting before it
    // come from the coarse ring (the one at +480 s overlaps the fine ring's first minutes).
    assert.deepEqual(
      all.filter((x) => x[1] === 300).map((x) => x[0]),
      [-120, 180, 480],
    );
    assert.equal(all.filter((x) => x[1] === 60).length, 60);
    assert.equal(all.find((x) => x[1] === 60)?.[0], 600);
    const since = T0 + 65 * 60;
    assert.deepEqual(await backfill(store, since), [
      [65 * 60, 60, 1],
      [66 * 60, 60, 1],
      [67 * 60, 60, 1],
      [68 * 60, 60, 1],
      [69 * 60, 60, 1],
    ]);
  });

  it('forwards late data for a published minute as an amendment, once', async () => {
    const T = 1_795_000_200;
    const store = new MergedStore({ now: () => (T + 600) * 1000, settleMs: 0 });
    const one = (n: number) => ({ requests: n, bytes: 0, time: 0 });
    const ac = new AbortController();
    const it = bucketSnapshots(store, 'mid', false, ac.signal)[Symbol.asyncIterator]();
    const first = it.next();
    store.add('a', T, 60, [row('a.test', 2)], one(2));
    store.seal(['a']); // published
    store.add('b', T, 60, [row('b.test', 3)], one(3)); // late, before the subscriber read the minute
    const got = { value: (await first).value as SnapshotData };
    // The minute is sent as held: with b's counts, so b's amendment is not sent again.
    assert.deepEqual(got.value.entries.map((e) => [e.labels[0], e.requests]).sort(), [
      ['a.test', 2],
      ['b.test', 3],
    ]);
    const second = it.next();
    store.add('c', T, 60, [row('c.test', 4)], one(4)); // late, after
    const amendment = (await second).value as SnapshotData;
    assert.equal(amendment.amend, true);
    assert.deepEqual(
      amendment.entries.map((e) => [e.labels[0], e.requests]),
      [['c.test', 4]],
    );
    assert.equal(amendment.totalRequests, 4);
    // The receiving side adds it to the minute it has.
    const top = new MergedStore({ now: () => (T + 600) * 1000 });
    const rows = (d: SnapshotData) => d.entries.map((e) => row(e.labels[0] as string, e.requests));
    assert.equal(top.amend('mid', T, rows(amendment), one(4)), 'invalid'); // a minute it never sent
    top.add('mid', T, 60, rows(got.value), one(5));
    assert.equal(top.amend('mid', T, rows(amendment), one(4)), 'added');
    assert.deepEqual(
      top.topN({ groupBy: 'website', window: '1m', n: 5 }).map((e) => [e.label, e.requests]),
      [
        ['c.test', 4],
        ['b.test', 3],
        ['a.test', 2],
      ],
    );
    assert.equal(top.trend('1m')[0]?.requests, 9);
    ac.abort();
    await it.return?.();
  });

  describe('an aggregator of aggregators stays equal to a flat one', () => {
    const T = 1_795_000_200;
    const now = () => (T + 3 * 3600) * 1000;
    const M = T + 3 * 3600 - 120;
    const add = (st: MergedStore, m: string, start: number, site: string, n: number) =>
      st.add(m, start, 60, [row(site, n)], { requests: n, bytes: 0, time: 0 });
    const total = (st: MergedStore) => st.trend('24h').reduce((n, p) => n + p.requests, 0);
    const tick = () => new Promise((r) => setTimeout(r, 5));
    /** Feeds `lower`'s stream into `upper` as member 'L', as the aggregator does. */
    function pipe(lower: MergedStore, upper: MergedStore) {
      const ac = new AbortController();
      const done = (async () => {
        for await (const x of bucketSnapshots(lower, 'L', true, ac.signal)) {
          const rows = x.entries.map((e) => row(e.labels[0] as string, e.requests));
          const t = { requests: x.totalRequests, bytes: 0, time: 0 };
          if (x.amend) upper.amend('L', x.start, rows, t, x.subtract ? -1 : 1);
          else upper.add('L', x.start, x.span, rows, t);
          upper.seal(['L']);
        }
      })();
      return async () => {
        ac.abort();
        await done;
      };
    }

    it('a collector withdrawn and back: the upper subtracts and adds as the lower does', async () => {
      const lower = new MergedStore({ now });
      const upper = new MergedStore({ now });
      const stop = pipe(lower, upper);
      await tick();
      add(lower, 'c1', M, 'x', 10);
      add(lower, 'c2', M, 'y', 5);
      lower.seal(['c1', 'c2']);
      await tick();
      assert.deepEqual([total(lower), total(upper)], [15, 15]);
      lower.withdraw('c1');
      lower.seal(['c2']);
      await tick();
      assert.deepEqual([total(lower), total(upper)], [5, 5]);
      add(lower, 'c1', M, 'x', 10); // back, its minute re-sent
      lower.seal(['c1', 'c2']);
      await tick();
      assert.deepEqual([total(lower), total(upper)], [15, 15]);
      // The upper withdraws the lower's last minute with its amendments, and takes it back once.
      upper.withdraw('L');
      assert.equal(total(upper), 0);
      await stop();
    });

    it('a minute sealed but not yet published is not in a backfill; one opened behind a published minute goes out as amendments', async () => {
      const lower = new MergedStore({ now, settleMs: 60_000 });
      add(lower, 'c1', M, 'x', 10);
      lower.seal(['c1', 'c2']); // waits for c2
      add(lower, 'c1', M + 60, 'x', 1);
      add(lower, 'c3', M + 120 - 60 * 60, 'old', 1); // nearly an hour old: sealed at once
      assert.deepEqual(
        lower.rings().fine.map((b) => b.start),
        [],
      );
      const upper = new MergedStore({ now });
      const stop = pipe(lower, upper);
      await tick();
      add(lower, 'c2', M, 'y', 5); // M complete: published
      lower.seal(['c1', 'c2']);
      await tick();
      add(lower, 'c4', M - 60, 'z', 3); // a minute nobody had: opened behind M
      lower.seal(['c1', 'c2']);
      await tick();
      assert.equal(total(lower), 20);
      assert.equal(total(upper), 19); // all but M+60, still open for c2
      await stop();
    });
  });
});
