import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfError } from '../errors.ts';
import { type ConfStatement, lexNginxConf, unescapeConfWord } from './lexer.ts';

/** Statements as `[kind, words…]` for compact assertions. */
function shape(text: string): string[][] {
  return lexNginxConf(text, 'test.conf').map((s) =>
    s.kind === 'end' ? ['}'] : [s.kind, ...s.words.map((w) => w.value)],
  );
}

function syntaxError(text: string, line: number, message: string): void {
  assert.throws(
    () => lexNginxConf(text, 'dir/test.conf'),
    (e: unknown) =>
      e instanceof ConfError &&
      e.code === 'ERR_CONF_SYNTAX' &&
      e.file === 'dir/test.conf' &&
      e.line === line &&
      e.message === `dir/test.conf:${line}: ${message}`,
  );
}

describe('lexNginxConf', () => {
  it('splits words on whitespace and ends statements at ; { }', () => {
    assert.deepEqual(shape('worker_processes  4;\nevents\t{\r\n worker_connections 64; }\n'), [
      ['directive', 'worker_processes', '4'],
      ['block', 'events'],
      ['directive', 'worker_connections', '64'],
      ['}'],
    ]);
  });

  it('records the line of each word, of the statement and of its end', () => {
    const s = lexNginxConf('\n\nlog_format main\n  "a"\n  \'b\';\n}', 'f');
    assert.deepEqual(s, [
      {
        kind: 'directive',
        words: [
          { value: 'log_format', line: 3 },
          { value: 'main', line: 3 },
          { value: 'a', line: 4 },
          { value: 'b', line: 5 },
        ],
        line: 3,
        endLine: 5,
      },
      { kind: 'end', line: 6 },
    ] satisfies ConfStatement[]);
  });

  it('ends a word at ; or { with no space before it', () => {
    assert.deepEqual(shape('a b;c{d;}'), [
      ['directive', 'a', 'b'],
      ['block', 'c'],
      ['directive', 'd'],
      ['}'],
    ]);
  });

  it('keeps # and } inside an unquoted word', () => {
    assert.deepEqual(shape('return 200 a#b}c;'), [['directive', 'return', '200', 'a#b}c']]);
  });

  it('treats # at the start of a word as a comment to the end of the line', () => {
    assert.deepEqual(shape('# top\na b; # trailing ; { }\n#x;\nc;#'), [
      ['directive', 'a', 'b'],
      ['directive', 'c'],
    ]);
  });

  it('does not open a block at ${ inside a word', () => {
    assert.deepEqual(shape('set $x ${host}y;\nlog_format a x${status}y${{z;'), [
      ['directive', 'set', '$x', '${host}y'],
      ['directive', 'log_format', 'a', 'x${status}y${{z'],
    ]);
    // Not after a $ the word does not start with: `a{` opens a block.
    assert.deepEqual(shape('a{ }'), [['block', 'a'], ['}']]);
  });

  it('reads single- and double-quoted strings, whitespace and ; { } # included', () => {
    assert.deepEqual(shape(`a "b c;{}#" 'd "e" \n f' "" '';`), [
      ['directive', 'a', 'b c;{}#', 'd "e" \n f', '', ''],
    ]);
  });

  it('accepts whitespace, ;, { and ) after a closing quote; ) starts the next word', () => {
    assert.deepEqual(shape('if ($a = "b") { }'), [['block', 'if', '($a', '=', 'b', ')'], ['}']]);
    assert.deepEqual(shape('"a"{ }"b"\t"c";'), [['block', 'a'], ['}'], ['directive', 'b', 'c']]);
  });

  it('resolves backslash escapes as nginx copies a word', () => {
    // Checked against nginx 1.22 writing these through log_format.
    assert.deepEqual(shape(String.raw`f 'q[a\tb\"c\xd\\e\'f\ng]' "Q[\'x\"\q]" u[a\ b\;c\"d];`), [
      ['directive', 'f', 'q[a\tb"c\\xd\\e\'f\ng]', 'Q[\'x"\\q]', 'u[a\\ b\\;c"d]'],
    ]);
    assert.deepEqual(shape(String.raw`a \"b \\ c\r;`), [['directive', 'a', '"b', '\\', 'c\r']]);
  });

  it('lets a backslash protect the next character, a newline included', () => {
    const s = lexNginxConf('a b\\\nc;\nd;', 'f');
    assert.deepEqual(
      s.map((x) => (x.kind === 'end' ? x.line : [x.line, x.endLine, x.words.map((w) => w.value)])),
      [
        [1, 2, ['a', 'b\\\nc']],
        [3, 3, ['d']],
      ],
    );
  });

  it('returns nothing for an empty or comment-only file', () => {
    assert.deepEqual(shape(''), []);
    assert.deepEqual(shape('  \n# only a comment'), []);
  });

  describe('errors, located at the offending character', () => {
    it('a character right after a closing quote', () => {
      syntaxError('log_format a "x"b;', 1, 'unexpected "b"');
      syntaxError("\n\na 'x'#c;", 3, 'unexpected "#"');
      syntaxError('a "x"}', 1, 'unexpected "}"');
      syntaxError('a "x\ny"z;', 2, 'unexpected "z"');
    });
    it('; or { with no directive name', () => {
      syntaxError('a;\n;', 2, 'unexpected ";"');
      syntaxError('\n{', 2, 'unexpected "{"');
      syntaxError('a {\n  }\n  ;', 3, 'unexpected ";"');
    });
    it('} in the middle of a directive', () => {
      syntaxError('server {\n listen 80\n}', 3, 'unexpected "}"');
    });
    it('end of file inside a directive, a string or after a backslash', () => {
      syntaxError('events {}\nhttp', 2, 'unexpected end of file, expecting ";" or "}"');
      syntaxError('a "b\n\n', 3, 'unexpected end of file, expecting ";" or "}"');
      syntaxError('a b\\', 1, 'unexpected end of file, expecting ";" or "}"');
      syntaxError('a "b"\n', 2, 'unexpected end of file, expecting ";" or "}"');
    });
  });
});

describe('unescapeConfWord', () => {
  it('keeps unknown escapes and a trailing backslash', () => {
    assert.equal(unescapeConfWord(String.raw`\d\.\$\\\"\'\t\n\r\x`), '\\d\\.\\$\\"\'\t\n\r\\x');
    assert.equal(unescapeConfWord('a\\'), 'a\\');
    assert.equal(unescapeConfWord('plain'), 'plain');
  });
});
