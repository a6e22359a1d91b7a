import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerCache } from './cache.ts';

describe('AnswerCache', () => {
  it('shares an answer within the TTL, reloads after it, and never caches a failure', async () => {
    const clock = { t: 0 };
    const cache = new AnswerCache(1000, 512, () => clock.t);
    let loads = 0;
    const load = async () => ++loads;
    assert.deepEqual(await Promise.all([cache.get('a', load), cache.get('a', load)]), [1, 1]);
    clock.t = 999;
    assert.equal(await cache.get('a', load), 1);
    assert.equal(await cache.get('b', load), 2);
    clock.t = 1000;
    assert.equal(await cache.get('a', load), 3);
    await assert.rejects(cache.get('c', () => Promise.reject(new Error('down'))));
    assert.equal(await cache.get('c', load), 4);
    assert.equal(await new AnswerCache(0).get('a', load), 5);
  });
});
