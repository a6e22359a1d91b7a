import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topIndices } from './bucket.ts';
import { OTHER_TEXT } from './dimensions.ts';
import { parseStatusFilter } from './filter.ts';
import { Interner } from './interner.ts';
import { Store } from './store.ts';
import { WINDOW_SPANS, WINDOWS } from './windows.ts';

function clock(start: number) {
  const c = { t: start, now: () => c.t };
  return c;
}

const T0 = 1_795_000_020; // 20 s into a minute (and into a 5-minute bucket)

describe('Store: counting and TopN', () => {
  const c = clock(T0);
  const s = new Store({ now: c.now });
  const rows: [string, string, string, number, string, string, number, number][] = [
    ['a.example', '192.0.2.1', '/x?q=1', 200, '', 'GET', 100, 0.5],
    ['a.example', '192.0.2.9', '/x', 200, '', 'GET', 100, 0.5],
    ['a.example', '198.51.100.1', '/y', 404, '', 'GET', 10, 0.1],
    ['b.example', '2001:db8:1::5', '/x', 503, '10.0.0.1:80', 'POST', 5000, 3],
    ['b.example', '::ffff:192.0.2.200', '/z', 429, '', 'GET', 1, 0.001],
  ];
  for (const r of rows) assert.equal(s.add(...r), 'counted');

  it('ranks each dimension by requests, with bytes and time sums', () => {
    assert.deepEqual(s.topN({ groupBy: 'website', window: '1m', n: 10 }), [
      { label: 'a.example', requests: 3, bytes: 210, time: 1.1 },
      { label: 'b.example', requests: 2, bytes: 5001, time: 3.001 },
    ]);
    assert.deepEqual(
      s.topN({ groupBy: 'prefix', window: '5m', n: 10 }).map((e) => [e.label, e.requests]),
      [
        ['192.0.2.0/24', 3],
        ['198.51.100.0/24', 1],
        ['2001:db8:1::/48', 1],
      ],
    );
    assert.deepEqual(
      s.topN({ groupBy: 'uri', window: '24h', n: 2 }).map((e) => [e.label, e.requests]),
      [
        ['/x', 3],
        ['/y', 1],
      ],
    );
    assert.deepEqual(
      s.topN({ groupBy: 'upstream', window: '1m', n: 5 }).map((e) => [e.label, e.requests]),
      [
        ['', 4],
        ['10.0.0.1:80', 1],
      ],
    );
    assert.deepEqual(
      s.topN({ groupBy: 'status', window: '1m', n: 5, orderBy: 'bytes' }).map((e) => e.label),
      ['503', '200', '404', '429'],
    );
    assert.deepEqual(
      s.topN({ groupBy: 'method', window: '1m', n: 5, orderBy: 'time' }).map((e) => e.label),
      ['POST', 'GET'],
    );
  });

  it('filters by exact values, status comparisons and regular expressions', () => {
    const q = (filter: Parameters<Store['topN']>[0]['filter']) =>
      s.topN({ groupBy: 'uri', window: '1m', n: 10, filter }).map((e) => [e.label, e.requests]);
    assert.deepEqual(q({ website: 'a.example', status: { op: '=', value: 200 } }), [['/x', 2]]);
    assert.deepEqual(q({ status: { op: '>=', value: 400 } }), [
      ['/x', 1],
      ['/y', 1],
      ['/z', 1],
    ]);
    assert.deepEqual(q({ status: { op: '!=', value: 200 }, websiteRe: '^b\\.' }), [
      ['/x', 1],
      ['/z', 1],
    ]);
    assert.deepEqual(q({ uriRe: '^/[xy]$', uriReNegate: true }), [['/z', 1]]);
    assert.deepEqual(q({ prefix: '192.0.2.0/24', method: 'GET' }), [
      ['/x', 2],
      ['/z', 1],
    ]);
    assert.deepEqual(q({ website: 'never.seen' }), []);
    assert.throws(() => q({ uriRe: '(' }), /uri_re: invalid regular expression/);
    // Client patterns run with RE2 semantics (linear time): patterns that backtrack exponentially
    // in JavaScript are fine; what RE2 lacks (backreferences) is refused with its message.
    assert.deepEqual(q({ uriRe: '^/(a+)+$' }), []);
    assert.deepEqual(q({ websiteRe: '(x|xx)*y' }), []);
    assert.throws(
      () => q({ uriRe: '(a)\\1' }),
      /uri_re: invalid regular expression: .*invalid escape sequence/,
    );
    assert.throws(() => q({ uriRe: 'x'.repeat(257) }), /uri_re: longer than 256 characters/);
  });

  it('counts malformed lines instead of keys', () => {
    assert.equal(s.add('a', 'not-an-ip', '/', 200, '', 'GET', 0, 0), 'malformed');
    assert.equal(s.add('a', '1.2.3.4', '/', 1000, '', 'GET', 0, 0), 'malformed');
    assert.equal(s.add('a', '1.2.3.4', '/', Number.NaN, '', 'GET', 0, 0), 'malformed');
    assert.equal(s.stats().malformed, 3);
  });

  it('parses status filters', () => {
    assert.deepEqual(parseStatusFilter('>=500'), { op: '>=', value: 500 });
    assert.deepEqual(parseStatusFilter('429'), { op: '=', value: 429 });
    assert.deepEqual(parseStatusFilter('!= 200'), { op: '!=', value: 200 });
    assert.equal(parseStatusFilter('5xx'), undefined);
  });
});

