/**
 * High cardinality: millions of distinct keys keep memory bounded (the live minute stops at its
 * cap, sealed buckets at their top-K) while keys already counted keep counting exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
      assert.equal(st.liveKeys, 100_000, 'the live minute stops at its cap');
      clock.t += 60;
      s.tick();
    }
    const st = s.stats();
    // Each minute the three hot keys and the first 99 997 distinct keys fill the cap.
    assert.equal(
      st.droppedKeys,
      distinct - 3 * (100_000 - 3),
      'every key beyond the cap was dropped and counted',
    );
    // Keys known before the cap kept counting exactly (the first minute had them from the start).
    const top = s.topN({ groupBy: 'uri', window: '5m', n: 3, filter: { uriRe: '^/hot/' } });
    const total = top.reduce((n, e) => n + e.requests, 0);
    assert.equal(total, hits + 3, 'hot keys counted exactly');
    const firstMinute = s.buckets('5m')[0];
    assert.ok(firstMinute);
    assert.equal(firstMinute.size, 50_000, 'a sealed minute keeps its top 50 000');
    assert.equal(firstMinute.totalRequests, 700_000 + 700 + 3, 'totals count every line');
    // Interned values of dropped keys are forgotten at each rotation.
    assert.ok(st.internedValues.uri < 3 * 100_000 + 10, `interned uris bounded (${st.internedValues.uri})`);
    const grown = (process.memoryUsage().rss - rssBefore) / 1048576;
    assert.ok(grown < 400, `RSS grew by ${grown.toFixed(0)} MB`);
  });
});
