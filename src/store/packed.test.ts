import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Interner } from './interner.ts';
import { packedIndex, packedLength, packStrings, unpackStrings, ValueLog, withValues } from './packed.ts';

const short = () => new Error('cut');

describe('packed values', () => {
  it("an interner's pack is the layout of its values by id, freed ids empty, raw bytes as they are", () => {
    const it = new Interner();
    const a = it.intern('/a');
    const gone = it.intern('/gone');
    it.acquire(a);
    it.acquire(gone);
    // Raw bytes that are not UTF-8 (a log's own), a non-ASCII text, and a long value.
    const raw = it.internBytes(Uint8Array.from([0x2f, 0xff, 0xfe]), 0, 3);
    const e = it.intern('/é');
    const long = it.intern(`/${'x'.repeat(100)}`);
    it.release(gone);
    const p = it.pack();
    const values = unpackStrings(p);
    assert.equal(values.length, it.capacity);
    assert.equal(values[a], '/a');
    assert.equal(values[gone], '');
    assert.equal(values[e], '/é');
    assert.equal(values[long], `/${'x'.repeat(100)}`);
    const at = packedIndex(p, short);
    assert.deepEqual([...p.subarray(at[raw], (at[raw + 1] as number) - 4)], [0x2f, 0xff, 0xfe]);
    // Interned again from the packed bytes: the same ids in a fresh interner for every value.
    const again = new Interner();
    for (let id = 2; id < at.length - 1; id++) {
      const s = at[id] as number;
      const t = (at[id + 1] as number) - 4;
      if (s < t) assert.equal(again.value(again.internBytes(p, s, t)), it.value(id));
    }
    assert.equal(packedLength(p, 0, short), p.length);
  });

  it('packTo hands the same bytes over in pieces of any size, a value longer than a piece whole', () => {
    const it = new Interner();
    for (let i = 0; i < 300; i++) it.acquire(it.intern(`/v/${i}/${'y'.repeat(i % 50)}`));
    it.release(it.lookup('/v/7/yyyyyyy') as number);
    it.acquire(it.intern(`/${'z'.repeat(5000)}`));
    const whole = it.pack();
    assert.equal(unpackStrings(whole).length, it.capacity);
    for (const piece of [8, 9, 33, 100, 4096, 1 << 20]) {
      const parts: Buffer[] = [];
      it.packTo((b) => {
        // Longer than a piece: one value, whole.
        if (b.length > piece)
          assert.ok(it.lookup(Buffer.from(b).toString('latin1')) !== undefined, `${b.length}`);
        parts.push(Buffer.from(b));
      }, piece);
      assert.deepEqual(Buffer.concat(parts), Buffer.from(whole), `pieces of ${piece}`);
    }
  });

  it('a cut or overlong buffer is refused', () => {
    const p = packStrings(['', 'ab', 'cde']);
    assert.deepEqual(unpackStrings(p), ['', 'ab', 'cde']);
    for (let n = 0; n < p.length; n++) {
      assert.throws(() => packedIndex(p.subarray(0, n), short), /cut/, `cut at ${n}`);
      assert.throws(() => packedLength(p.subarray(0, n), 0, short), /cut/, `cut at ${n}`);
    }
    const longer = new Uint8Array(p.length + 1);
    longer.set(p);
    assert.throws(() => packedIndex(longer, short), /cut/);
    assert.equal(packedLength(longer, 0, short), p.length);
  });

  it('withValues replaces values by the last the log wrote, adds ids past the count (empty between), and keeps the rest', () => {
    const p = packStrings(['', 'one', 'two', 'three']);
    const log = (m: [number, string][]) => {
      const l = new ValueLog();
      const cat = Buffer.from(m.map(([, v]) => v).join(''));
      const src = l.source(cat);
      let o = 0;
      for (const [id, v] of m) {
        l.add(id, src, o, Buffer.byteLength(v));
        o += Buffer.byteLength(v);
      }
      return l;
    };
    assert.equal(withValues(p, new ValueLog(), short), p);
    const q = withValues(
      p,
      log([
        [2, 'TWO'],
        [0, 'zero'],
        [6, 'sixty'],
        [6, 'six'],
      ]),
      short,
    );
    assert.deepEqual(unpackStrings(q), ['zero', 'one', 'TWO', 'three', '', '', 'six']);
    assert.deepEqual(unpackStrings(withValues(p, log([[3, '']]), short)), ['', 'one', 'two', '']);
    assert.deepEqual(unpackStrings(withValues(p, log([[4, 'four']]), short)), [
      '',
      'one',
      'two',
      'three',
      'four',
    ]);
  });
});
