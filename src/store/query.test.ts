import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../test/support/prng.ts';
import type { Bucket } from './bucket.ts';
import { D, DIM, DIMENSIONS, type Dimension, OTHER_TEXT } from './dimensions.ts';
import type { Filter } from './filter.ts';
import { Interner } from './interner.ts';
import { BucketQueries, ONE_PASS_IDS, type TopEntry } from './query.ts';

/** A bucket of the given keys (labels per dimension) and measures. */
function bucket(
  interners: Interner[],
  keys: { labels: readonly string[]; requests: number; bytes: number; time: number }[],
): Bucket {
  const ids = new Uint32Array(keys.length * D);
  keys.forEach((k, e) => {
    for (let d = 0; d < D; d++) ids[e * D + d] = (interners[d] as Interner).intern(k.labels[d] as string);
  });
  const requests = Uint32Array.from(keys, (k) => k.requests);
  const bytes = Float64Array.from(keys, (k) => k.bytes);
  const time = Float64Array.from(keys, (k) => k.time);
  return {
    start: 0,
    span: 60,
    size: keys.length,
    ids,
    requests,
    bytes,
    time,
    totalRequests: requests.reduce((a, b) => a + b, 0),
    totalBytes: bytes.reduce((a, b) => a + b, 0),
    totalTime: time.reduce((a, b) => a + b, 0),
  };
}

/** TopN by a map of labels and a full sort: what `BucketQueries.topN` must answer. */
function reference(
  keys: { labels: readonly string[]; requests: number; bytes: number; time: number }[],
  groupBy: Dimension,
  orderBy: 'requests' | 'bytes' | 'time',
  n: number,
  match: (labels: readonly string[]) => boolean,
): TopEntry[] {
  const sums = new Map<string, { requests: number; bytes: number; time: number }>();
  for (const k of keys) {
    if (k.requests === 0 || !match(k.labels)) continue;
    const label = k.labels[DIM[groupBy]] as string;
    const s = sums.get(label) ?? { requests: 0, bytes: 0, time: 0 };
    s.requests += k.requests;
    s.bytes += k.bytes;
    s.time += k.time;
    sums.set(label, s);
  }
  const other = sums.get(OTHER_TEXT);
  sums.delete(OTHER_TEXT);
  const rows = [...sums].map(([label, s]) => ({ label, ...s }));
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  rows.sort((a, b) => b[orderBy] - a[orderBy] || byBytes(a.label, b.label));
  const top = rows.slice(0, n);
  if (other) top.push({ label: OTHER_TEXT, ...other });
  return top;
}

/** A draw in [0, k) from the project's seeded generator. */
function randInt(seed: number): (k: number) => number {
  const next = prng(seed);
  return (k) => Math.floor(next() * k);
}

/** Interners for the six dimensions; with `many`, 70 000 URIs more than one pass takes. */
function newInterners(many: boolean): Interner[] {
  const interners = DIMENSIONS.map(() => new Interner());
  if (many) for (let i = 0; i < 70_000; i++) (interners[DIM.uri] as Interner).intern(`/unused/${i}`);
  return interners;
}

/** A key of one URI with `requests` (one byte, no time). */
function key(uri: string, requests: number) {
  return { labels: ['w.example', '192.0.2.1', uri, '200', '', 'GET'], requests, bytes: 1, time: 0 };
}

