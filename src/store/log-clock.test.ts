import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Amendment } from './merged-store.ts';
import { transferList } from './release.ts';
import { ownState, Store } from './store.ts';

const MIN = 60;
/** A minute and a five-minute boundary; the clock starts 20 s into it. */
const T0 = 1_795_000_200;

function store(now: number) {
  const c = { t: now };
  const s = new Store({ now: () => c.t });
  return { s, c };
}

const line = (s: Store, at: number, uri = '/a', addr = '192.0.2.1') =>
  s.add('a.example', addr, uri, 200, '', 'GET', 10, 0.5, at);

/** Requests per bucket start over a window's trend, without empty buckets. */
function perBucket(s: Store, window: '60m' | '24h' | '6h'): Record<number, number> {
  const out: Record<number, number> = {};
  for (const p of s.trend(window)) if (p.requests > 0) out[p.start] = p.requests;
  return out;
}

describe('Store: lines counted in the minute of their own time', () => {
  it('a backfill into a new store lands in each line’s minute (fine ring) and five minutes (coarse ring)', () => {
    const now = T0 + 7200 + 20;
    const { s } = store(now);
    // Two hours of lines, in log order: i lines in minute i (mod 7) + 1.
    const want60: Record<number, number> = {};
    const want24: Record<number, number> = {};
    let total = 0;
    for (let m = T0; m < T0 + 7200; m += MIN) {
      const n = ((m / MIN) % 7) + 1;
      for (let i = 0; i < n; i++) assert.equal(line(s, m + i, `/u${i}`), 'counted');
      total += n;
      if (m >= T0 + 3600) want60[m] = n;
      const p = Math.floor(m / 300) * 300;
      want24[p] = (want24[p] ?? 0) + n;
    }
    assert.deepEqual(perBucket(s, '60m'), want60);
    // The 24h window: five-minute buckets for completed periods, then the fine minutes after.
    const got24 = perBucket(s, '24h');
    assert.deepEqual(got24, want24);
    const sum = (o: Record<number, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    assert.equal(sum(got24), total);
    assert.equal(s.stats().late, total);
    assert.equal(s.stats().tooOld, 0);
    // Rings stay contiguous: 60 minutes, and 24 five-minute buckets for the two hours.
    const st = s.stats();
    assert.equal(st.fineBuckets, 60);
    assert.equal(st.coarseBuckets, 24);
    assert.equal(
      s.topN({ groupBy: 'uri', window: '24h', n: 1 })[0]?.requests,
      120, // '/u0': one line a minute for 120 minutes
    );
  });

  it('a late line for a sealed minute amends it and its folded five-minute bucket; the live minute is untouched', () => {
    const { s, c } = store(T0 + 20);
    line(s, T0 + 20);
    c.t = T0 + 400; // T0 and T0+60.. sealed; the period [T0, T0+300) folded
    line(s, T0 + 401);
    assert.equal(line(s, T0 + 30), 'counted');
    assert.equal(line(s, T0 + 250), 'counted');
    assert.deepEqual(perBucket(s, '60m'), { [T0]: 2, [T0 + 240]: 1, [T0 + 360]: 1 });
    assert.deepEqual(perBucket(s, '24h'), { [T0]: 3, [T0 + 360]: 1 });
    assert.equal(s.topN({ groupBy: 'website', window: '1m', n: 1 })[0]?.requests, 1);
  });

  it('a line ahead of the clock, or without a time, counts in the current minute', () => {
    const { s } = store(T0 + 20);
    line(s, T0 + 9999);
    line(s, Number.NaN);
    assert.deepEqual(perBucket(s, '60m'), { [T0]: 2 });
  });

  it('a line older than the coarse ring is in the totals only', () => {
    const { s } = store(T0 + 20);
    assert.equal(line(s, T0 - 86_400 - 300), 'old');
    assert.equal(line(s, T0 - 86_400 + 300), 'counted');
    assert.equal(s.stats().tooOld, 1);
    assert.equal(
      s.trend('24h').reduce((a, p) => a + p.requests, 0),
      1,
    );
  });

  it('tells subscribers what late lines added, with the minute’s change counter', () => {
    const { s, c } = store(T0 + 20);
    line(s, T0 + 20);
    c.t = T0 + 130;
    line(s, T0 + 130);
    const seen: Amendment[] = [];
    s.onAmend((a) => seen.push(a));
    const before = s.version(T0);
    line(s, T0 + 50, '/late');
    line(s, T0 + 51, '/late');
    s.flushLate();
    assert.equal(seen.length, 1);
    const a = seen[0] as Amendment;
    assert.equal(a.start, T0);
    assert.equal(a.sign, 1);
    assert.deepEqual(a.totals, { requests: 2, bytes: 20, time: 1 });
    assert.deepEqual(
      a.entries.map((e) => [e.labels, e.requests]),
      [[['a.example', '192.0.2.0/24', '/late', '200', '', 'GET'], 2]],
    );
    assert.ok(a.version > before);
    assert.equal(s.version(T0), a.version);
  });

  it('lines interleaved over more minutes than late tables are all counted', () => {
    const { s } = store(T0 + 3000);
    for (let r = 0; r < 3; r++) for (let m = 0; m < 10; m++) line(s, T0 + m * MIN + r, `/m${m}`);
    const got = perBucket(s, '60m');
    for (let m = 0; m < 10; m++) assert.equal(got[T0 + m * MIN], 3, `minute ${m}`);
  });

  it('a state exported with late lines pending restores them', () => {
    const { s } = store(T0 + 600);
    line(s, T0 + 10);
    line(s, T0 + 70);
    const state = s.exportState();
    const r = new Store({ now: () => T0 + 600 });
    r.importState(state);
    assert.deepEqual(perBucket(r, '60m'), { [T0]: 1, [T0 + 60]: 1 });
  });
});

describe('Store.absorb: the counts of a store that counted other lines', () => {
  it('two stores, each counting half of a three-hour log, merged equal one store that counted it all', () => {
    const now = T0 + 3 * 3600 + 20;
    const whole = store(now).s;
    const first = store(now).s;
    // A worker's store: lines of a minute in one bucket only.
    const second = new Store({ now: () => now, fold: false });
    const topOf = (s: Store) =>
      s.topN({ groupBy: 'uri', window: '24h', n: 50 }).map((e) => [e.label, e.requests, e.bytes]);
    let i = 0;
    // Three hours of lines (older than the fine ring, and within it) and a few in the current minute.
    for (let t = T0; t < now; t += 7) {
      const uri = `/u${t % 13}`;
      const addr = `192.0.2.${t % 5}`;
      whole.add('a.example', addr, uri, 200 + (t % 3), '', 'GET', 10, 0.5, t);
      (i++ % 2 === 0 ? first : second).add('a.example', addr, uri, 200 + (t % 3), '', 'GET', 10, 0.5, t);
    }
    // The second half read from another place: its stats are added too.
    second.add('a.example', 'not an address', '/x', 200, '', 'GET', 1, 0, now);
    first.absorb(second.exportState(), second.stats());
    assert.deepEqual(perBucket(first, '60m'), perBucket(whole, '60m'));
    assert.deepEqual(perBucket(first, '24h'), perBucket(whole, '24h'));
    assert.deepEqual(topOf(first), topOf(whole));
    assert.equal(first.stats().added, whole.stats().added);
    assert.equal(first.stats().malformed, 1);
  });
});

describe('Store.absorb: a minute this store has no lines of is taken as the other store sealed it', () => {
  it('the same counts and top keys as counting its lines, folded into its period, sent as an amendment', () => {
    const now = T0 + 1200 + 20;
    // Three keys a minute: the minute of five URIs is cut (the rest in coarser keys), in each store alike.
    const keep = (fold = true) => new Store({ now: () => now, fold, fineKeep: 3 });
    const [whole, main, worker] = [keep(), keep(), keep(false)];
    // A minute main has lines of (merged as late lines), and two it has none of (installed).
    const lines: [number, string][] = [];
    for (let i = 0; i < 40; i++) lines.push([T0 + 60 + (i % 3), `/u${i % 2}`]);
    for (let i = 0; i < 30; i++) lines.push([T0 + 360 + i, `/v${i % 5}`]);
    for (let i = 0; i < 20; i++) lines.push([T0 + 420 + i, `/w${i % 2}`]);
    line(main, T0 + 61, '/mine');
    line(whole, T0 + 61, '/mine');
    for (const [t, uri] of lines) {
      line(whole, t, uri);
      line(worker, t, uri);
    }
    main.flushLate(); // its own late line's amendment, before the worker's
    const sent: Amendment[] = [];
    main.onAmend((a) => sent.push(a));
    main.absorb(worker.exportState(), worker.stats());
    assert.deepEqual(perBucket(main, '60m'), perBucket(whole, '60m'));
    assert.deepEqual(perBucket(main, '24h'), perBucket(whole, '24h'));
    const top = (s: Store, window: '60m') =>
      s.topN({ groupBy: 'uri', window, n: 20 }).map((e) => [e.label, e.requests]);
    assert.deepEqual(top(main, '60m'), top(whole, '60m'));
    // One amendment per minute of the worker, each with that minute's lines.
    assert.deepEqual(
      sent.map((a) => [
        a.start - T0,
        a.span,
        a.totals.requests,
        a.entries.reduce((n, e) => n + e.requests, 0),
      ]),
      [
        [60, 60, 40, 40],
        [360, 60, 30, 30],
        [420, 60, 20, 20],
      ],
    );
  });
});

describe('Store.absorb of an owned state (moved from a worker thread)', () => {
  it('keeps the columns of a minute it installs (ids mapped in place), with the counts of its lines', () => {
    const now = T0 + 1200 + 20;
    const [whole, main, worker] = [
      new Store({ now: () => now }),
      new Store({ now: () => now }),
      new Store({ now: () => now, fold: false }),
    ];
    line(main, T0 + 61, '/mine');
    line(whole, T0 + 61, '/mine');
    for (let i = 0; i < 30; i++) {
      for (const s of [whole, worker]) {
        line(s, T0 + 61 + i, `/u${i % 3}`); // merged into main's minute as late lines
        line(s, T0 + 360 + i, `/v${i % 5}`); // installed
      }
    }
    main.flushLate();
    // Moved as a worker thread posts it: its buffers transferred.
    const exported = worker.exportState();
    const state = structuredClone(exported, { transfer: transferList(exported) });
    const theirs = state.fine.find((b) => b.start === T0 + 360)?.ids;
    main.absorb(ownState(state), worker.stats());
    const installed = main.rings().fine.find((b) => b.start === T0 + 360);
    assert.ok(theirs !== undefined && installed?.ids === theirs, 'the same array, not a copy');
    assert.deepEqual(perBucket(main, '60m'), perBucket(whole, '60m'));
    assert.deepEqual(perBucket(main, '24h'), perBucket(whole, '24h'));
    const top = (s: Store) =>
      s.topN({ groupBy: 'uri', window: '60m', n: 20 }).map((e) => [e.label, e.requests]);
    assert.deepEqual(top(main), top(whole));
  });
});

describe('Store.absorb when a listener throws', () => {
  it('lets go of the values it mapped: none is held for good', () => {
    const c = { t: T0 + 620 };
    const worker = new Store({ now: () => c.t, fold: false });
    const main = new Store({ now: () => c.t });
    for (let i = 0; i < 50; i++) line(worker, T0 + 60 + i, `/x${i}`);
    let calls = 0;
    main.onAmend(() => {
      if (calls++ === 0) throw new Error('subscriber failed');
    });
    assert.throws(() => main.absorb(ownState(worker.exportState()), worker.stats()), /subscriber failed/);
    // A day later every minute left both rings: only the empty value and "(other)" are left.
    for (let m = 0; m < 26 * 60; m++) {
      c.t += 60;
      main.tick();
    }
    assert.equal(main.stats().internedValues.uri, 2);
  });
});

describe('Store.absorb: a minute of more keys than a late table holds', () => {
  it('is counted as its lines would be (the lightest pushed out to residuals), not taken whole', () => {
    const now = T0 + 130;
    const opts = { now: () => now, liveCap: 2, fineKeep: 5 };
    const worker = new Store({ ...opts, fold: false });
    const main = new Store(opts);
    // The worker's minute T0 + 60 ends with 4 keys: two sealed, then two late lines merged in.
    for (const uri of ['/a', '/b']) line(worker, T0 + 65, uri);
    worker.flushLate();
    for (const uri of ['/c', '/d']) line(worker, T0 + 65, uri);
    worker.flushLate();
    main.absorb(worker.exportState(), worker.stats());
    assert.equal(main.stats().droppedKeys, 2);
    const top = main.topN({ groupBy: 'uri', window: '60m', n: 10 });
    assert.deepEqual(
      top.map((e) => e.requests),
      [1, 1, 2],
    );
    assert.deepEqual(perBucket(main, '60m'), { [T0 + 60]: 4 });
  });
});

describe('Store({ fold: false }): each line in one bucket', () => {
  it('a minute leaving the fine ring goes to its five-minute bucket; absorbed, it counts once', () => {
    const c = { t: T0 + 20 };
    const worker = new Store({ now: () => c.t, fold: false });
    const whole = new Store({ now: () => c.t });
    for (let i = 0; i < 30; i++) {
      line(worker, Number.NaN, `/u${i % 4}`);
      line(whole, Number.NaN, `/u${i % 4}`);
    }
    // 90 minutes later, minute by minute: the first minute left the worker's fine ring.
    for (let m = 1; m <= 90; m++) {
      c.t = T0 + 20 + m * MIN;
      worker.tick();
      whole.tick();
    }
    const main = new Store({ now: () => c.t });
    main.absorb(worker.exportState(), worker.stats());
    assert.deepEqual(perBucket(main, '24h'), perBucket(whole, '24h'));
    assert.deepEqual(perBucket(main, '24h'), { [T0]: 30 });
    assert.deepEqual(
      main.topN({ groupBy: 'uri', window: '24h', n: 10 }).map((e) => [e.label, e.requests]),
      whole.topN({ groupBy: 'uri', window: '24h', n: 10 }).map((e) => [e.label, e.requests]),
    );
  });
});

describe('Store({ fold: false }) over time', () => {
  it('takes a five-minute bucket after the end of its ring (its clock moved on)', () => {
    const c = { t: T0 + 10 };
    const s = new Store({ now: () => c.t, fold: false });
    line(s, T0 - 7200);
    s.flushLate();
    c.t = T0 + 10 + 70 * MIN;
    line(s, c.t - 65 * MIN);
    s.flushLate();
    const main = new Store({ now: () => c.t });
    main.absorb(s.exportState(), s.stats());
    assert.deepEqual(perBucket(main, '24h'), {
      [Math.floor((T0 - 7200) / 300) * 300]: 1,
      [Math.floor((c.t - 65 * MIN) / 300) * 300]: 1,
    });
  });
});
