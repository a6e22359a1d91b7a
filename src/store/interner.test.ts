import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../test/support/prng.ts';
import { encodeString } from '../format/bytes.ts';
import { OTHER, OTHER_TEXT } from './dimensions.ts';
import { Interner } from './interner.ts';
import { unpackStrings } from './packed.ts';

/** Every value the interner holds, by id, read through `pack` and checked against `value`. */
function contents(it: Interner): Map<number, string> {
  const all = unpackStrings(it.pack());
  assert.equal(all.length, it.capacity);
  const held = new Map<number, string>();
  all.forEach((text, id) => {
    assert.equal(it.value(id), text, `value(${id})`);
    if ((text !== '' || id === 0) && it.lookup(text) === id) held.set(id, text);
  });
  return held;
}

describe('Interner', () => {
  it('holds the empty value as id 0 and the residuals value as id 1', () => {
    const it = new Interner();
    assert.equal(it.intern(''), 0);
    assert.equal(it.intern(OTHER_TEXT), OTHER);
    assert.equal(it.value(0), '');
    assert.equal(it.value(OTHER), OTHER_TEXT);
    assert.equal(it.size, 2);
    assert.equal(it.capacity, 2);
  });

  it('gives a text the same id from a string and from its bytes, and reads it back exactly', () => {
    const it = new Interner();
    const texts = [
      '/index.html',
      'a',
      'x'.repeat(200), // a two-byte length
      'caf\u00e9', // latin1, stored as UTF-8
      '/\u4e2d\u6587', // BMP
      '/\u{1f600}', // astral: a surrogate pair
      '/raw\udc80\udcff', // raw bytes 0x80 0xff kept as surrogate escapes
      '\ufeff/bom', // a leading U+FEFF is text, not a byte-order mark to drop
      '\ufeff',
      ' spaced ',
    ];
    const ids = texts.map((t) => it.intern(t));
    assert.equal(new Set(ids).size, texts.length);
    texts.forEach((t, i) => {
      assert.equal(it.value(ids[i] as number), t);
      assert.equal(it.lookup(t), ids[i]);
      const b = encodeString(t);
      const padded = new Uint8Array(b.length + 6);
      padded.set(b, 3);
      assert.equal(it.internBytes(padded, 3, 3 + b.length), ids[i], t);
      assert.equal(it.equalsBytes(ids[i] as number, padded, 3, 3 + b.length), true);
    });
    assert.equal(it.lookup('/index.htm'), undefined);
    assert.equal(it.lookup('caf\u00e9!'), undefined);
    // Bytes first, string second.
    const b = Buffer.from('/from-bytes');
    const id = it.internBytes(b, 0, b.length);
    assert.equal(it.intern('/from-bytes'), id);
    assert.equal(it.value(id), '/from-bytes');
  });

  it('frees unreferenced values, reuses their ids (each one named by catchUp), and compacts its arena', () => {
    const it = new Interner();
    const live = new Map<number, string>();
    let serial = 0;
    // Rounds of churn: each adds values (some long enough to take chunks of their own), and frees
    // most of the older ones, so chunks fill, empty, are given back and are compacted for reuse.
    let seen = 0;
    for (let round = 0; round < 30; round++) {
      const added = new Set<number>();
      const reused: number[] = [];
      for (let i = 0; i < 20_000; i++) {
        const long = i % 5_000 === 0;
        const text = long ? `/long/${serial}/${'y'.repeat(200_000)}` : `/r${round}/v${serial}`;
        serial++;
        const before = it.capacity;
        const id = it.intern(text);
        it.acquire(id);
        added.add(id);
        if (id < before) {
          assert.equal(live.has(id), false, 'a reused id was free');
          reused.push(id);
        }
        live.set(id, text);
      }
      // Every id handed out again, in order: a cache keyed by id forgets exactly these.
      // 20 000 values a round: within the log, each reused id is named, in order.
      const named: number[] = [];
      seen = it.catchUp(
        seen,
        (id) => named.push(id),
        () => assert.fail('the log holds a round'),
      );
      assert.deepEqual(named, reused);
      for (const [id] of [...live].filter((_, i) => i % 10 !== 0 || round % 2 === 0)) {
        if (added.has(id)) continue;
        it.release(id);
        live.delete(id);
      }
      for (const [id, text] of live) if (it.value(id) !== text) assert.fail(`id ${id} in round ${round}`);
      // The arena follows the values in use: freed space is compacted and reused, chunks whose
      // values are all freed are given back (the long values are 200 kB each).
      let bytes = 0;
      for (const text of live.values()) bytes += text.length + 9;
      assert.ok(it.memory < 2 * bytes + (16 << 20), `round ${round}: ${it.memory} bytes for ${bytes}`);
    }
    const got = contents(it);
    got.delete(0);
    got.delete(OTHER);
    assert.deepEqual(got, live);
    for (const [id, text] of live) assert.equal(it.intern(text), id);
    assert.equal(it.size, live.size + 2);
    // Freed everything: the arena gives its chunks back (one kept for new values).
    for (const id of live.keys()) it.release(id);
    assert.equal(it.size, 2);
    assert.ok(it.memory < 8 << 20, `memory after freeing everything: ${it.memory}`);
  });

  it('gives back the chunks a burst of values leaves nearly empty, moving the few kept', () => {
    const it = new Interner();
    const kept = new Map<number, string>();
    const burst: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      const text = `/burst/${i}/${'z'.repeat(90)}`;
      const id = it.intern(text);
      it.acquire(id);
      if (i % 50 === 0) kept.set(id, text);
      else burst.push(id);
    }
    const full = it.memory;
    for (const id of burst) it.release(id);
    // 4 000 values of ~100 bytes kept of 20 MB: a few chunks, not the twenty they were spread over.
    assert.ok(it.memory < full / 3, `${it.memory} bytes held after the burst (${full} before)`);
    for (const [id, text] of kept) {
      assert.equal(it.value(id), text);
      assert.equal(it.lookup(text), id);
    }
    // New values go on being stored and found.
    const later = it.intern('/after');
    assert.equal(it.value(later), '/after');
    assert.equal(it.size, kept.size + 3);
  });

  it('sweeps values interned but never acquired', () => {
    const it = new Interner();
    const kept = it.intern('/kept');
    it.acquire(kept);
    const dropped = it.intern('/dropped');
    const since = it.reuses;
    it.sweep();
    assert.equal(it.value(dropped), '');
    assert.equal(it.lookup('/dropped'), undefined);
    assert.equal(it.value(kept), '/kept');
    const again = it.intern('/other-value');
    assert.equal(again, dropped, 'the freed id is reused');
    const named: number[] = [];
    const all = () => assert.fail('within the log');
    assert.equal(
      it.catchUp(since, (id) => named.push(id), all),
      since + 1,
    );
    assert.deepEqual(named, [dropped]);
  });

  it('compares values in byte order (code point order), shorter first on a common prefix', () => {
    const it = new Interner();
    const texts = ['/b', '/a', '/ab', '', '/\u00e9', '/\uffff', '/\u{1f600}', '/A', '/a\u0000'];
    const ids = texts.map((t) => it.intern(t));
    const byCodePoint = [...texts].sort((a, b) => {
      const x = [...a].map((c) => c.codePointAt(0) as number);
      const y = [...b].map((c) => c.codePointAt(0) as number);
      for (let i = 0; i < Math.min(x.length, y.length); i++)
        if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
      return x.length - y.length;
    });
    const sorted = [...ids].sort((a, b) => it.compare(a, b)).map((id) => it.value(id));
    assert.deepEqual(sorted, byCodePoint);
    assert.equal(it.compare(ids[0] as number, ids[0] as number), 0);
  });

  it('finds the next id that ranks above a bound as compare orders them, whatever the length of the values', () => {
    // Lengths around each varint size (a value's length × 4 takes 1 byte below 32, 2 below 4 096,
    // 3 beyond), common prefixes, a prefix of the bound, and the bound itself among the candidates.
    const it = new Interner();
    const rnd = prng(14);
    const texts = new Set<string>();
    for (const len of [0, 1, 5, 30, 31, 32, 33, 100, 4095, 4096, 4097, 9000])
      for (let k = 0; k < 4; k++) {
        let s = '/p/';
        while (s.length < len) s += 'abc'[Math.floor(rnd() * 3)];
        texts.add(s.slice(0, Math.max(len, 1)));
      }
    const ids = Int32Array.from([...texts].map((t) => it.intern(t)));
    const order = new Float64Array(it.capacity);
    for (const id of ids) order[id] = 1 + Math.floor(rnd() * 2);
    let checked = 0;
    for (const bound of ids)
      for (const y of [1, 2]) {
        const above = (id: number) =>
          (order[id] as number) > y || (order[id] === y && it.compare(id, bound) < 0);
        for (let from = 0; from < ids.length; from += 3) {
          let want = from;
          while (want < ids.length && !above(ids[want] as number)) want++;
          assert.equal(
            it.nextAbove(ids, from, ids.length, order, y, bound),
            want,
            `bound ${bound} y ${y} from ${from}`,
          );
          checked++;
        }
      }
    assert.ok(checked > 1000);
  });

  it('finds plain text at the start, at the end, equal, or anywhere in the bytes', () => {
    const it = new Interner();
    const id = it.intern('/api/v1/caf\u00e9');
    const has = (t: string, start: boolean, end: boolean) => it.hasText(id, encodeString(t), start, end);
    assert.equal(has('/api/', true, false), true);
    assert.equal(has('api', true, false), false);
    assert.equal(has('caf\u00e9', false, true), true);
    assert.equal(has('caf', false, true), false);
    assert.equal(has('/v1/', false, false), true);
    assert.equal(has('/v2/', false, false), false);
    assert.equal(has('/api/v1/caf\u00e9', true, true), true);
    assert.equal(has('/api/v1/caf', true, true), false);
    assert.equal(has('', false, false), true);
    assert.equal(it.hasText(12345, encodeString('x'), false, false), false);
  });
  it('refuses a value the arena has no room for before giving it an id (the index stays whole)', () => {
    const it = new Interner({ maxChunks: 1 });
    const big = (c: string) => `/${c.repeat(200_000)}`; // more than a chunk's eighth: a chunk of its own
    const first = it.intern(big('a'));
    const size = it.size;
    const capacity = it.capacity;
    assert.throws(() => it.intern(big('b')), /exceed 4 GiB/);
    assert.throws(() => it.internBytes(encodeString(big('c')), 0, 200_001), /exceed 4 GiB/);
    assert.equal(it.size, size);
    assert.equal(it.capacity, capacity);
    assert.equal(it.lookup(big('b')), undefined);
    assert.equal(it.value(first), big('a'));
    // The active chunk still takes small values.
    const small = it.intern('/small');
    assert.equal(it.value(small), '/small');
    assert.equal(it.lookup('/small'), small);
    assert.deepEqual([...contents(it).values()].sort(), ['', OTHER_TEXT, '/small', big('a')].sort());
  });
  it('names the ids handed out again, in order, while the log holds them (65 536), and asks to forget all past it', () => {
    const it = new Interner();
    const held = ['/h1', '/h2', '/h3'].map((v) => it.intern(v));
    for (const id of held) it.acquire(id);
    const since = it.reuses;
    // Two ids freed and handed out again, one of them twice; /h1 stays.
    it.release(held[1] as number);
    it.release(held[2] as number);
    const x = it.intern('/x');
    const y = it.intern('/y');
    it.sweep(); // /x and /y were never acquired
    const z = it.intern('/z');
    const named: number[] = [];
    let forgotAll = 0;
    it.catchUp(
      since,
      (id) => named.push(id),
      () => forgotAll++,
    );
    assert.deepEqual(named, [x, y, z]);
    assert.equal(forgotAll, 0);
    assert.deepEqual([x, y].sort(), [held[1], held[2]].sort());
    assert.equal(named.includes(held[0] as number), false);
    // Exactly 65 536 behind: named; one more: not.
    const from = it.reuses;
    for (let i = 0; i < 65_536; i++) {
      it.sweep();
      it.intern(`/c${i}`);
    }
    let n = 0;
    it.catchUp(
      from,
      () => n++,
      () => forgotAll++,
    );
    assert.deepEqual([n, forgotAll], [65_536, 0]);
    it.sweep();
    it.intern('/one-more');
    n = 0;
    assert.equal(
      it.catchUp(
        from,
        () => n++,
        () => forgotAll++,
      ),
      from + 65_537,
    );
    assert.deepEqual([n, forgotAll], [0, 1]);
  });
});
