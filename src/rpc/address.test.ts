import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHostPortList } from './address.ts';

describe('host:port lists', () => {
  it('trims, skips empty items and duplicates, and names the flag of a bad item', () => {
    assert.deepEqual(parseHostPortList(' a:1, b:2 ,,a:1', '--allow-target'), ['a:1', 'b:2']);
    assert.deepEqual(parseHostPortList(undefined, '--allow-target'), []);
    assert.deepEqual(parseHostPortList('[::1]:9090,:9091', '--collectors'), ['[::1]:9090', ':9091']);
    assert.throws(
      () => parseHostPortList('a:1,nope', '--collectors'),
      /^.*--collectors: expected host:port.*"nope"/,
    );
  });
});
