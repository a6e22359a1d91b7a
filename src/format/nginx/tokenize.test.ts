import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatSyntaxError } from '../errors.ts';
import { tokenizeNginxFormat } from './tokenize.ts';

describe('tokenizeNginxFormat', () => {
  it('splits variables and literals like nginx', () => {
    assert.deepEqual(tokenizeNginxFormat('$remote_addr - [${time_local}]x$Status'), [
      { kind: 'variable', name: 'remote_addr', column: 1 },
      { kind: 'literal', text: ' - [', column: 13 },
      { kind: 'variable', name: 'time_local', column: 17 },
      { kind: 'literal', text: ']x', column: 30 },
      { kind: 'variable', name: 'status', column: 32 },
    ]);
  });
  it('ends a name at the first non-name character', () => {
    assert.deepEqual(tokenizeNginxFormat('$a.b-'), [
      { kind: 'variable', name: 'a', column: 1 },
      { kind: 'literal', text: '.b-', column: 3 },
    ]);
  });
  for (const [format, column, re] of [
    ['abc $', 5, /"\$" at end/],
    ['x $-', 3, /invalid variable name/],
    ['${host', 1, /closing bracket in "host"/],
    ['${}', 1, /closing bracket|invalid/],
    ['${', 1, /closing bracket/],
  ] as const) {
    it(`rejects ${JSON.stringify(format)} at column ${column}`, () => {
      assert.throws(
        () => tokenizeNginxFormat(format),
        (e: unknown) => e instanceof FormatSyntaxError && e.column === column && re.test(e.message),
      );
    });
  }
});
