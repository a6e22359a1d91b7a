/** Regressions found in review (session 1). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Store } from './store.ts';

describe('review regressions', () => {
  it('an empty client address is malformed, also right after a minute rotates', () => {
    const clock = { t: 1_795_000_010 };
    const s = new Store({ now: () => clock.t });
    assert.equal(s.add('w', '1.2.3.4', '/', 200, '', 'GET', 0, 0), 'counted');
    assert.equal(s.add('w', '', '/', 200, '', 'GET', 0, 0), 'malformed');
    clock.t += 60;
    assert.equal(s.add('w', '', '/', 200, '', 'GET', 0, 0), 'malformed');
    assert.deepEqual(
      s.topN({ groupBy: 'prefix', window: '5m', n: 5 }).map((e) => [e.label, e.requests]),
      [['1.2.3.0/24', 1]],
    );
  });

  it('invalid addresses with a colon are not cached (no memory per distinct junk string)', () => {
    const s = new Store();
    for (let i = 0; i < 1000; i++)
      assert.equal(s.add('w', `x:${i}:${'y'.repeat(100)}`, '/', 200, '', 'GET', 0, 0), 'malformed');
    assert.equal(s.add('w', '2001:db8:1::1', '/', 200, '', 'GET', 0, 0), 'counted');
    assert.equal(s.add('w', '2001:db8:1::2', '/', 200, '', 'GET', 0, 0), 'counted');
    assert.deepEqual(
      s.topN({ groupBy: 'prefix', window: '1m', n: 5 }).map((e) => [e.label, e.requests]),
      [['2001:db8:1::/48', 2]],
    );
  });
});
