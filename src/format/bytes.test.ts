import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latin1 } from './bytes.ts';

describe('latin1', () => {
  it('is the latin1 text of every length and offset (the short texts are built in JavaScript)', () => {
    const b = Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let s = 0; s < 5; s++) {
      for (let n = 0; n <= 40; n++) {
        assert.equal(latin1(b, s, s + n), Buffer.from(b.subarray(s, s + n)).toString('latin1'), `${s}+${n}`);
      }
    }
    // A view into a larger buffer.
    const view = b.subarray(100, 200);
    assert.equal(latin1(view, 3, 20), Buffer.from(b.subarray(103, 120)).toString('latin1'));
    assert.equal(latin1(view, 3, 10), Buffer.from(b.subarray(103, 110)).toString('latin1'));
  });
});
