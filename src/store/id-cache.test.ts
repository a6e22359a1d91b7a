import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdCache } from './id-cache.ts';

describe('IdCache', () => {
  it('finds what was set, for keys past 2^32, and forgets everything on clear', () => {
    const c = new IdCache(16);
    assert.equal(c.get(7), -1);
    c.set(7, 3);
    c.set(0xc0a80100, 9); // a masked IPv4 network past 2^31
    c.set(0x20010db80001, 11); // a masked IPv6 /48
    assert.equal(c.get(7), 3);
    assert.equal(c.get(0xc0a80100), 9);
    assert.equal(c.get(0x20010db80001), 11);
    assert.equal(c.get(8), -1);
    c.clear();
    assert.equal(c.get(7), -1);
    assert.equal(c.get(0x20010db80001), -1);
    c.set(7, 4);
    assert.equal(c.get(7), 4);
  });
  it('a key on a taken slot takes it: the other is missed, never given the wrong id', () => {
    const c = new IdCache(1); // two slots: of 3 keys, two share one
    for (let k = 0; k < 3; k++) c.set(k, k + 100);
    let found = 0;
    for (let k = 0; k < 3; k++) {
      const id = c.get(k);
      if (id !== -1) {
        assert.equal(id, k + 100);
        found++;
      }
    }
    assert.ok(found >= 1 && found <= 2);
  });
});
