/**
 * Sums by website and by status stay exact at every cut: keys pushed out of a full minute
 * (Space-Saving) and keys cut at a bucket's top K go to residuals (website, status), in a
 * collector's store and in an aggregator's merged store, for every window. Expected sums are
 * counted independently from the lines, over the ranges the Trend points cover.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bucket } from './bucket.ts';
import { D, type Dimension, MAX_RESIDUALS, OTHER, OTHER_TEXT } from './dimensions.ts';
import type { Filter } from './filter.ts';
import { MergedStore, type SnapshotRow } from './merged-store.ts';
import { Store } from './store.ts';
import { TupleTable } from './tuple-table.ts';
import { WINDOWS, type Window } from './windows.ts';

interface Line {
  at: number;
  website: string;
  uri: string;
  status: number;
  bytes: number;
}

const T0 = 1_795_000_020 - (1_795_000_020 % 3600);

/** Two and a half hours of lines: 40 websites, 6 statuses, a long tail of URIs (skewed). */
function lines(seed: number): Line[] {
  let x = seed;
  const rand = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 4294967296;
  };
  const out: Line[] = [];
  for (let m = 0; m < 150; m++) {
    const n = 300 + Math.floor(rand() * 400);
    for (let i = 0; i < n; i++) {
      const r = rand();
      out.push({
        at: T0 + m * 60 + Math.floor(rand() * 60),
        website: `w${Math.floor(r * r * 40)}.example`,
        uri: `/p/${Math.floor(rand() ** 3 * 5000)}`,
        status: [200, 200, 200, 304, 404, 500][Math.floor(rand() * 6)] as number,
        bytes: 1 + Math.floor(rand() * 1000),
      });
    }
  }
  return out;
}

