import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IntList } from './int-list.ts';

describe('IntList', () => {
  it('keeps every entry as it grows, truncates, and lets a long array go when cleared', () => {
    const l = new IntList(4);
    for (let i = 0; i < 70_000; i++) l.push(i * 3 - 5);
    assert.equal(l.length, 70_000);
    assert.equal(l.get(0), -5);
    assert.equal(l.get(69_999), 69_999 * 3 - 5);
    assert.ok(l.array.length >= 70_000);
    l.truncate(10);
    assert.equal(l.length, 10);
    l.truncate(20);
    assert.equal(l.length, 10);
    l.push(7);
    assert.deepEqual([...l.array.subarray(0, l.length)].slice(-2), [22, 7]);
    l.clear();
    assert.equal(l.length, 0);
    assert.equal(l.array.length, 256);
  });

  it('gives an outgrown array back as it grows, and its own when released (views read as empty)', () => {
    const l = new IntList(4);
    for (let i = 0; i < 4; i++) l.push(i);
    const before = l.array;
    l.push(4);
    assert.equal(before.length, 0, 'the outgrown array is detached');
    assert.deepEqual([...l.array.subarray(0, l.length)], [0, 1, 2, 3, 4]);
    const now = l.array;
    l.release();
    assert.equal(now.length, 0);
    assert.equal(l.length, 0);
    l.push(9);
    assert.equal(l.get(0), 9);
  });
});
