import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileUwsgi } from './compile.ts';
import { tokenizeUwsgiFormat } from './tokenize.ts';

type Piece = string | { v: string };

function pieces(format: string): Piece[] {
  return tokenizeUwsgiFormat(format).map((s) => (s.kind === 'literal' ? s.text : { v: s.name }));
}

describe('tokenizeUwsgiFormat', () => {
  it('splits literals and logvars, with 1-based columns', () => {
    assert.deepEqual(tokenizeUwsgiFormat('%(addr) [%(ltime)]'), [
      { kind: 'variable', name: 'addr', column: 1 },
      { kind: 'literal', text: ' [', column: 8 },
      { kind: 'variable', name: 'ltime', column: 10 },
      { kind: 'literal', text: ']', column: 18 },
    ]);
  });

  // Each row: the format, its pieces, and the line uWSGI 2.0.21 wrote for `GET /p?q` (logvars
  // that are never set write `-`).
  const SEEN: readonly [string, Piece[], string][] = [
    ['a %% b', ['a %% b'], 'a %% b'],
    ['a % b', ['a % b'], 'a % b'],
    ['100%', ['100%'], '100%'],
    ['%(', ['%('], '%('],
    ['x%(uri)y', ['x', { v: 'uri' }, 'y'], 'x/p?qy'],
    ['%%(uri)', ['%', { v: 'uri' }], '%/p?q'],
    ['%%%(uri)', ['%%', { v: 'uri' }], '%%/p?q'],
    ['abc %(uri', ['abc abc %(uri'], 'abc abc %(uri'],
    ['a%()b)c', ['a%', { v: 'b' }, 'c'], 'a%-c'],
    ['x%((uri)', ['x%', { v: 'uri' }], 'x%/p?q'],
    ['%(a%(uri)', ['%(a', { v: 'uri' }], '%(a/p?q'],
    ['%(uri)%(method)', [{ v: 'uri' }, { v: 'method' }], '/p?qGET'],
    ['%(uri))', [{ v: 'uri' }, ')'], '/p?q)'],
    ['(%(uri))', ['(', { v: 'uri' }, ')'], '(/p?q)'],
    ['%x(uri)', ['%x(uri)'], '%x(uri)'],
    ['% (uri)', ['% (uri)'], '% (uri)'],
    // a name runs to the first `)` and may hold `(` and `%`
    ['%(a(b) %(c%d)', [{ v: 'a(b' }, ' ', { v: 'c%d' }], '- -'],
    // an unterminated logvar repeats every literal since the last logvar
    ['%(uri) a %(b %(c', [{ v: 'uri' }, ' a  a %(b  a %(b %(c'], '/p?q a  a %(b  a %(b %(c'],
  ];
  for (const [format, want, written] of SEEN) {
    it(`${JSON.stringify(format)} reads as uWSGI reads it`, () => {
      assert.deepEqual(pieces(format), want);
      const f = compileUwsgi(format);
      assert.equal(f.render({ uri: '/p?q', method: 'GET' }), written);
    });
  }
});