describe('Store: plain-text filters with non-ASCII values', () => {
  it('compare text as strings, also when the text holds a lone surrogate', () => {
    const s = new Store({ now: clock(T0).now });
    for (const uri of ['/\u0100', '/x\ufffd', '/raw\udc80', '/caf\u00e9', '\ufeff/bom'])
      assert.equal(s.add('a.example', '192.0.2.1', uri, 200, '', 'GET', 1, 0), 'counted');
    const uris = (uriRe: string) =>
      s
        .topN({ groupBy: 'uri', window: '1m', n: 10, filter: { uriRe } })
        .map((e) => e.label)
        .sort();
    // "\udc80" is the escape of a raw byte 0x80: it must not match the 0x80 inside "Ā" (C4 80).
    assert.deepEqual(uris('\udc80'), ['/raw\udc80']);
    // An unpaired surrogate matches no value (none holds one), not the U+FFFD it would encode to.
    assert.deepEqual(uris('\ud800'), []);
    assert.deepEqual(uris('caf\u00e9$'), ['/caf\u00e9']);
    assert.deepEqual(uris('^\ufeff'), ['\ufeff/bom']);
  });
});

describe('Store: caps', () => {
  it('a new key beyond the live cap takes the entry of the lightest key (Space-Saving); totals and sums by status stay exact', () => {
    const c = clock(T0);
    const s = new Store({ now: c.now, liveCap: 10 });
    for (let i = 0; i < 5; i++) s.add('w', '10.0.0.1', '/heavy', 200, '', 'GET', 1, 0);
    for (let i = 0; i < 20; i++) s.add('w', '10.0.0.1', `/k${i}`, 200, '', 'GET', 1, 0);
    let st = s.stats();
    assert.equal(st.droppedKeys, 11); // /k9 … /k19 each pushed out a key with one request
    assert.equal(st.liveKeys, 11); // 10, and the residual (w, 200) the pushed-out keys went to
    assert.equal(st.maxError, 2); // /k18 and /k19 replaced keys that had taken over (1 + error 1)
    // A key arriving after the flood with many requests is present, counted from when it came.
    for (let i = 0; i < 30; i++) s.add('w', '10.0.0.1', '/late', 401, '', 'GET', 1, 0);
    const top = s.topN({ groupBy: 'uri', window: '1m', n: 3 });
    assert.deepEqual(
      top.map((e) => [e.label, e.requests]),
      [
        ['/late', 30],
        ['/heavy', 5],
        ['/k11', 1],
        [OTHER_TEXT, 12], // the 12 pushed-out keys' requests (one each), after the top n
      ],
    );
    st = s.stats();
    assert.equal(st.maxError, 2);
    assert.deepEqual(
      s.topN({ groupBy: 'status', window: '1m', n: 3 }).map((e) => [e.label, e.requests, e.bytes]),
      [
        ['401', 30, 30],
        ['200', 25, 25],
      ],
    );
    // Totals count every line; the cap resets with the minute.
    c.t += 60;
    assert.equal(s.trend('1m')[0]?.requests, 55);
    assert.equal(s.add('w', '10.0.0.1', '/new', 200, '', 'GET', 1, 0), 'counted');
  });

  it('keeps the top keys when sealing a bucket', () => {
    const c = clock(T0);
    const s = new Store({ now: c.now, fineKeep: 3, coarseKeep: 2 });
    for (let i = 0; i < 10; i++)
      for (let j = 0; j <= i; j++) s.add('w', '10.0.0.1', `/k${i}`, 200, '', 'GET', 0, 0);
    c.t += 60;
    s.tick();
    const b = s.buckets('1m')[0];
    // The 7 cut keys (28 requests) fold into one key of their client prefix (uri OTHER), which
    // outweighs /k7 (8): it takes /k7's place, and /k7 goes into it.
    assert.equal(b?.size, 3);
    assert.equal(b?.totalRequests, 55);
    assert.deepEqual(
      s.topN({ groupBy: 'uri', window: '1m', n: 10 }).map((e) => [e.label, e.requests]),
      [
        ['/k9', 10],
        ['/k8', 9],
        [OTHER_TEXT, 36],
      ],
    );
    assert.deepEqual(
      s.topN({ groupBy: 'prefix', window: '1m', n: 10 }).map((e) => [e.label, e.requests]),
      [['10.0.0.0/24', 55]],
    );
    assert.deepEqual(
      s.topN({ groupBy: 'website', window: '1m', n: 10 }).map((e) => [e.label, e.requests]),
      [['w', 55]],
    );
    c.t += 300;
    assert.deepEqual(
      s.topN({ groupBy: 'uri', window: '6h', n: 10 }).map((e) => [e.label, e.requests]),
      [
        ['/k9', 10],
        [OTHER_TEXT, 45],
      ],
    );
    assert.deepEqual(
      s.topN({ groupBy: 'status', window: '6h', n: 10 }).map((e) => [e.label, e.requests]),
      [['200', 55]],
    );
  });

  it('topIndices selects exactly the k largest', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(rand() * 300);
      const k = 1 + Math.floor(rand() * n);
      const xs = Array.from({ length: n }, () => Math.floor(rand() * 20));
      const picked = [...topIndices(xs, n, k)].map((i) => xs[i] as number).sort((a, b) => b - a);
      assert.deepEqual(picked, [...xs].sort((a, b) => b - a).slice(0, k));
    }
  });
});

