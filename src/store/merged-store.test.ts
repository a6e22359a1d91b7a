import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Bucket, backfillOrder } from './bucket.ts';
import { OTHER_TEXT } from './dimensions.ts';
import { MergedStore, type SnapshotRow } from './merged-store.ts';
import { Store } from './store.ts';

const T0 = 1_795_000_200; // a multiple of 300
const NOW = (T0 + 3 * 3600) * 1000;

function row(website: string, count: number, uri = '/', status = '200'): SnapshotRow {
  return {
    website,
    prefix: '10.0.0.0/24',
    uri,
    status,
    upstream: '',
    method: 'GET',
    count,
    bytes: count * 10,
    time: 0,
  };
}

function totals(rows: SnapshotRow[]) {
  return {
    requests: rows.reduce((n, r) => n + r.count, 0),
    bytes: rows.reduce((n, r) => n + r.bytes, 0),
    time: 0,
  };
}

function add(s: MergedStore, member: string, start: number, rows: SnapshotRow[], span = 60) {
  return s.add(member, start, span, rows, totals(rows));
}

const sites = (s: MergedStore, window: '1m' | '5m' | '60m' | '6h' | '24h' = '60m') =>
  s.topN({ groupBy: 'website', window, n: 10 }).map((e) => [e.label, e.requests]);

