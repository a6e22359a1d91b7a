/**
 * High cardinality: millions of distinct keys keep memory bounded (the live minute holds its cap,
 * new keys taking the entries of the lightest, sealed buckets their top-K) while heavy keys keep
 * counting exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OTHER_TEXT } from './dimensions.ts';
import { Store } from './store.ts';

describe('Store under a stream of distinct keys', () => {
  it('bounds memory and counts existing keys exactly', () => {
    const clock = { t: 1_795_000_005 };
    const s = new Store({ now: () => clock.t });
    const hot = ['/hot/a', '/hot/b', '/hot/c'];
    for (const h of hot) s.add('w', '10.0.0.1', h, 200, '', 'GET', 1, 0);
    const rssBefore = process.memoryUsage().rss;
    let distinct = 0;
    let hits = 0;
    // Three minutes of 700 000 distinct keys each, with the hot keys in between.
    for (let minute = 0; minute < 3; minute++) {
      for (let i = 0; i < 700_000; i++) {
        s.add('w', `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.1`, `/u/${minute}/${i}`, 200, '', 'GET', 1, 0);
        distinct++;
        if (i % 1000 === 0) {
          s.add('w', '10.0.0.1', hot[i % 3] as string, 200, '', 'GET', 1, 0);
          hits++;
        }
      }
      const st = s.stats();
      assert.equal(st.liveKeys, 100_001, 'the live minute holds its cap, and one residual (w, 200)');
      clock.t += 60;
      s.tick();
    }
    const st = s.stats();
    // Each minute the three hot keys and the first 99 997 distinct keys fill the cap.
    assert.equal(
      st.droppedKeys,
      distinct - 3 * (100_000 - 3),
      'every key beyond the cap pushed out one (and is counted)',
    );
    // The hot keys are never the lightest: they kept counting exactly.
    const top = s.topN({ groupBy: 'uri', window: '5m', n: 3, filter: { uriRe: '^/hot/' } });
    const total = top.reduce((n, e) => n + e.requests, 0);
    assert.equal(total, hits + 3, 'hot keys counted exactly');
    const firstMinute = s.buckets('5m')[0];
    assert.ok(firstMinute);
    assert.equal(firstMinute.size, 50_001, 'a sealed minute keeps its top 50 000, and the residual');
    assert.equal(firstMinute.totalRequests, 700_000 + 700 + 3, 'totals count every line');
    // Interned values of dropped keys are forgotten at each rotation.
    assert.ok(st.internedValues.uri < 3 * 100_000 + 10, `interned uris bounded (${st.internedValues.uri})`);
    const grown = (process.memoryUsage().rss - rssBefore) / 1048576;
    assert.ok(grown < 400, `RSS grew by ${grown.toFixed(0)} MB`);
  });

  it('a flood of distinct URIs cannot hide a heavy key that arrives during it (was: invisible once the cap was full)', () => {
    const clock = { t: 1_795_000_005 };
    const s = new Store({ now: () => clock.t });
    // 1 000 000 random URIs, and 5 000 401s on victim.example /login (0.5 %) spread through them,
    // the first after the table is full.
    let victim = 0;
    for (let i = 0; i < 1_000_000; i++) {
      s.add('flood.example', `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.1`, `/r/${i}`, 200, '', 'GET', 1, 0);
      if (i >= 200_000 && i % 160 === 0 && victim < 5_000) {
        s.add('victim.example', '192.0.2.7', '/login', 401, '', 'POST', 10, 0.01);
        victim++;
      }
    }
    assert.equal(victim, 5_000);
    const st = s.stats();
    // The flood's pushed-out keys are one residual (uri OTHER); /login ranks next.
    const top = s.topN({ groupBy: 'uri', window: '1m', n: 2 }).filter((e) => e.label !== OTHER_TEXT);
    assert.equal(top[0]?.label, '/login');
    const count = top[0]?.requests as number;
    // Space-Saving, with pushed-out counts moved to residuals: low by at most the error bound.
    assert.ok(count <= 5_000 && count >= 5_000 - st.maxError, `${count} (bound ${st.maxError})`);
    assert.ok(st.maxError <= 1_005_000 / 100_000 + 1, `error bound ${st.maxError}`);
    assert.deepEqual(
      s
        .topN({ groupBy: 'status', window: '1m', n: 2, filter: { website: 'victim.example' } })
        .map((e) => [e.label, e.requests]),
      [['401', 5_000]],
    );
    // Sums by website are exact.
    assert.deepEqual(
      s.topN({ groupBy: 'website', window: '1m', n: 2 }).map((e) => [e.label, e.requests]),
      [
        ['flood.example', 1_000_000],
        ['victim.example', 5_000],
      ],
    );
    // The minute's total is exact.
    assert.equal(s.trend('1m').at(-1)?.requests, 1_005_000);
  });
});
