// Regressions found in review: value ids freed while something still used them, and a
// journal written after a snapshot that merged late lines.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OTHER_TEXT } from './dimensions.ts';
import { StateKeeper } from './journal.ts';
import { Store } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'logtally-review-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const labels = (s: Store, groupBy: 'website' | 'prefix') =>
  s.topN({ groupBy, window: '60m', n: 10 }).map((e) => [e.label, e.requests]);

describe('Store: ids freed mid-minute', () => {
  it('an eviction whose new key shares a value with the evicted key keeps that value', () => {
    const s = new Store({ liveCap: 3, now: () => 6000 });
    const add = (w: string, p: string, at = Number.NaN) => s.add(w, '1.1.1.1', p, 200, '', 'GET', 0, 0, at);
    for (let i = 0; i < 3; i++) add('A', '/x');
    add('B', '/y');
    add('D', '/q');
    add('D', '/q');
    add('B', '/z'); // the table is full: (B, /y) gives its entry to (B, /z); B must stay B
    add('C', '/late', 5940); // a new value, which must not take B's id
    assert.deepEqual(labels(s, 'website'), [
      ['A', 3],
      ['B', 2],
      ['D', 2],
      ['C', 1],
    ]);
  });

  it('cached ids are not used after a merge of late lines freed them', () => {
    const s = new Store({ fineKeep: 1, coarseKeep: 1, now: () => 6000 });
    const add = (w: string, ip: string, p: string, at = Number.NaN) =>
      s.add(w, ip, p, 200, '', 'GET', 0, 0, at);
    add('wa', '1.1.1.1', '/a', 5940);
    add('wa', '1.1.1.1', '/a', 5940);
    add('wb', '9.9.9.9', '/b', 5940); // cut at the merge (fineKeep 1): wb and 9.9.9.0/24 freed
    s.flushLate();
    add('wb', '9.9.9.9', '/c');
    add('wz', '7.7.7.7', '/d');
    // wb's cut line is in its residual (wb, 200): sums by website stay exact.
    assert.deepEqual(labels(s, 'website'), [
      ['wa', 2],
      ['wb', 2],
      ['wz', 1],
    ]);
    assert.deepEqual(labels(s, 'prefix'), [
      ['1.1.1.0/24', 2],
      ['7.7.7.0/24', 1],
      ['9.9.9.0/24', 1],
      [OTHER_TEXT, 1],
    ]);
  });
});

describe('StateKeeper: a snapshot taken with late lines pending', () => {
  it('the journal after it names every value it uses', () => {
    const s = new Store({ fineKeep: 1, coarseKeep: 1, now: () => 6000 });
    const path = join(dir, 'state');
    const k = new StateKeeper(s, path);
    k.snapshot({});
    const add = (w: string, ip: string, p: string, at = Number.NaN) =>
      s.add(w, ip, p, 200, '', 'GET', 0, 0, at);
    add('wa', '1.1.1.1', '/a', 5940);
    add('wa', '1.1.1.1', '/a', 5940);
    add('wb', '9.9.9.9', '/b', 5940); // cut by the merge inside the snapshot
    k.snapshot({});
    add('wa', '1.1.1.1', '/x');
    add('wb', '9.9.9.9', '/live'); // wb again, with the id it had
    k.checkpoint({});
    const want = labels(s, 'website');
    const r = new Store({ now: () => 6000 });
    assert.ok(new StateKeeper(r, path).restore());
    assert.deepEqual(labels(r, 'website'), want);
    assert.deepEqual(want, [
      ['wa', 3],
      ['wb', 2],
    ]);
  });
});

describe('snapshot stream: a five-minute amendment during a backfill', () => {
  it('is not sent again after the bucket that already holds it', async () => {
    const { bucketSnapshots } = await import('../rpc/snapshot-stream.ts');
    const T = 100_000 * 300;
    const s = new Store({ now: () => T });
    const add = (p: string, at: number) => s.add('w', '1.1.1.1', p, 200, '', 'GET', 0, 0, at);
    add('/p0', T - 4 * 3600);
    add('/p', T - 3 * 3600);
    add('/f', T - 600);
    s.flushLate();
    const P = Math.floor((T - 3 * 3600) / 300) * 300;
    const ac = new AbortController();
    const it = bucketSnapshots(s, 'c', true, ac.signal)[Symbol.asyncIterator]();
    let got = 0;
    const take = (x: { start: number; span: number; totalRequests: number }) => {
      if (x.start === P && x.span === 300) got += x.totalRequests;
    };
    take((await it.next()).value as { start: number; span: number; totalRequests: number });
    add('/p', T - 3 * 3600); // one more late line for P while the backfill runs
    s.flushLate();
    for (;;) {
      const r = await Promise.race([it.next(), new Promise<null>((res) => setTimeout(() => res(null), 200))]);
      if (!r || r.done) break;
      take(r.value);
    }
    ac.abort();
    assert.equal(s.current(P, 300)?.totalRequests, 2);
    assert.equal(got, 2);
  });
});