/** Requests and bytes by a dimension's label, over the lines inside the points' ranges. */
function expected(
  ls: readonly Line[],
  ranges: readonly { start: number; span: number }[],
  by: 'website' | 'status',
) {
  const inRange = (at: number) => ranges.some((p) => at >= p.start && at < p.start + p.span);
  const m = new Map<string, [number, number]>();
  for (const l of ls) {
    if (!inRange(l.at)) continue;
    const k = String(l[by]);
    const v = m.get(k) ?? [0, 0];
    v[0]++;
    v[1] += l.bytes;
    m.set(k, v);
  }
  return [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

interface Queryable {
  topN(q: {
    groupBy: Dimension;
    window: Window;
    n: number;
    filter?: Filter;
  }): { label: string; requests: number; bytes: number }[];
  trend(w: Window): { start: number; span: number; requests: number }[];
}

function actual(s: Queryable, w: Window, by: 'website' | 'status') {
  const top = s.topN({ groupBy: by, window: w, n: 100_000 });
  assert.ok(!top.some((e) => e.label === OTHER_TEXT), `${w} by ${by}: no "other" entry`);
  return top
    .map((e) => [e.label, [e.requests, e.bytes]])
    .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
}

function checkEveryWindow(s: Queryable, ls: readonly Line[], what: string): void {
  for (const w of WINDOWS) {
    const points = s.trend(w).filter((p) => p.requests > 0);
    const total = points.reduce((n, p) => n + p.requests, 0);
    for (const by of ['website', 'status'] as const) {
      assert.deepEqual(actual(s, w, by), expected(ls, points, by), `${what}: ${w} by ${by}`);
    }
    // Residuals keep the method (and upstream): every line is a GET.
    assert.deepEqual(
      s.topN({ groupBy: 'method', window: w, n: 10 }).map((e) => [e.label, e.requests]),
      [['GET', total]],
      `${what}: ${w} by method`,
    );
    // A regular expression and its negation add up to the whole (residuals: kept by the negation).
    const sum = (neg: boolean) =>
      s
        .topN({ groupBy: 'status', window: w, n: 10, filter: { uriRe: '^/p/1', uriReNegate: neg } })
        .reduce((n, e) => n + e.requests, 0);
    assert.equal(sum(false) + sum(true), total, `${what}: ${w} uri regex and its negation`);
  }
}

function rowsOf(s: Store | MergedStore, b: Bucket): SnapshotRow[] {
  return [...s.entries(b)].map((e) => ({
    website: e.labels[0] as string,
    prefix: e.labels[1] as string,
    uri: e.labels[2] as string,
    status: e.labels[3] as string,
    upstream: e.labels[4] as string,
    method: e.labels[5] as string,
    count: e.requests,
    bytes: e.bytes,
    time: e.time,
  }));
}

/** A snapshot row of website `w`, status 200, GET: `count` requests and as many bytes. */
function snapshotRow(prefix: string, uri: string, count: number): SnapshotRow {
  return {
    website: 'w',
    prefix,
    uri,
    status: '200',
    upstream: '',
    method: 'GET',
    count,
    bytes: count,
    time: 0,
  };
}

const totalsOf = (n: number) => ({ requests: n, bytes: n, time: 0 });

/** After withdrawals: the last minute's total and its sums by website ("w"), requests and bytes equal `n`. */
function assertLeft(m: MergedStore, n: number, message?: string): void {
  assert.equal(m.trend('1m').at(-1)?.requests, n, message);
  assert.deepEqual(
    m.topN({ groupBy: 'website', window: '1m', n: 10 }).map((e) => [e.label, e.requests, e.bytes]),
    [['w', n, n]],
    message,
  );
}

describe('residuals: sums by website and status are exact at every cut', () => {
  const ls = lines(42);
  // Small caps: every minute's table overflows (Space-Saving), every seal cuts, every fold cuts.
  const caps = { liveCap: 120, fineKeep: 40, coarseKeep: 25 };

  it('a store, lines in order (pushed out of the live minute, cut at seal and at the five-minute fold)', () => {
    const clock = { t: T0 };
    const s = new Store({ ...caps, now: () => clock.t });
    for (const l of ls) {
      clock.t = l.at;
      s.add(l.website, '10.0.0.1', l.uri, l.status, '', 'GET', l.bytes, 0.001);
    }
    clock.t = T0 + 150 * 60 + 1;
    const st = s.stats();
    assert.ok(st.droppedKeys > 10_000, `keys pushed out: ${st.droppedKeys}`);
    checkEveryWindow(s, ls, 'store');
    // Grouped by URI, the keys not kept are one "other" entry; the whole still adds up.
    const byUri = s.topN({ groupBy: 'uri', window: '24h', n: 100_000 });
    assert.ok(byUri.some((e) => e.label === OTHER_TEXT));
    assert.equal(
      byUri.reduce((n, e) => n + e.requests, 0),
      ls.length,
    );
  });

  it('a store counting a backlog by the lines’ own time (late tables, their merges)', () => {
    const s = new Store({ ...caps, now: () => T0 + 150 * 60 + 1 });
    for (const l of ls) s.add(l.website, '10.0.0.1', l.uri, l.status, '', 'GET', l.bytes, 0.001, l.at);
    checkEveryWindow(s, ls, 'backlog');
  });

  it('an aggregator merging two collectors (open minutes at their cap, sealed and folded with cuts)', () => {
    const clock = { t: T0 };
    const a = new Store({ ...caps, now: () => clock.t });
    const b = new Store({ ...caps, now: () => clock.t });
    const m = new MergedStore({ fineKeep: 40, coarseKeep: 25, openCap: 60, now: () => (clock.t + 1) * 1000 });
    const send = (name: string, s: Store) => (bucket: Bucket) => {
      const totals = { requests: bucket.totalRequests, bytes: bucket.totalBytes, time: bucket.totalTime };
      assert.equal(m.add(name, bucket.start, bucket.span, rowsOf(s, bucket), totals), 'added');
    };
    a.onSeal(send('a', a));
    b.onSeal(send('b', b));
    ls.forEach((l, i) => {
      if (l.at >= clock.t + 60 - (clock.t % 60)) m.seal(['a', 'b']);
      clock.t = l.at;
      (i % 2 === 0 ? a : b).add(l.website, '10.0.0.1', l.uri, l.status, '', 'GET', l.bytes, 0.001);
    });
    clock.t = T0 + 150 * 60 + 1;
    a.tick();
    b.tick();
    m.seal(['a', 'b']);
    assert.ok(m.droppedKeys > 0, 'open minutes reached their cap');
    checkEveryWindow(m, ls, 'aggregator');
  });

  it('a flood of distinct websites cannot grow a minute past its cap and the residual bound', () => {
    const s = new Store({ liveCap: 1000, now: () => T0 + 10 });
    for (let i = 0; i < 50_000; i++)
      s.add(`h${i}.example`, '10.0.0.1', `/${i}`, 200 + (i % 3), '', `M${i % 7}`, 1, 0);
    const st = s.stats();
    assert.ok(st.liveKeys <= 1000 + 3 * MAX_RESIDUALS + 1, `live keys ${st.liveKeys}`);
    assert.deepEqual(
      s.topN({ groupBy: 'status', window: '1m', n: 10 }).map((e) => [e.label, e.requests]),
      [
        ['200', 16_667],
        ['201', 16_667],
        ['202', 16_666],
      ],
    );
    assert.equal(
      s.topN({ groupBy: 'website', window: '1m', n: 100_000 }).reduce((n, e) => n + e.requests, 0),
      50_000,
    );
  });

  it('sums by website stay exact up to MAX_RESIDUALS (website, status) pairs a bucket; by status past it', () => {
    const clock = { t: T0 };
    const s = new Store({ ...caps, now: () => clock.t });
    const pairs = (sites: number, statuses: number) => {
      for (let m = 0; m < 10; m++) {
        for (let i = 0; i < sites * statuses; i++) {
          clock.t = T0 + m * 60 + 1;
          s.add(`w${i % sites}`, '10.0.0.1', `/${i}`, 200 + Math.floor(i / sites), '', 'GET', 1, 0);
        }
      }
      clock.t = T0 + 10 * 60 + 1;
    };
    pairs(2500, 3); // 7 500 pairs a bucket: under the bound
    const sites = s.topN({ groupBy: 'website', window: '24h', n: 100_000 });
    assert.equal(sites.length, 2500);
    assert.ok(sites.every((e) => e.requests === 30 && e.label !== OTHER_TEXT));
    const t = { t: T0 };
    const s2 = new Store({ ...caps, now: () => t.t });
    for (let m = 0; m < 10; m++)
      for (let i = 0; i < 9000; i++) {
        t.t = T0 + m * 60 + 1;
        s2.add(`w${i % 3000}`, '10.0.0.1', `/${i}`, 200 + Math.floor(i / 3000), '', 'GET', 1, 0);
      }
    t.t = T0 + 10 * 60 + 1;
    // 9 000 pairs: the lightest lose their website, never their status; totals whole.
    assert.deepEqual(
      s2.topN({ groupBy: 'status', window: '24h', n: 10 }).map((e) => [e.label, e.requests]),
      [
        ['200', 30_000],
        ['201', 30_000],
        ['202', 30_000],
      ],
    );
    const bySite = s2.topN({ groupBy: 'website', window: '24h', n: 100_000 });
    assert.equal(
      bySite.reduce((n, e) => n + e.requests, 0),
      90_000,
    );
    // The heaviest MAX_RESIDUALS - 3 pairs keep their website (3 residuals by status take the rest).
    const whole = bySite.filter((e) => e.label !== OTHER_TEXT && e.requests === 30).length;
    assert.ok(whole >= 3000 - (9000 - (MAX_RESIDUALS - 3)), `${whole} websites whole`);
    assert.ok(bySite.some((e) => e.label === OTHER_TEXT));
  });

  it('an aggregator withdrawing a member subtracts what its key no longer holds from the residual', () => {
    const M = T0;
    const m = new MergedStore({ fineKeep: 1, coarseKeep: 1, now: () => (M + 61) * 1000, graceMs: 0 });
    const row = (uri: string, count: number) => snapshotRow('10.0.0.0/24', uri, count);
    m.add('A', M, 60, [row('/k1', 5)], totalsOf(5));
    m.add('B', M, 60, [row('/k2', 3)], totalsOf(3));
    m.add('C', M, 60, [row('/x', 1)], totalsOf(1));
    m.seal([]); // keeps /k1 (5); /k2 and /x in the residual (4)
    m.withdraw('A');
    m.amend('C', M, [row('/k2', 1)], totalsOf(1)); // resealed: /k2 1 kept, the residual 4
    m.withdraw('B'); // /k2 held 1 of B's 3: the other 2 come off the residual
    assertLeft(m, 2);
  });

  it('an aggregator withdrawing a member whose keys were folded into a coarser key subtracts them there', () => {
    const M = T0;
    const m = new MergedStore({ fineKeep: 2, coarseKeep: 2, now: () => (M + 61) * 1000, graceMs: 0 });
    const row = snapshotRow;
    // A: one client, ten URIs (folded into one key of its prefix); B: two heavy keys.
    m.add(
      'A',
      M,
      60,
      Array.from({ length: 10 }, (_, i) => row('10.0.0.0/24', `/a${i}`, 1)),
      totalsOf(10),
    );
    m.add('B', M, 60, [row('10.9.0.0/24', '/b', 6), row('10.8.0.0/24', '/c', 5)], totalsOf(11));
    m.seal([]);
    assert.deepEqual(
      m.topN({ groupBy: 'prefix', window: '1m', n: 10 }).map((e) => [e.label, e.requests]),
      [
        ['10.0.0.0/24', 10],
        ['10.9.0.0/24', 6],
        [OTHER_TEXT, 5],
      ],
    );
    m.withdraw('A');
    assertLeft(m, 11);
  });

  it('an aggregator withdrawing a member adds back the negative rows of its minute (a relayed withdrawal)', () => {
    const M = T0;
    const row = (uri: string, count: number) => snapshotRow('10.0.0.0/24', uri, count);
    for (const sealFirst of [false, true]) {
      const m = new MergedStore({ now: () => (M + 61) * 1000, graceMs: 0 });
      m.add('X', M, 60, [row('/a', 10)], totalsOf(10));
      m.add('Y', M, 60, [row('/a', 7)], totalsOf(7));
      if (sealFirst) m.seal([]);
      m.amend('X', M, [row('/a', 4)], totalsOf(4), -1); // X (an aggregator) relays a withdrawal
      m.withdraw('X'); // X's minute is now 10 - 4: Y's 7 remain
      assertLeft(m, 7, sealFirst ? 'sealed' : 'open');
    }
  });

  it('a full table of residuals only takes a new key into its residual', () => {
    const t = new TupleTable(2, 16);
    t.add(Uint32Array.from([5, OTHER, OTHER, 7, 0, 0]), 0, 3, 0, 0);
    t.add(Uint32Array.from([6, OTHER, OTHER, 7, 0, 0]), 0, 3, 0, 0);
    const k = Uint32Array.from([5, 2, 3, 7, 4, 5]);
    assert.equal(t.add(k, 0, 1, 0, 0), -1);
    assert.equal(t.replaceMin(k, 0, Float64Array.of(1, 0, 0), new Uint32Array(D), new Float64Array(3)), -1);
    const s = new Store({ liveCap: 1, now: () => T0 + 10 });
    s.add('a', '10.0.0.1', '/1', 200, '', 'GET', 1, 0);
    s.add('b', '10.0.0.1', '/2', 200, '', 'GET', 1, 0); // pushes /1 out: the table is /2 and a residual
    s.add('c', '10.0.0.1', '/3', 200, '', 'GET', 1, 0);
    assert.deepEqual(
      s.topN({ groupBy: 'website', window: '1m', n: 10 }).map((e) => [e.label, e.requests]),
      [
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ],
    );
  });

  it('a URI requested by many clients, and a client requesting many URIs, are counted whole in 6h and 24h', () => {
    const clock = { t: T0 };
    const s = new Store({ fineKeep: 40, coarseKeep: 25, now: () => clock.t });
    for (let m = 0; m < 30; m++) {
      clock.t = T0 + m * 60 + 1;
      // 20 heavy URIs, each from 50 client prefixes once a minute (1 000 keys of one request)…
      for (let u = 0; u < 20; u++)
        for (let c = 0; c < 50; c++) s.add('w', `10.1.${c}.1`, `/heavy/${u}`, 200, '', 'GET', 1, 0);
      // …a scanner asking for 300 new URIs a minute, and 500 keys of noise.
      for (let i = 0; i < 300; i++) s.add('w', '192.0.2.9', `/scan/${m}/${i}`, 404, '', 'GET', 1, 0);
      for (let i = 0; i < 500; i++) s.add('w', `10.2.${i % 250}.1`, `/n/${m}/${i}`, 200, '', 'GET', 1, 0);
    }
    clock.t = T0 + 30 * 60 + 1;
    for (const w of ['60m', '6h', '24h'] as const) {
      const uris = new Map(s.topN({ groupBy: 'uri', window: w, n: 30 }).map((e) => [e.label, e.requests]));
      for (let u = 0; u < 20; u++) assert.equal(uris.get(`/heavy/${u}`), 30 * 50, `${w} /heavy/${u}`);
      const prefixes = new Map(
        s.topN({ groupBy: 'prefix', window: w, n: 5 }).map((e) => [e.label, e.requests]),
      );
      assert.equal(prefixes.get('192.0.2.0/24'), 30 * 300, `${w} the scanner`);
      assert.equal(
        s.topN({ groupBy: 'uri', window: w, n: 100_000 }).reduce((n, e) => n + e.requests, 0),
        30 * 1800,
      );
    }
  });

  it('on a tie a whole key keeps its place; a coarser key takes one only when heavier', () => {
    const clock = { t: T0 + 1 };
    const s = new Store({ fineKeep: 5, now: () => clock.t });
    // Ten keys of one request, one client prefix: the cut five add up to 5 by that prefix, but
    // each of their coarser keys (website, prefix) has one request, as each whole key has.
    for (let i = 0; i < 10; i++) s.add(`w${i}`, '10.0.0.1', `/${i}`, 200, '', 'GET', 1, 0);
    clock.t += 60;
    const uris = s.topN({ groupBy: 'uri', window: '1m', n: 10 });
    assert.deepEqual(
      uris.map((e) => e.requests),
      [1, 1, 1, 1, 1, 5],
    );
    assert.equal(uris.at(-1)?.label, OTHER_TEXT);
  });

  it('every key with more than 1/liveCap of the minute is present, low by at most the error bound', () => {
    const clock = { t: T0 };
    const s = new Store({ liveCap: 100, now: () => clock.t });
    const truth = new Map<string, number>();
    let x = 7;
    for (let i = 0; i < 50_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      // A flood of distinct URIs, and 30 heavy ones among them.
      const heavy = x % 10 < 3;
      const uri = heavy ? `/heavy/${x % 30}` : `/flood/${i}`;
      truth.set(uri, (truth.get(uri) ?? 0) + 1);
      s.add('w', '10.0.0.1', uri, 200, '', 'GET', 1, 0);
    }
    const { maxError } = s.stats();
    assert.ok(maxError <= 50_000 / 100, `error bound ${maxError}`);
    const got = new Map(s.topN({ groupBy: 'uri', window: '1m', n: 1000 }).map((e) => [e.label, e.requests]));
    for (const [uri, n] of truth) {
      if (n <= 50_000 / 100) continue;
      const c = got.get(uri);
      assert.ok(c !== undefined, `${uri} (${n} requests) is present`);
      assert.ok(c <= n && c >= n - maxError, `${uri}: ${c} of ${n}, bound ${maxError}`);
    }
    assert.equal(
      got.get(OTHER_TEXT),
      50_000 - [...got].reduce((n, [k, v]) => (k === OTHER_TEXT ? n : n + v), 0),
    );
  });
});
