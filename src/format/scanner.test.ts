// The one parser compiler (scanner.ts) on its own: the options the dialects use, each checked
// on the fast path, the search and explain.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineParseError } from './errors.ts';
import { type Converter, compileScanner, type ScanField } from './scanner.ts';

const int: Converter = (s) => (/^(?:0|[1-9]\d*)$/.test(s) ? Number(s) : undefined);
const text: Converter = (s) => s;

function field(name: string, anchor: string, convert: Converter, extra: Partial<ScanField> = {}): ScanField {
  return { name, label: `<${name}>`, anchor, convert, ...extra };
}

describe('compileScanner', () => {
  it('first occurrences on the fast path, the search when a value holds its own anchor', () => {
    const s = compileScanner({
      prefix: '[',
      fields: [field('a', '] ', text), field('b', ' ', text), field('code', '', int)],
    });
    assert.deepEqual(s.parse('[x] y 200'), { a: 'x', b: 'y', code: 200 });
    assert.deepEqual(s.split('[x] y 200'), ['x', 'y', '200']);
    // `b` holds a space: the first-occurrence split leaves `z 200` for the code.
    assert.deepEqual(s.parse('[x] y z 200'), { a: 'x', b: 'y z', code: 200 });
    assert.deepEqual(s.split('[x] y z 200'), ['x', 'y z', '200']);
  });

  it('explains with the column of the missing anchor or invalid value', () => {
    const s = compileScanner({ prefix: '[', fields: [field('a', '] ', text), field('code', '', int)] });
    const e1 = s.parse('x] 200');
    assert.ok(e1 instanceof LineParseError);
    assert.equal(e1.reason, 'expected "[" at the start of the line');
    const e2 = s.parse('[x 200');
    assert.ok(e2 instanceof LineParseError);
    assert.equal(e2.reason, 'expected "] " after <a>');
    assert.equal(e2.column, 2);
    const e3 = s.parse('[x] 2x');
    assert.ok(e3 instanceof LineParseError);
    assert.equal(e3.reason, 'invalid value "2x" for <code>');
    assert.equal(e3.column, 5);
  });

  it('touching fields: lazy by default, greedy when asked', () => {
    const fields = (greedy: boolean) => [field('a', '', int, { greedy, maxLength: 3 }), field('b', '', int)];
    assert.deepEqual(compileScanner({ prefix: '', fields: fields(false) }).parse('123'), { a: 1, b: 23 });
    assert.deepEqual(compileScanner({ prefix: '', fields: fields(true) }).parse('1234'), { a: 123, b: 4 });
  });

  it('null texts and C integers on the generated path agree with the search', () => {
    const fields = [
      field('n', ' ', (s) => (s === '-' ? null : int(s)), {
        integer: 'unsigned',
        nulls: ['-'],
        pattern: String.raw`0|[1-9]\d*`,
      }),
      field('t', '', (s) => (s === '-' ? null : s), { nulls: ['-'], set: null }),
    ];
    for (const fast of ['scanner', 'matcher', 'search'] as const) {
      const s = compileScanner({ prefix: '', fields }, { fast });
      assert.deepEqual(s.parse('- -'), { n: null, t: null }, fast);
      assert.deepEqual(s.parse('12 x y'), { n: 12, t: 'x y' }, fast);
      assert.ok(s.parse('012 x') instanceof LineParseError, fast);
    }
  });

  it('levels: the first converter set that splits the line wins; the record picks its fields', () => {
    const strict: Converter = (s) => (s === 'ok' ? s : undefined);
    const s = compileScanner(
      {
        prefix: '',
        fields: [field('a', ' ', text), field('a', '', text)],
        record: [['a', 0]],
      },
      {
        levels: [
          [strict, strict],
          [text, text],
        ],
      },
    );
    assert.deepEqual(s.parse('ok ok'), { a: 'ok' });
    assert.deepEqual(s.parse('x y z'), { a: 'x' });
  });

  it('gives up an ambiguous line within the work bound', () => {
    const s = compileScanner({
      prefix: '',
      fields: [field('a', ' ', text), field('b', ' ', text), field('c', ' "', text), field('d', '', int)],
    });
    const r = s.parse(' '.repeat(65_536));
    assert.ok(r instanceof LineParseError);
    assert.equal(r.reason, 'ambiguous line: gave up searching for a split that matches the format');
  });
});