describe('Store: window arithmetic over 25 hours with an injected clock', () => {
  it('every window matches an independent count', () => {
    const c = clock(T0);
    const s = new Store({ now: c.now });
    const events: { t: number; site: string }[] = [];
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const end = T0 + 25 * 3600;
    const sites = ['a', 'b', 'c', 'd'];
    const checks: {
      at: number;
      got: Record<string, Record<string, number>>;
      trend: Record<string, number>;
    }[] = [];
    let nextCheck = T0 + 3600 + 17;
    while (c.t < end) {
      c.t += 1 + Math.floor(rand() * 20);
      const site = sites[Math.floor(rand() ** 2 * sites.length)] as string;
      s.add(site, '10.0.0.1', '/', 200, '', 'GET', 1, 0);
      events.push({ t: c.t, site });
      if (c.t >= nextCheck) {
        const got: Record<string, Record<string, number>> = {};
        const trend: Record<string, number> = {};
        for (const w of WINDOWS) {
          got[w] = Object.fromEntries(
            s.topN({ groupBy: 'website', window: w, n: 10 }).map((e) => [e.label, e.requests]),
          );
          trend[w] = s.trend(w).length;
        }
        checks.push({ at: c.t, got, trend });
        nextCheck += 3600 + Math.floor(rand() * 1800);
      }
    }
    assert.ok(checks.length >= 20);
    for (const { at, got, trend } of checks) {
      const live = Math.floor(at / 60) * 60;
      const coarseEnd = Math.floor(live / 300) * 300;
      for (const w of WINDOWS) {
        const span = WINDOW_SPANS[w];
        const from = span.ring === 'fine' ? live - span.buckets * 60 : coarseEnd - span.buckets * 300;
        const want: Record<string, number> = {};
        for (const e of events) {
          if (e.t > at) break;
          if (e.t >= Math.max(from, Math.floor(T0 / 60) * 60)) want[e.site] = (want[e.site] ?? 0) + 1;
        }
        assert.deepEqual(got[w], want, `window ${w} at t0+${at - T0}s`);
        const first = Math.floor(T0 / 60) * 60;
        // A coarse bucket exists for each 5-minute boundary reached since the first minute.
        const coarseBuckets = Math.max(0, (coarseEnd - Math.ceil((first + 60) / 300) * 300) / 300 + 1);
        const points =
          span.ring === 'fine'
            ? Math.min(span.buckets, (live - first) / 60) + 1
            : Math.min(span.buckets, coarseBuckets) + (live - coarseEnd) / 60 + 1;
        assert.equal(trend[w], points, `trend points of ${w}`);
      }
    }
  });
});

