import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readState, saveState } from './persist.ts';
import { Store } from './store.ts';
import { WINDOWS } from './windows.ts';

describe('state file', () => {
  it('restores every window exactly, live minute included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logtally-state-'));
    try {
      const clock = { t: 1_795_000_000 };
      const a = new Store({ now: () => clock.t });
      let seed = 1;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      for (let i = 0; i < 30_000; i++) {
        clock.t += rand() * 6;
        a.add(
          `s${Math.floor(rand() * 5)}.test`,
          rand() < 0.5 ? `192.0.${Math.floor(rand() * 9)}.1` : `2001:db8:${Math.floor(rand() * 9)}::1`,
          // Text, and the escapes of raw bytes a log can hold (not UTF-8): both come back as they were.
          rand() < 0.8 ? `/p/${Math.floor(rand() * 50)}é` : `/raw/${Math.floor(rand() * 5)}\udcff\udc80`,
          [200, 404, 503][Math.floor(rand() * 3)] as number,
          rand() < 0.2 ? '10.0.0.1:80' : '',
          'GET',
          Math.floor(rand() * 1000),
          rand(),
        );
      }
      const file = join(dir, 'state');
      const bytes = saveState(a, file);
      assert.ok(bytes > 1000);
      const b = new Store({ now: () => clock.t });
      // Released as taken: the state's arrays are given back (read as empty), its rings emptied.
      const state = readState(file);
      const taken = [...state.fine, ...state.coarse].filter((x) => x.size > 0);
      assert.ok(taken.length > 10);
      b.importState(state);
      assert.deepEqual([state.fine, state.coarse, state.values], [[], [], []]);
      assert.ok(taken.every((x) => x.ids.length === 0 && x.requests.length === 0 && x.time.length === 0));
      // A state from a live store is not released: its buckets are the store's own.
      const c = new Store({ now: () => clock.t });
      const exported = b.exportState();
      c.importState(exported);
      assert.ok(b.rings().fine.some((x) => x.size > 0 && x.ids.length > 0));
      assert.deepEqual(
        c.topN({ groupBy: 'uri', window: '24h', n: 50 }),
        b.topN({ groupBy: 'uri', window: '24h', n: 50 }),
      );
      for (const w of WINDOWS) {
        for (const groupBy of ['website', 'prefix', 'uri', 'status', 'upstream'] as const) {
          assert.deepEqual(
            b.topN({ groupBy, window: w, n: 1000 }),
            a.topN({ groupBy, window: w, n: 1000 }),
            `${w} ${groupBy}`,
          );
        }
        assert.deepEqual(b.trend(w), a.trend(w), `trend ${w}`);
      }
      // Time goes on after a restart: both stores rotate the same way.
      clock.t += 600;
      assert.deepEqual(b.trend('60m'), a.trend('60m'));
      writeFileSync(join(dir, 'bad'), 'hello world, not a state');
      assert.throws(() => readState(join(dir, 'bad')), /not a logtally state file/);
      // Every truncation of a real state file is a clear error naming the file, never a crash.
      const good = readFileSync(file);
      for (const cut of [9, 12, 20, 100, Math.floor(good.length / 2), good.length - 1]) {
        writeFileSync(join(dir, 'cut'), good.subarray(0, cut));
        assert.throws(
          () => readState(join(dir, 'cut')),
          (e: unknown) => (e as Error).message.startsWith(`${join(dir, 'cut')}: `),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('state file: buckets of many keys over a small vocabulary', () => {
  it('restores a live minute of 50 000 keys built from a few hundred values (48 bytes an entry)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logtally-state-'));
    try {
      const clock = { t: 1_795_000_020 };
      const a = new Store({ now: () => clock.t });
      // 50 × 10 × 100 = 50 000 distinct keys from 160 values: the entries outweigh the vocabulary.
      for (let h = 0; h < 50; h++)
        for (let p = 0; p < 10; p++)
          for (let u = 0; u < 100; u++) a.add(`h${h}`, `192.0.${p}.1`, `/u${u}`, 200, '', 'GET', 1, 0.001);
      const file = join(dir, 'state');
      saveState(a, file);
      const b = new Store({ now: () => clock.t });
      const state = readState(file);
      b.importState(state);
      assert.equal(state.live.ids.length, 0);
      assert.equal(b.stats().liveKeys, 50_000);
      for (const groupBy of ['website', 'prefix', 'uri'] as const) {
        assert.deepEqual(
          b.topN({ groupBy, window: '1m', n: 200 }),
          a.topN({ groupBy, window: '1m', n: 200 }),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('state file: a failed save', () => {
  it('leaves no temporary file behind, and a later save to a good path works', async () => {
    const { mkdirSync, readdirSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'logtally-state-'));
    try {
      const a = new Store({ now: () => 1_795_000_020 });
      a.add('h', '192.0.2.1', '/', 200, '', 'GET', 1, 0.001);
      // The target is a directory with something in it: the final rename fails.
      const target = join(dir, 'state');
      mkdirSync(target);
      writeFileSync(join(target, 'x'), '');
      assert.throws(() => saveState(a, target));
      assert.deepEqual(readdirSync(dir), ['state']);
      const ok = join(dir, 'state2');
      assert.ok(saveState(a, ok) > 0);
      const b = new Store({ now: () => 1_795_000_020 });
      b.importState(readState(ok));
      assert.deepEqual(
        b.topN({ groupBy: 'uri', window: '1m', n: 10 }),
        a.topN({ groupBy: 'uri', window: '1m', n: 10 }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('state file: checksum', () => {
  it('refuses a file changed anywhere (a count column, say); still reads a version 1 file (no checksum)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logtally-state-'));
    try {
      const a = new Store({ now: () => 1_795_000_020 });
      for (let i = 0; i < 100; i++)
        a.add(`h${i % 7}`, `192.0.2.${i}`, `/p${i % 11}`, 200, '', 'GET', 10, 0.001);
      const file = join(dir, 'state');
      saveState(a, file);
      const good = readFileSync(file);
      // One byte of the last bucket's columns (a count), as a damaged disk or a careless edit would.
      const bad = Buffer.from(good);
      bad[bad.length - 20] = (bad[bad.length - 20] as number) ^ 0x40;
      writeFileSync(join(dir, 'bad'), bad);
      assert.throws(() => readState(join(dir, 'bad')), /bad: checksum mismatch/);
      // Version 1: the same layout without the trailing checksum.
      const v1 = Buffer.from(good.subarray(0, good.length - 4));
      const at = v1.indexOf('"version":3');
      v1.write('"version":1', at, 'latin1');
      writeFileSync(join(dir, 'v1'), v1);
      const b = new Store({ now: () => 1_795_000_020 });
      b.importState(readState(join(dir, 'v1')));
      assert.deepEqual(
        b.topN({ groupBy: 'uri', window: '1m', n: 50 }),
        a.topN({ groupBy: 'uri', window: '1m', n: 50 }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
