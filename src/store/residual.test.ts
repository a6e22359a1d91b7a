/**
 * Sums by website and by status stay exact at every cut: keys pushed out of a full minute
 * (Space-Saving) and keys cut at a bucket's top K go to residuals (website, status), in a
 * collector's store and in an aggregator's merged store, for every window. Expected sums are
 * counted independently from the lines, over the ranges the Trend points cover.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Bucket, MAX_RESIDUALS } from './bucket.ts';
import { type Dimension, OTHER_TEXT } from './dimensions.ts';
import type { Filter } from './filter.ts';
import { MergedStore, type SnapshotRow } from './merged-store.ts';
import { Store } from './store.ts';
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