describe('selectTop', () => {
  it('equals a full sort by value, then label (byte order), with the labels interned in any order', async () => {
    const { selectTop } = await import('./store.ts');
    let seed = 3;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let round = 0; round < 30; round++) {
      const it = new Interner();
      const m = Math.floor(rand() * 200);
      // Labels of 0-4 letters (prefixes of one another too), interned in random order.
      const labels = new Set<string>();
      while (labels.size < m)
        labels.add(
          Array.from({ length: Math.floor(rand() * 5) }, () => 'abcd'[Math.floor(rand() * 4)]).join(''),
        );
      const ids = Int32Array.from([...labels].map((l) => it.intern(l)));
      const order = new Float64Array(it.capacity);
      for (const id of ids) order[id] = Math.floor(rand() * (round % 2 === 0 ? 3 : 10));
      const n = 1 + Math.floor(rand() * 20);
      const want = [...ids]
        .sort((a, b) => (order[b] as number) - (order[a] as number) || (it.value(a) < it.value(b) ? -1 : 1))
        .slice(0, n);
      assert.deepEqual(selectTop(ids, order, n, it), want);
    }
  });
});

describe('TopN over hundreds of thousands of ids', () => {
  it('ranks 315 000 URIs as a full sort does, by requests and by bytes (some 0)', () => {
    const c = clock(T0);
    const s = new Store({ now: c.now });
    const want = new Map<string, { requests: number; bytes: number; time: number }>();
    // Seven minutes of 45 000 distinct URIs each (under a minute's top 50 000: none cut), a URI of
    // every seventh key counted twice more, and bytes 0 for every third.
    for (let m = 0; m < 7; m++) {
      for (let i = 0; i < 45_000; i++) {
        const k = m * 45_000 + i;
        const uri = `/u/${k.toString(36)}`;
        const bytes = k % 3 === 0 ? 0 : (k * 7919) % 1000;
        const times = k % 7 === 0 ? 3 : 1;
        for (let t = 0; t < times; t++) s.add('w.example', '192.0.2.1', uri, 200, '', 'GET', bytes, 0.001);
        want.set(uri, { requests: times, bytes: bytes * times, time: 0.001 * times });
      }
      c.t += 60;
    }
    const all = [...want].map(([label, v]) => ({ label, ...v }));
    const byLabel = (a: { label: string }, b: { label: string }) =>
      a.label < b.label ? -1 : a.label > b.label ? 1 : 0;
    for (const orderBy of ['requests', 'bytes'] as const) {
      const got = s.topN({ groupBy: 'uri', window: '60m', n: 25, orderBy });
      const sorted = [...all].sort((a, b) => b[orderBy] - a[orderBy] || byLabel(a, b)).slice(0, 25);
      assert.deepEqual(
        got.map((e) => [e.label, e.requests, e.bytes]),
        sorted.map((e) => [e.label, e.requests, e.bytes]),
        orderBy,
      );
    }
    // The scratch is clean after a scan: a narrow query right after answers exactly.
    assert.deepEqual(
      s
        .topN({ groupBy: 'uri', window: '60m', n: 2, filter: { uriRe: '^/u/0$' } })
        .map((e) => [e.label, e.requests]),
      [['/u/0', 3]],
    );
  });
});