describe('MergedStore', () => {
  it('merges the members of a minute exactly while it is open, then seals it', () => {
    const s = new MergedStore({ now: () => NOW });
    const sealed: number[] = [];
    s.onSeal((b) => sealed.push(b.start));
    assert.equal(add(s, 'a', T0, [row('x', 5), row('y', 1)]), 'added');
    assert.deepEqual(s.seal(['a', 'b']), []); // b has not delivered T0
    assert.deepEqual(sites(s, '1m'), [
      ['x', 5],
      ['y', 1],
    ]);
    assert.equal(add(s, 'b', T0, [row('x', 7), row('z', 2)]), 'added');
    assert.equal(s.seal(['a', 'b']).length, 1);
    assert.deepEqual(sealed, [T0]);
    assert.deepEqual(sites(s, '1m'), [
      ['x', 12],
      ['z', 2],
      ['y', 1],
    ]);
    assert.deepEqual(
      s.trend('5m').map((p) => [p.start, p.requests, p.bytes]),
      [[T0, 15, 150]],
    );
  });

  it('keeps only the top keys of a sealed minute, with exact totals', () => {
    const s = new MergedStore({ now: () => NOW, fineKeep: 2 });
    add(s, 'a', T0, [row('x', 5), row('y', 1)]);
    add(s, 'b', T0, [row('y', 3), row('z', 2)]);
    s.seal([]);
    // z was cut: its count is in its residual (z, status), so the sum by website stays exact.
    assert.deepEqual(sites(s, '1m'), [
      ['x', 5],
      ['y', 4],
      ['z', 2],
    ]);
    const b = s.buckets('1m')[0] as Bucket;
    assert.deepEqual(
      [...s.entries(b)].map((e) => [e.labels[0], e.labels[2], e.requests]),
      [
        ['x', '/', 5],
        ['y', '/', 4],
        ['z', OTHER_TEXT, 2],
      ],
    );
    assert.equal(s.trend('1m')[0]?.requests, 11);
  });

  it('refuses duplicates per member, misaligned or unknown spans, and far-future buckets', () => {
    const s = new MergedStore({ now: () => NOW });
    assert.equal(add(s, 'a', T0, [row('x', 1)]), 'added');
    assert.equal(add(s, 'a', T0, [row('x', 1)]), 'duplicate');
    assert.equal(add(s, 'a', T0 - 60, [row('x', 1)]), 'duplicate');
    assert.equal(add(s, 'b', T0, [row('x', 1)]), 'added');
    assert.equal(add(s, 'a', T0 + 61, [row('x', 1)]), 'invalid');
    assert.equal(add(s, 'a', T0 + 60, [row('x', 1)], 120), 'invalid');
    assert.equal(add(s, 'a', NOW / 1000 + 3600 - ((NOW / 1000) % 60), [row('x', 1)]), 'future');
    assert.deepEqual(sites(s), [['x', 2]]);
  });

  it('a late bucket for a sealed minute joins it (and its folded period)', () => {
    const s = new MergedStore({ now: () => NOW });
    for (let m = 0; m < 5; m++) add(s, 'a', T0 + m * 60, [row('x', 1)]);
    s.seal(['a']);
    // The period [T0, T0+300) is folded: 24h reads it from the coarse ring.
    assert.deepEqual(sites(s, '24h'), [['x', 5]]);
    assert.equal(add(s, 'b', T0 + 60, [row('late', 4)]), 'added');
    s.seal(['a', 'b']);
    assert.deepEqual(sites(s, '24h'), [
      ['x', 5],
      ['late', 4],
    ]);
    assert.deepEqual(sites(s, '60m'), [
      ['x', 5],
      ['late', 4],
    ]);
  });

  it('withdraws a failed member’s last minute, open or sealed, and takes it again when resent', () => {
    const s = new MergedStore({ now: () => NOW });
    for (let m = 0; m < 5; m++) add(s, 'a', T0 + m * 60, [row('a', 1)]);
    add(s, 'b', T0 + 180, [row('b-old', 2)]);
    add(s, 'b', T0 + 240, [row('b', 3), row('a', 1)]);
    s.seal(['a', 'b']); // all sealed; the period is folded
    assert.deepEqual(sites(s, '24h'), [
      ['a', 6],
      ['b', 3],
      ['b-old', 2],
    ]);
    assert.equal(s.withdraw('b'), T0 + 240);
    // Its last minute is gone from every window; its older minute is history and stays.
    assert.deepEqual(sites(s, '24h'), [
      ['a', 5],
      ['b-old', 2],
    ]);
    assert.deepEqual(sites(s, '60m'), [
      ['a', 5],
      ['b-old', 2],
    ]);
    assert.equal(s.trend('60m').find((p) => p.start === T0 + 240)?.requests, 1);
    assert.equal(s.withdraw('b'), undefined);
    // Reintegration: the resent minute is accepted again, once.
    assert.equal(add(s, 'b', T0 + 180, [row('b-old', 2)]), 'duplicate');
    assert.equal(add(s, 'b', T0 + 240, [row('b', 3), row('a', 1)]), 'added');
    assert.equal(add(s, 'b', T0 + 240, [row('b', 3), row('a', 1)]), 'duplicate');
    assert.deepEqual(sites(s, '24h'), [
      ['a', 6],
      ['b', 3],
      ['b-old', 2],
    ]);

    // From an open minute too.
    add(s, 'a', T0 + 300, [row('a', 1)]);
    add(s, 'b', T0 + 300, [row('b', 9)]);
    assert.deepEqual(sites(s, '1m'), [
      ['b', 9],
      ['a', 1],
    ]);
    s.withdraw('b');
    assert.deepEqual(sites(s, '1m'), [['a', 1]]);
    assert.equal(s.trend('1m')[0]?.requests, 1);
    assert.equal(s.seal(['a']).length, 1);
    assert.deepEqual(sites(s, '1m'), [['a', 1]]);
  });

  it('builds coarse periods from members’ 5-minute backfill and its own minutes without counting twice', () => {
    // A collector with 2 hours of history: its backfill is the coarse periods before its fine
    // ring, then the fine ring.
    const clock = { t: T0 };
    const c = new Store({ now: () => clock.t });
    for (let m = 0; m < 120; m++) {
      c.add('site', '10.0.0.1', '/', 200, '', 'GET', 10, 0);
      clock.t += 60;
      c.tick();
    }
    const { coarse, fine } = c.rings();
    const sent = backfillOrder(coarse, fine);
    assert.equal(
      sent.reduce((n, b) => n + b.totalRequests, 0),
      120,
    );
    const s = new MergedStore({ now: () => (clock.t + 60) * 1000 });
    for (const b of sent) {
      const rows = [...c.entries(b)].map((e) => ({
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
      assert.equal(
        s.add('c', b.start, b.span, rows, { requests: b.totalRequests, bytes: 0, time: 0 }),
        'added',
      );
    }
    s.seal(['c']);
    assert.deepEqual(sites(s, '24h'), [['site', 120]]);
    assert.deepEqual(sites(s, '6h'), [['site', 120]]);
    assert.deepEqual(sites(s, '60m'), [['site', 60]]);
    assert.equal(
      s.trend('24h').reduce((n, p) => n + p.requests, 0),
      120,
    );
    // A reconnect's backfill adds nothing.
    for (const b of sent)
      assert.equal(s.add('c', b.start, b.span, [], { requests: 0, bytes: 0, time: 0 }), 'duplicate');
  });

  it('seals open minutes after the grace time, and beyond the newest open ones', () => {
    const clock = { ms: NOW };
    const s = new MergedStore({ now: () => clock.ms, graceMs: 1000 });
    add(s, 'a', T0, [row('x', 1)]);
    assert.equal(s.seal(['a', 'silent']).length, 0);
    clock.ms += 1000;
    assert.equal(s.seal(['a', 'silent']).length, 1);
    add(s, 'a', T0 + 60, [row('x', 1)]);
    add(s, 'a', T0 + 120, [row('x', 1)]);
    add(s, 'a', T0 + 180, [row('x', 1)]);
    // Two stay open at most.
    assert.deepEqual(
      s.seal(['a', 'silent']).map((b) => b.start),
      [T0 + 60],
    );
    // Sealed but not published while 'silent' may still send them: not in a backfill yet.
    assert.equal(s.rings().fine.length, 0);
    assert.deepEqual(sites(s, '5m'), [['x', 4]]);
    clock.ms += 60_000; // the two sealed ones settled; the open ones sealed now (grace), not settled
    s.seal(['a', 'silent']);
    assert.deepEqual(
      s.rings().fine.map((b) => b.start),
      [T0, T0 + 60],
    );
  });

  it('keeps an hour of minutes and a day of periods; older minutes go to their period', () => {
    const s = new MergedStore({ now: () => (T0 + 30 * 3600) * 1000 });
    for (let m = 0; m < 25 * 60; m++) add(s, 'a', T0 + m * 60, [row(`s${m % 3}`, 1)]);
    s.seal(['a']);
    const { coarse, fine } = s.rings();
    assert.equal(fine.length, 60);
    assert.equal(coarse.length, 288);
    assert.deepEqual(sites(s, '60m'), [
      ['s0', 20],
      ['s1', 20],
      ['s2', 20],
    ]);
    const day = s.trend('24h').reduce((n, p) => n + p.requests, 0);
    assert.equal(day, 24 * 60);
    // A minute older than the fine ring goes straight to its period.
    const start = T0 + 23 * 3600;
    assert.equal(add(s, 'b', start, [row('old', 7)]), 'added');
    assert.deepEqual(
      s.topN({ groupBy: 'website', window: '24h', n: 1 }).map((e) => [e.label, e.requests]),
      [['s0', 480]],
    );
    assert.equal(
      s.topN({ groupBy: 'website', window: '24h', n: 10 }).find((e) => e.label === 'old')?.requests,
      7,
    );
    assert.equal(add(s, 'c', T0, [row('older', 1)]), 'too-old');
  });

  describe('review regressions', () => {
    it('a carved minute keeps its value alive when the period gives it up (no id reuse)', () => {
      const s = new MergedStore({ now: () => NOW });
      assert.equal(add(s, 'a', T0, [row('x.example', 5)], 300), 'added');
      assert.equal(add(s, 'a', T0 + 240, [row('x.example', 5)]), 'added'); // carved out of the period
      add(s, 'b', T0 + 240, [row('y.example', 1, '/other')]);
      assert.notEqual(s.interners[0]?.lookup('x.example'), s.interners[0]?.lookup('y.example'));
      assert.deepEqual(sites(s, '1m'), [
        ['x.example', 5],
        ['y.example', 1],
      ]);
    });

    it('a late batch whose keys fall out of the top keys still names them right when withdrawn', () => {
      const s = new MergedStore({ now: () => NOW, fineKeep: 2 });
      add(s, 'a', T0, [row('x', 5), row('y', 1)]);
      add(s, 'a', T0 + 60, [row('x', 1)]);
      s.seal([]);
      add(s, 'b', T0, [row('z', 10), row('w', 10), row('y', 1)]); // y falls out of T0's top 2
      add(s, 'c', T0 + 60, [row('NEW', 7)]);
      assert.notEqual(s.interners[0]?.lookup('y'), s.interners[0]?.lookup('NEW'));
      s.withdraw('b');
      add(s, 'd', T0 + 60, [row('OTHER', 3)]);
      add(s, 'c', T0 + 120, [row('q', 1)]);
      add(s, 'e', T0 + 120, [row('IMPOSTOR', 1)]);
      const minute = s.buckets('5m').find((b) => b.start === T0 + 60);
      assert.ok(minute);
      const labels = [...s.entries(minute as Bucket)].map((e) => `${e.labels[0]}:${e.requests}`);
      assert.deepEqual(labels.sort(), ['NEW:7', 'OTHER:3', 'x:1']); // x cut: in its residual
    });

    it('a member with a fast clock does not hide the others’ current minutes', () => {
      const wall = T0 + 120; // the clock is in minute T0+120: T0+60 is the newest complete one
      const s = new MergedStore({ now: () => wall * 1000 });
      add(s, 'a', T0 + 60, [row('a.example', 100)]);
      add(s, 'b', T0 + 60, [row('b.example', 100)]);
      add(s, 'c', T0 + 600, [row('c.example', 1)]); // 8 minutes ahead
      s.seal(['a', 'b', 'c', 'd']); // d is up and has not sent T0+60 yet
      assert.deepEqual(sites(s, '1m'), [
        ['a.example', 100],
        ['b.example', 100],
      ]);
      // Its minutes did not seal the others' minutes early: still exact and open.
      assert.equal(s.rings().fine.length, 0);
    });

    it('a backfill from a merged store sends a period whole before carving its minutes (stacking)', () => {
      const up = new MergedStore({ now: () => (T0 + 7200) * 1000 });
      for (let m = 0; m < 4; m++) add(up, 'a', T0 + m * 60, [row('x', 10)]); // no minute T0+240
      add(up, 'a', T0 + 3660, [row('x', 1)]); // evicts T0 and T0+60 (into their period)
      up.seal(['a']);
      const total = (s: MergedStore) => s.trend('24h').reduce((n, p) => n + p.requests, 0);
      assert.equal(total(up), 41);
      const down = new MergedStore({ now: () => (T0 + 7200) * 1000 });
      const { coarse, fine } = up.rings();
      for (const b of backfillOrder(coarse, fine)) {
        const rows = [...up.entries(b)].map((e) => row(e.labels[0] as string, e.requests));
        assert.equal(down.add('up', b.start, b.span, rows, totals(rows)), 'added');
      }
      down.seal(['up']);
      assert.equal(total(down), 41);
    });

    it('publishes a minute once, as held when sealed and settled; a subscriber never misses a rebuilt one', () => {
      const clock = { ms: NOW };
      const s = new MergedStore({ now: () => clock.ms, settleMs: 5000 });
      const published: [number, number][] = [];
      s.onSeal((b) => published.push([b.start - T0, b.totalRequests]));
      add(s, 'a', T0, [row('x', 5)]);
      add(s, 'a', T0 + 60, [row('x', 1)]);
      add(s, 'a', T0 + 120, [row('x', 1)]); // T0 sealed (beyond the open minutes), b not there yet
      s.seal(['a', 'b']);
      assert.deepEqual(published, []); // waits for b, up to settleMs
      add(s, 'b', T0, [row('x', 3)]); // late for T0: joins the sealed minute
      s.seal(['a', 'b']);
      assert.deepEqual(published, [[0, 8]]);
      clock.ms += 5000;
      s.seal(['a', 'b']); // T0+60 and T0+120: open, sealed by grace? not yet (15 s)
      clock.ms += 15_000;
      s.seal(['a', 'b']);
      clock.ms += 5000;
      s.seal(['a', 'b']);
      assert.deepEqual(published, [
        [0, 8],
        [60, 1],
        [120, 1],
      ]);
    });
  });
});
