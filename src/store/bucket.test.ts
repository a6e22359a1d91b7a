import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketColumns, ColumnPool, sealBucket } from './bucket.ts';
import { D, OTHER } from './dimensions.ts';
import { TupleTable } from './tuple-table.ts';

describe('ColumnPool', () => {
  it('holds the top K and a sixty-fourth more, grows on demand to an eighth more, and reuses sets of its size only', () => {
    const pool = new ColumnPool(50_000);
    assert.equal(pool.capacity, 50_781);
    const a = pool.take(50_500) as NonNullable<ReturnType<ColumnPool['take']>>;
    assert.equal(a.requests.length, 50_781);
    assert.equal(a.ids.length, 50_781 * D);
    pool.give(a);
    assert.equal(pool.take(50_000), a, 'a set given back is taken again');
    pool.give(a);
    // More residuals than there is room for: the sets grow (twice the residuals), older ones go.
    const b = pool.take(51_000) as NonNullable<ReturnType<ColumnPool['take']>>;
    assert.equal(pool.capacity, 52_000);
    assert.equal(b.requests.length, 52_000);
    pool.give(a);
    assert.notEqual(pool.take(100), a, 'a set of the old size is not kept');
    // Never past an eighth more: such a bucket gets columns of its own.
    assert.equal(pool.take(56_251), undefined);
    pool.take(56_000);
    assert.equal(pool.capacity, 56_250);
    assert.equal(new ColumnPool(5_000).capacity, 5_256);
  });

  it('gives a sealed bucket pooled columns when its keys and residuals fit the most a set holds', () => {
    const pool = new ColumnPool(100);
    const t = new TupleTable(Number.MAX_SAFE_INTEGER);
    const k = new Uint32Array(D);
    // 100 keys kept, then 200 cut into residuals of 200 websites (prefix and URI OTHER).
    for (let i = 0; i < 300; i++) {
      k.set([2 + i, 2 + i, 2 + i, 2, 0, 2]);
      t.add(k, 0, i < 100 ? 10 : 1, 0, 0);
    }
    const totals = { requests: 1200, bytes: 0, time: 0 };
    const b = sealBucket(t, 0, 60, 100, totals, pool);
    assert.equal(b.size, 300);
    assert.ok(bucketColumns.has(b));
    assert.equal(bucketColumns.get(b)?.requests.length, 356);
    // 100 more websites: 400 keys are more than a set holds at most (356), columns of their own.
    for (let i = 300; i < 400; i++) {
      k.set([2 + i, 2 + i, 2 + i, 2, 0, 2]);
      t.add(k, 0, 1, 0, 0);
    }
    const c = sealBucket(t, 0, 60, 100, { requests: 1300, bytes: 0, time: 0 }, pool);
    assert.equal(c.size, 400);
    assert.equal(bucketColumns.has(c), false);
  });

  it('folds cut keys by the same sums whether their ids are small (an array) or above a million (a table)', () => {
    const seal = (base: number, keep: number) => {
      const t = new TupleTable(Number.MAX_SAFE_INTEGER);
      const k = new Uint32Array(D);
      for (let i = 0; i < 400; i++) {
        // 3 URIs of many keys, 97 of few, and 30 client prefixes.
        k.set([2, 2 + (i % 30), base + (i < 300 ? i % 3 : 3 + (i % 97)), 2, 0, 2]);
        t.add(k, 0, 1 + ((i * 7) % 5), i, 0);
      }
      const b = sealBucket(t, 0, 60, keep, { requests: 1200, bytes: 0, time: 0 });
      const rows: string[] = [];
      for (let e = 0; e < b.size; e++) {
        const ids: (number | string)[] = [...b.ids.subarray(e * D, e * D + D)];
        if (ids[2] !== OTHER) ids[2] = `u${(ids[2] as number) - base}`;
        rows.push(`${ids.join(',')}:${b.requests[e]}:${b.bytes[e]}`);
      }
      return rows;
    };
    // At 20 places cut keys of the heavy URIs keep their URI; at 45, cut keys keep their prefix.
    const byUri = seal(100, 20);
    const byPrefix = seal(100, 45);
    assert.ok(byUri.some((r) => r.startsWith(`2,${OTHER},u`)));
    assert.ok(byPrefix.some((r) => new RegExp(`^2,\\d+,${OTHER},`).test(r) && !r.startsWith(`2,${OTHER},`)));
    for (const base of [(1 << 20) + 100, (1 << 24) + 100]) {
      assert.deepEqual(seal(base, 20), byUri);
      assert.deepEqual(seal(base, 45), byPrefix);
    }
  });
});