describe('Store: TopN while its accumulators are touched in the background', () => {
  it('gives the same answers once they are touched as before', async () => {
    const t = 1_795_000_020;
    const s = new Store({ now: () => t });
    // More than 65 536 URI ids: the accumulators (~1 MB here, one slice) are warmed once made.
    for (let i = 0; i < 70_000; i++) s.add('a.example', '192.0.2.1', `/u${i}`, 200, '', 'GET', 10, 0.5, t);
    for (let i = 0; i < 30; i++) s.add('a.example', '192.0.2.1', `/hot${i % 3}`, 200, '', 'GET', 10, 0.5, t);
    const ask = () =>
      s.topN({ groupBy: 'uri', window: '60m', n: 5 }).map((e) => [e.label, e.requests, e.bytes]);
    const first = ask();
    assert.deepEqual(first.slice(0, 3), [
      ['/hot0', 10, 100],
      ['/hot1', 10, 100],
      ['/hot2', 10, 100],
    ]);
    for (let turn = 0; turn < 5; turn++) {
      await new Promise((r) => setTimeout(r, 0));
      assert.deepEqual(ask(), first);
    }
  });
  it('keeps the sealed sums of a query through the background touching (same answers as without it)', async () => {
    const run = async (wait: boolean) => {
      const c = clock(1_795_000_020);
      const s = new Store({ now: c.now });
      const ask = () =>
        s.topN({ groupBy: 'uri', window: '60m', n: 5 }).map((e) => [e.label, e.requests, e.bytes]);
      // More than 65 536 URIs: the sums of the sealed minutes are kept between queries.
      for (let i = 0; i < 70_000; i++) s.add('a.example', '192.0.2.1', `/u${i}`, 200, '', 'GET', 10, 0.5);
      for (let i = 0; i < 30; i++) s.add('a.example', '192.0.2.1', `/hot${i % 3}`, 200, '', 'GET', 10, 0.5);
      c.t += 60;
      const out = [ask()];
      if (wait) for (let turn = 0; turn < 5; turn++) await new Promise((r) => setTimeout(r, 0));
      out.push(ask());
      for (let i = 0; i < 20; i++) s.add('a.example', '192.0.2.1', `/u${i * 512}`, 200, '', 'GET', 10, 0.5);
      c.t += 60;
      out.push(ask());
      return out;
    };
    assert.deepEqual(await run(true), await run(false));
  });
});

describe("Store.refreshKept: a TopN's kept sums brought up to date after a seal", () => {
  it('sums the window anew when a minute was sealed since, within five minutes of the last ask, not at the next query', () => {
    const c = clock(T0);
    const s = new Store({ now: c.now, fineKeep: 100_000 });
    // More URIs than one pass takes (all kept at the seal): a TopN by URI keeps its sums.
    for (let i = 0; i < 70_000; i++) s.add('w.example', '192.0.2.1', `/u/${i}`, 200, '', 'GET', 1, 0);
    c.t += 60;
    for (let i = 0; i < 5; i++) s.add('w.example', '192.0.2.1', '/hot', 200, '', 'GET', 10, 0);
    const q = { groupBy: 'uri', window: '60m', n: 2 } as const;
    /** The answer: /hot with `hot` requests, then the first of the URIs at one. */
    const answers = (hot: number) =>
      assert.deepEqual(
        s.topN(q).map((e) => [e.label, e.requests]),
        [
          ['/hot', hot],
          ['/u/0', 1],
        ],
      );
    answers(5);
    const afterAsk = s.keptSummed;
    assert.ok(afterAsk > 0, 'answered from kept sums');
    s.refreshKept();
    assert.equal(s.keptSummed, afterAsk, 'nothing sealed since: nothing summed');
    // The minute with /hot sealed; more of it in the new minute.
    c.t += 60;
    s.tick();
    s.add('w.example', '192.0.2.1', '/hot', 200, '', 'GET', 10, 0);
    s.refreshKept();
    const refreshed = s.keptSummed;
    assert.ok(refreshed > afterAsk, 'summed by the refresh');
    answers(6);
    assert.equal(s.keptSummed, refreshed, 'the query summed nothing');
    // A late line amends a sealed minute: left to the next query (at most one refresh a minute).
    assert.equal(s.add('w.example', '192.0.2.1', '/hot', 200, '', 'GET', 10, 0, c.t - 70), 'counted');
    s.refreshKept();
    assert.equal(s.keptSummed, refreshed, 'no minute sealed since the last refresh');
    // Another query in between that no sums are kept for (here one that cannot match): the next
    // refresh is still the dashboard's query by URI.
    assert.deepEqual(
      s.topN({ groupBy: 'website', window: '5m', n: 2, filter: { website: 'none.example' } }),
      [],
    );
    c.t += 60;
    s.tick();
    s.refreshKept();
    const again = s.keptSummed;
    assert.ok(again > refreshed, 'the URI query summed again after the next seal');
    answers(7);
    assert.equal(s.keptSummed, again);
    // Five minutes and more after the last ask: no longer kept up to date.
    c.t += 301;
    s.tick();
    s.refreshKept();
    assert.equal(s.keptSummed, again);
  });
});
