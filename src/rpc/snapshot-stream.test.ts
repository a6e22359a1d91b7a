import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Store } from '../store/store.ts';
import { bucketSnapshots } from './snapshot-stream.ts';

const T0 = 1_795_000_020; // a minute start 120 s into a 5-minute period

/** The backfill a subscriber receives (the stream is stopped once it would wait for a new bucket). */
async function backfill(store: Store, since?: number): Promise<[number, number, number][]> {
  const ac = new AbortController();
  const got: [number, number, number][] = [];
  const stream = bucketSnapshots(store, 's', true, ac.signal, false, since);
  setTimeout(() => ac.abort(), 50);
  for await (const s of stream) got.push([s.start - T0, s.span, s.totalRequests]);
  return got;
}

describe('snapshot stream backfill', () => {
  it('sends the 5-minute buckets before the fine ring, then the fine ring; with since, only what ends after it', async () => {
    const clock = { t: T0 };
    const store = new Store({ now: () => clock.t });
    for (let m = 0; m < 70; m++) {
      store.add('w', '10.0.0.1', '/', 200, '', 'GET', 1, 0);
      clock.t += 60;
      store.tick();
    }
    const all = await backfill(store);
    // 70 minutes: the fine ring holds the last 60 (from +600 s); the periods starting before it
    // come from the coarse ring (the one at +480 s overlaps the fine ring's first minutes).
    assert.deepEqual(
      all.filter((x) => x[1] === 300).map((x) => x[0]),
      [-120, 180, 480],
    );
    assert.equal(all.filter((x) => x[1] === 60).length, 60);
    assert.equal(all.find((x) => x[1] === 60)?.[0], 600);
    const since = T0 + 65 * 60;
    assert.deepEqual(await backfill(store, since), [
      [65 * 60, 60, 1],
      [66 * 60, 60, 1],
      [67 * 60, 60, 1],
      [68 * 60, 60, 1],
      [69 * 60, 60, 1],
    ]);
  });
});
