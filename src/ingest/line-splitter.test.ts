import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBytes } from '../format/bytes.ts';
import { LineSplitter } from './line-splitter.ts';

function feed(s: LineSplitter, ...chunks: (string | Buffer)[]): string[] {
  const out: string[] = [];
  for (const c of chunks)
    s.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c, (b) => out.push(...b.lines()));
  return out;
}

/** Reference: split the whole input at once. */
function reference(input: Buffer, max: number): { lines: string[]; overLong: number; rest: number } {
  const lines: string[] = [];
  let overLong = 0;
  let start = 0;
  for (;;) {
    const nl = input.indexOf(0x0a, start);
    if (nl === -1) break;
    let end = nl;
    if (end > start && input[end - 1] === 0x0d) end--;
    if (end - start > max) overLong++;
    else lines.push(decodeBytes(input.subarray(start, end)));
    start = nl + 1;
  }
  const rest = input.length - start;
  // An unterminated line is counted as soon as it outgrows the cap (+1 for a possible \r).
  if (rest > max + 1) overLong++;
  return { lines, overLong, rest };
}

describe('LineSplitter', () => {
  it('splits complete lines and strips one trailing \\r', () => {
    const s = new LineSplitter();
    assert.deepEqual(feed(s, 'a\nbb\r\n\nc\r\r\n'), ['a', 'bb', '', 'c\r']);
    assert.equal(s.partialBytes, 0);
  });

  it('holds a partial last line until its newline arrives', () => {
    const s = new LineSplitter();
    assert.deepEqual(feed(s, 'one\ntw'), ['one']);
    assert.equal(s.partialBytes, 2);
    assert.deepEqual(feed(s, 'o'), []);
    assert.equal(s.partialBytes, 3);
    assert.deepEqual(feed(s, '\nthree\n'), ['two', 'three']);
    assert.equal(s.partialBytes, 0);
  });

  it('reset() drops the partial line and reports its size', () => {
    const s = new LineSplitter();
    feed(s, 'abc');
    assert.equal(s.reset(), 3);
    assert.deepEqual(feed(s, 'x\n'), ['x']);
  });

  it('skips an over-long line in one chunk, counts it, and keeps the next', () => {
    const s = new LineSplitter({ maxLineBytes: 8 });
    assert.deepEqual(feed(s, '12345678\n123456789\nok\n'), ['12345678', 'ok']);
    assert.equal(s.overLong, 1);
  });

  it('skips an over-long line spread over chunks without buffering it', () => {
    const s = new LineSplitter({ maxLineBytes: 10 });
    assert.deepEqual(feed(s, 'head\n0123456'), ['head']);
    assert.equal(s.partialBytes, 7);
    assert.deepEqual(feed(s, '789ab'), []);
    assert.equal(s.overLong, 1);
    assert.equal(s.partialBytes, 0, 'nothing of the over-long line is kept');
    assert.ok(s.skipping);
    assert.deepEqual(feed(s, 'x'.repeat(1000)), []);
    assert.equal(s.partialBytes, 0);
    assert.deepEqual(feed(s, 'tail\nnext\n'), ['next']);
    assert.equal(s.overLong, 1);
  });

  it('a line of exactly maxLineBytes plus \\r\\n is kept', () => {
    const s = new LineSplitter({ maxLineBytes: 4 });
    assert.deepEqual(feed(s, 'ab', 'cd\r', '\n'), ['abcd']);
    assert.deepEqual(feed(s, 'abcde\r\n'), []);
    assert.equal(s.overLong, 1);
  });

  it('skipToNewline() discards the rest of the current line', () => {
    const s = new LineSplitter();
    s.skipToNewline();
    assert.deepEqual(feed(s, 'of a line\nwhole\n'), ['whole']);
  });

  it('decodes every line exactly as decodeBytes does (ASCII, UTF-8, invalid bytes, mixed chunks)', () => {
    const lines = [
      Buffer.from('plain ascii'),
      Buffer.from('caf\u00e9 \u{1f600}'),
      Buffer.from([0x2f, 0x80, 0xff, 0xc3]),
      Buffer.from([0xed, 0xa0, 0x80, 0x41]),
      Buffer.from(''),
    ];
    const input = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    for (const chunkSize of [1, 3, 7, input.length]) {
      const s = new LineSplitter();
      const got: string[] = [];
      for (let at = 0; at < input.length; at += chunkSize)
        s.push(input.subarray(at, at + chunkSize), (b) => got.push(...b.lines()));
      assert.deepEqual(
        got,
        lines.map((l) => decodeBytes(l)),
        `chunk size ${chunkSize}`,
      );
    }
  });

  it('decodes raw bytes losslessly', () => {
    const s = new LineSplitter();
    const out = feed(s, Buffer.from([0x2f, 0x80, 0xff, 0x0a, 0xc3]), Buffer.from([0xa9, 0x0a]));
    assert.deepEqual(out, ['/\udc80\udcff', 'é']);
  });

  it('gives the same lines as a whole-input split for any chunking (property)', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const parts: number[] = [];
      const len = rand(400);
      for (let i = 0; i < len; i++) {
        const r = rand(20);
        // Some rounds are pure ASCII (the chunk-level fast path), the others mix in high bytes.
        const high = round % 2 === 0 && r === 2;
        parts.push(r === 0 ? 0x0a : r === 1 ? 0x0d : high ? 0x80 + rand(128) : 0x61 + rand(26));
      }
      const input = Buffer.from(parts);
      const max = 1 + rand(30);
      const want = reference(input, max);
      const s = new LineSplitter({ maxLineBytes: max });
      const got: string[] = [];
      let at = 0;
      while (at < input.length) {
        const step = 1 + rand(40);
        s.push(input.subarray(at, at + step), (b) => got.push(...b.lines()));
        at += step;
      }
      assert.deepEqual(got, want.lines, `round ${round}`);
      assert.equal(s.overLong, want.overLong, `round ${round} overLong`);
      assert.ok(s.partialBytes <= max + 1, `round ${round} partial bounded`);
      if (!s.skipping) assert.equal(s.partialBytes, want.rest, `round ${round} partial`);
    }
  });
});