describe('BucketQueries.topN: one pass for few values, two for many', () => {
  it('equals a map and a full sort, by each order, with and without filters, either way', () => {
    const rand = randInt(11);
    // Few URIs (one pass) and, with 70 000 more interned, many (two passes: the URI interner's
    // capacity is past 65 536).
    for (const many of [false, true]) {
      const interners = newInterners(many);
      const keys = Array.from({ length: 3000 }, () => ({
        labels: [
          `w${rand(5)}.example`,
          `192.0.2.${rand(40)}`,
          rand(50) === 0 ? OTHER_TEXT : `/p/${rand(300)}`,
          String(200 + rand(4) * 100),
          '',
          ['GET', 'POST'][rand(2)] as string,
        ],
        // Some keys with no requests (an unsealed table's emptied entries), bytes and time 0 too.
        requests: rand(10) === 0 ? 0 : 1 + rand(3),
        bytes: rand(4) === 0 ? 0 : rand(5000),
        time: rand(4) === 0 ? 0 : rand(1000) / 1000,
      }));
      const buckets = [bucket(interners, keys.slice(0, 1000)), bucket(interners, keys.slice(1000))];
      // Each side of the one pass's bound, for URIs; prefixes, websites and statuses: few.
      assert.equal((interners[DIM.uri] as Interner).capacity > ONE_PASS_IDS, many);
      assert.ok((interners[DIM.prefix] as Interner).capacity <= ONE_PASS_IDS);
      const q = new BucketQueries(interners);
      const filters: [Filter, (l: readonly string[]) => boolean][] = [
        [{}, () => true],
        [{ website: 'w1.example' }, (l) => l[0] === 'w1.example'],
        [{ status: { op: '>=', value: 400 } }, (l) => Number(l[3]) >= 400],
      ];
      for (const groupBy of ['uri', 'website', 'status', 'prefix'] as const)
        for (const orderBy of ['requests', 'bytes', 'time'] as const)
          for (const [filter, match] of filters)
            for (const n of [1, 7, 400]) {
              const got = q.topN(buckets, { groupBy, orderBy, n, filter });
              const want = reference(keys, groupBy, orderBy, n, match);
              assert.deepEqual(
                got.map((e) => [e.label, e.requests, e.bytes, e.time.toFixed(6)]),
                want.map((e) => [e.label, e.requests, e.bytes, e.time.toFixed(6)]),
                `${many ? 'many' : 'few'} URIs, by ${groupBy}, ${orderBy}, n ${n}, ${JSON.stringify(filter)}`,
              );
            }
    }
  });

  it('sums requests past 2^32 exactly, either way', () => {
    for (const many of [false, true]) {
      const interners = newInterners(many);
      // /a: 3e9 + 3e9 = 6e9 (past 2^32: in 32 bits it would be 1.7e9, under /b's 4e9).
      const buckets = [
        bucket(interners, [key('/a', 3e9), key('/b', 4e9)]),
        bucket(interners, [key('/a', 3e9), key('/c', 1)]),
      ];
      const top = new BucketQueries(interners).topN(buckets, { groupBy: 'uri', n: 2 });
      assert.deepEqual(
        top.map((e) => [e.label, e.requests]),
        [
          ['/a', 6e9],
          ['/b', 4e9],
        ],
        many ? 'many URIs' : 'few URIs',
      );
    }
  });

  it('answers for values interned after its scratch was made (the scratch grows)', () => {
    for (const base of [100, 70_000]) {
      const interners = DIMENSIONS.map(() => new Interner());
      const uris = interners[DIM.uri] as Interner;
      for (let i = 0; i < base; i++) uris.intern(`/old/${i}`);
      const q = new BucketQueries(interners);
      assert.deepEqual(
        q.topN([bucket(interners, [key('/old/1', 2)])], { groupBy: 'uri', n: 1 }).map((e) => e.label),
        ['/old/1'],
      );
      // Thousands of values more than the scratch was made for: their ids are past its end.
      for (let i = 0; i < base + 5000; i++) uris.intern(`/new/${i}`);
      const late = `/new/${base + 4999}`;
      const top = q.topN([bucket(interners, [key('/old/1', 2), key(late, 3)])], { groupBy: 'uri', n: 2 });
      assert.deepEqual(
        top.map((e) => [e.label, e.requests]),
        [
          [late, 3],
          ['/old/1', 2],
        ],
        `from ${base} values`,
      );
    }
  });

  it('keeps the sealed sums of an unfiltered query by requests between queries: answers as summed anew', () => {
    const rand = randInt(5);
    const interners = newInterners(true);
    // Few URIs, so ties and sums across buckets; some OTHER (residuals), some 0 requests.
    const keys = (size: number) =>
      Array.from({ length: size }, () => ({
        labels: [
          `w${rand(3)}.example`,
          `192.0.2.${rand(9)}`,
          rand(40) === 0 ? OTHER_TEXT : `/p/${rand(200)}`,
          String(200 + rand(3) * 100),
          '',
          'GET',
        ],
        requests: rand(12) === 0 ? 0 : 1 + rand(2),
        bytes: rand(1000),
        time: rand(100) / 100,
      }));
    const kept = new BucketQueries(interners);
    const anew = new BucketQueries(interners);
    let sealed = Array.from({ length: 5 }, () => bucket(interners, keys(300)));
    let live = bucket(interners, keys(200));
    const rows = (e: TopEntry[]) => e.map((x) => [x.label, x.requests, x.bytes, x.time]);
    for (let step = 0; step < 60; step++) {
      const what = rand(6);
      if (what === 0)
        sealed = [...sealed, bucket(interners, keys(300))]; // a minute sealed
      else if (what === 1)
        sealed = sealed.slice(1); // one leaves the window
      else if (what === 2 && sealed.length > 0) {
        // One replaced by late lines (a new object).
        const i = rand(sealed.length);
        sealed = sealed.map((b, j) => (j === i ? bucket(interners, keys(300)) : b));
      } else if (what === 3) live = bucket(interners, keys(rand(300)));
      else if (what === 4) {
        // Another query between: filtered, by bytes, or over other buckets.
        const other = [
          () => kept.topN([...sealed, live], { groupBy: 'uri', n: 5, filter: { website: 'w1.example' } }),
          () => kept.topN([...sealed, live], { groupBy: 'uri', n: 5, orderBy: 'bytes' }),
          () => kept.topN(sealed.slice(0, 2), { groupBy: 'uri', n: 5 }, live),
          () => kept.topN(sealed, { groupBy: 'website', n: 5 }, live),
        ][rand(4)] as () => TopEntry[];
        other();
      }
      // n as the last query of the step before first: its kept top is reused.
      for (const n of [10, 1 + rand(3), 300, 10]) {
        const got = kept.topN(sealed, { groupBy: 'uri', n }, live);
        const want = anew.topN([...sealed, live], { groupBy: 'uri', n });
        assert.deepEqual(rows(got), rows(want), `step ${step}, n ${n}`);
      }
    }
  });

  it('sums anew when its scratch grows (values interned since): kept sums are not read from the new one', () => {
    const interners = newInterners(true);
    const uris = interners[DIM.uri] as Interner;
    const sealed = [bucket(interners, [key('/a', 5), key('/b', 3)]), bucket(interners, [key('/b', 4)])];
    const q = new BucketQueries(interners);
    const ask = () =>
      q
        .topN(sealed, { groupBy: 'uri', n: 2 }, bucket(interners, [key('/a', 1)]))
        .map((e) => [e.label, e.requests]);
    const want = [
      ['/b', 7],
      ['/a', 6],
    ];
    assert.deepEqual(ask(), want);
    // More values than its scratch has room for (an eighth over the capacity it was made for).
    for (let i = 0; i < 20_000; i++) uris.intern(`/more/${i}`);
    assert.deepEqual(ask(), want);
  });

  it("keeps a regular expression's results between queries, tested again for ids handed out again", () => {
    const interners = newInterners(false);
    const uris = interners[DIM.uri] as Interner;
    const q = new BucketQueries(interners);
    const ask = (buckets: Bucket[], uriRe: string, uriReNegate = false) =>
      q
        .topN(buckets, { groupBy: 'uri', n: 5, filter: { uriRe, uriReNegate } })
        .map((e) => [e.label, e.requests]);
    const first = bucket(interners, [key('/a/1', 3), key('/b/1', 2)]);
    assert.deepEqual(ask([first], '^/a', true), [['/b/1', 2]]);
    assert.deepEqual(ask([first], '^/a'), [['/a/1', 3]]);
    // '/a/1' let go of, and its id handed out to another value: the kept result is not read for it.
    const a = uris.lookup('/a/1') as number;
    uris.acquire(a);
    uris.release(a);
    const second = bucket(interners, [key('/c/1', 4), key('/b/1', 1)]);
    assert.equal(uris.lookup('/c/1'), a, 'the id is handed out again');
    assert.deepEqual(ask([second], '^/a'), []);
    assert.deepEqual(ask([second], '^/a', true), [
      ['/c/1', 4],
      ['/b/1', 1],
    ]);
    assert.deepEqual(ask([second], '^/[ac]/'), [['/c/1', 4]]);
    // Values interned since (ids past the results kept) are tested too.
    const third = bucket(interners, [key('/a/2', 7), key('/c/1', 1)]);
    assert.deepEqual(ask([second, third], '^/[ac]/'), [
      ['/a/2', 7],
      ['/c/1', 5],
    ]);
    // Asked again: no value is read to be tested, only the answer's two labels.
    const value = uris.value.bind(uris);
    let read = 0;
    uris.value = (id: number) => {
      read++;
      return value(id);
    };
    assert.deepEqual(ask([second, third], '^/[ac]/'), [
      ['/a/2', 7],
      ['/c/1', 5],
    ]);
    assert.equal(read, 2);
  });
});
