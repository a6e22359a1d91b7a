import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { D } from './dimensions.ts';
import { PartialRestoreError, StateKeeper, type StateKeeperOptions } from './journal.ts';
import { Store, type StoreOptions } from './store.ts';
import { WINDOWS } from './windows.ts';

const root = mkdtempSync(join(tmpdir(), 'logtally-journal-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const file = () => join(root, `state-${n++}`);

const T0 = 1_795_000_200;

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

/** Adds `count` lines over `seconds` from the clock's time, some of them late (up to 90 min). */
function traffic(s: Store, clock: { t: number }, count: number, seconds: number, rand: () => number) {
  for (let i = 0; i < count; i++) {
    clock.t += seconds / count;
    const late = rand() < 0.2 ? rand() * 5400 : 0;
    s.add(
      `s${Math.floor(rand() * 5)}.test`,
      `192.0.${Math.floor(rand() * 40)}.1`,
      `/p/${Math.floor(rand() * 300)}`,
      [200, 404, 503][Math.floor(rand() * 3)] as number,
      '',
      'GET',
      Math.floor(rand() * 1000),
      rand(),
      clock.t - late,
    );
  }
}

/** Every window's answers, to compare two stores. */
function answers(s: Store) {
  return WINDOWS.map((w) => ({
    w,
    trend: s.trend(w),
    uri: s.topN({ groupBy: 'uri', window: w, n: 1000 }),
    prefix: s.topN({ groupBy: 'prefix', window: w, n: 1000 }),
    status: s.topN({ groupBy: 'status', window: w, n: 10 }),
  }));
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** Appends a group made by hand: its JSON header and what follows it, framed with length and CRC-32. */
function appendGroup(journal: string, json: Buffer, body: Uint8Array[]) {
  const payload = Buffer.concat([u32(json.length), json, ...body]);
  appendFileSync(journal, Buffer.concat([u32(payload.length), payload, u32(crc32(payload))]));
}

/** A store and its keeper on a new file, the keeper's first snapshot (meta `meta`) taken. */
function kept(o: { store?: StoreOptions; keeper?: StateKeeperOptions; meta?: unknown } = {}) {
  const path = file();
  const clock = { t: T0 };
  const a = new Store({ ...o.store, now: () => clock.t });
  const keeper = new StateKeeper(a, path, o.keeper);
  keeper.snapshot(o.meta ?? 0);
  return { path, clock, a, keeper };
}

function restored(path: string, clock: { t: number }, opts: StoreOptions = {}) {
  const s = new Store({ ...opts, now: () => clock.t });
  const r = new StateKeeper(s, path).restore();
  assert.ok(r);
  return { s, r };
}

/**
 * Restores `path` and checks that the journal ended after its first group (meta 1), with a problem
 * matching `problem`, the answers those of `want`.
 */
function endsAfterFirstGroup(
  path: string,
  clock: { t: number },
  want: ReturnType<typeof answers>,
  problem: RegExp,
) {
  const { s, r } = restored(path, clock);
  assert.equal(r.groups, 1);
  assert.deepEqual(r.meta, 1);
  assert.match(r.journalProblem ?? '', problem);
  assert.deepEqual(answers(s), want);
}

describe('state keeper: snapshot + journal', () => {
  it('restores exactly what the last checkpoint held, live minute and late lines included', () => {
    const { path, clock, a, keeper } = kept({ meta: { n: 0 } });
    const rand = rng(7);
    let last = 0;
    for (let k = 1; k <= 40; k++) {
      traffic(a, clock, 500, 20, rand);
      const r = keeper.checkpoint({ n: k });
      assert.equal(r.kind, 'journal');
      last = k;
    }
    const want = answers(a);
    const { s: b, r } = restored(path, clock);
    assert.equal(r.groups, 40);
    assert.deepEqual(r.meta, { n: last });
    assert.deepEqual(answers(b), want);
  });

  it('a checkpoint cut short by a crash is not applied: the state is the checkpoint before it', () => {
    const { path, clock, a, keeper } = kept();
    const rand = rng(11);
    traffic(a, clock, 3000, 200, rand);
    keeper.checkpoint(1);
    // What the store held then, to be asked later (windows move with the clock).
    const then = new Store({ now: () => clock.t });
    then.importState(a.exportState());
    const size = statSync(keeper.journalPath).size;
    traffic(a, clock, 3000, 50, rand);
    keeper.checkpoint(2);
    truncateSync(keeper.journalPath, size + 100);
    const { s: b, r } = restored(path, clock);
    assert.deepEqual(r.meta, 1);
    assert.match(r.journalProblem ?? '', /cut short/);
    assert.deepEqual(answers(b), answers(then));
    // A damaged byte in the last group: the same.
    truncateSync(keeper.journalPath, size);
    keeper.checkpoint(3);
    const j = readFileSync(keeper.journalPath);
    j[size + 40] = (j[size + 40] as number) ^ 1;
    writeFileSync(keeper.journalPath, j);
    const { r: r2 } = restored(path, clock);
    assert.deepEqual(r2.meta, 1);
    assert.match(r2.journalProblem ?? '', /damaged/);
  });

  it('a zero-filled tail (a crash of the machine after the journal grew) ends the journal there, the snapshot kept', () => {
    const { path, clock, a, keeper } = kept();
    traffic(a, clock, 2000, 100, rng(21));
    keeper.checkpoint(1);
    const want = answers(a);
    appendFileSync(keeper.journalPath, Buffer.alloc(64));
    endsAfterFirstGroup(path, clock, want, /wrong size at byte/);
  });

  it('a group naming an id no interner hands out is refused whole: the journal ends before it', () => {
    const { path, clock, a, keeper } = kept();
    traffic(a, clock, 500, 30, rng(23));
    keeper.checkpoint(1);
    const want = answers(a);
    // A group with a value for id 2^28 (and one for id 5 before it), then an empty live minute.
    const json = Buffer.from(
      JSON.stringify({
        liveStart: a.checkpointView().liveStart,
        meta: 2,
        buckets: [],
        live: { start: 0, span: 60, size: 0, totalRequests: 0, totalBytes: 0, totalTime: 0 },
      }),
    );
    // The URIs' values (the answers name them): two, the first for an id in use.
    const values = [
      u32(0),
      u32(0),
      u32(2),
      u32(5),
      u32(1),
      Buffer.from('x'),
      u32(1 << 28),
      u32(1),
      Buffer.from('y'),
    ];
    for (let d = 3; d < D; d++) values.push(u32(0));
    appendGroup(keeper.journalPath, json, values);
    endsAfterFirstGroup(path, clock, want, /wrong size/);
  });

  it('a group whose bucket header has a total that is not a number, or a span of neither ring, is refused as the state file would refuse it', () => {
    const { path, clock, a, keeper } = kept();
    traffic(a, clock, 500, 30, rng(29));
    keeper.checkpoint(1);
    const want = answers(a);
    const live = { start: 0, span: 60, size: 0, totalRequests: 0, totalBytes: 0, totalTime: 0 };
    const none = Array.from({ length: D }, () => u32(0));
    for (const bucket of [
      { ...live, start: T0 - 600, totalRequests: null },
      { ...live, start: T0 - 600, span: 120 },
    ]) {
      const json = { liveStart: a.checkpointView().liveStart, meta: 2, buckets: [bucket], live };
      const size = statSync(keeper.journalPath).size;
      appendGroup(keeper.journalPath, Buffer.from(JSON.stringify(json)), none);
      endsAfterFirstGroup(path, clock, want, /unreadable checkpoint header/);
      truncateSync(keeper.journalPath, size);
    }
  });

  it('compacts into a snapshot once the journal outgrows it; a stale journal is ignored', () => {
    const { path, clock, a, keeper } = kept({ keeper: { journalMinBytes: 0 } });
    const rand = rng(3);
    const kinds: string[] = [];
    for (let k = 1; k <= 30; k++) {
      traffic(a, clock, 400, 15, rand);
      kinds.push(keeper.checkpoint(k).kind);
    }
    assert.ok(kinds.includes('snapshot') && kinds.includes('journal'), kinds.join());
    const want = answers(a);
    const old = readFileSync(keeper.journalPath);
    keeper.snapshot(31);
    // The previous journal back beside the new snapshot (a crash between the two renames).
    writeFileSync(keeper.journalPath, old);
    const { s: b, r } = restored(path, clock);
    assert.equal(r.groups, 0);
    assert.deepEqual(r.meta, 31);
    assert.deepEqual(answers(b), want);
  });

  it('ids handed out again between checkpoints name their new values after a restore, at every checkpoint', () => {
    const path = file();
    const clock = { t: T0 };
    // Small caps and a new URI on every line: keys are pushed out and cut, their values freed and
    // their ids handed out again for other URIs, all through the journal's life.
    const opts = { liveCap: 60, fineKeep: 20, coarseKeep: 10 };
    const a = new Store({ ...opts, now: () => clock.t });
    const keeper = new StateKeeper(a, path);
    keeper.snapshot(0);
    let serial = 0;
    const uris = a.interners[2];
    assert.ok(uris);
    const reusedAt = uris.reuses;
    for (let k = 1; k <= 150; k++) {
      for (let i = 0; i < 120; i++) {
        clock.t += 0.25;
        a.add(
          `s${serial % 3}.test`,
          `192.0.2.${serial % 7}`,
          `/u/${serial++}`,
          200,
          '',
          'GET',
          10,
          0.5,
          clock.t - (i % 5) * 70,
        );
      }
      assert.equal(keeper.checkpoint(k).kind, 'journal');
      if (k % 30 === 0) {
        const { s: b, r } = restored(path, clock, opts);
        assert.equal(r.groups, k);
        assert.deepEqual(answers(b), answers(a), `checkpoint ${k}`);
      }
    }
    assert.ok(uris.reuses - reusedAt > 10_000, `ids handed out again: ${uris.reuses - reusedAt}`);
  });

  it('more ids handed out again than the interner can name since the last checkpoint: the group writes every value it uses, restored exactly', () => {
    const { path, clock, a, keeper } = kept({ store: { liveCap: 100 } });
    for (let i = 0; i < 1000; i++) a.add('s.test', '192.0.2.1', `/a/${i}`, 200, '', 'GET', 1, 0.1, clock.t);
    assert.equal(keeper.checkpoint(1).kind, 'journal');
    const uris = a.interners[2];
    assert.ok(uris);
    const before = uris.reuses;
    for (let i = 0; i < 70_000; i++) a.add('s.test', '192.0.2.1', `/b/${i}`, 200, '', 'GET', 1, 0.1, clock.t);
    assert.ok(uris.reuses - before > 65_536, `ids handed out again: ${uris.reuses - before}`);
    assert.equal(keeper.checkpoint(2).kind, 'journal');
    assert.deepEqual(answers(restored(path, clock).s), answers(a));
    for (let i = 0; i < 1000; i++) a.add('s.test', '192.0.2.1', `/c/${i}`, 200, '', 'GET', 1, 0.1, clock.t);
    assert.equal(keeper.checkpoint(3).kind, 'journal');
    const { s: b, r } = restored(path, clock);
    assert.equal(r.groups, 3);
    assert.deepEqual(answers(b), answers(a));
  });

  it("reads a journal written before the values left the group's header (values as [id, text] pairs)", () => {
    const { path, clock, a, keeper } = kept();
    // Lines of the current minute only (the group below carries the live minute alone).
    const rand = rng(9);
    for (let i = 0; i < 300; i++)
      a.add(
        `s${i % 4}.test`,
        `192.0.${i % 30}.1`,
        `/é/${Math.floor(rand() * 90)}`,
        200,
        '',
        'GET',
        i,
        0.25,
        clock.t,
      );
    // A group as the journal wrote it then, appended by hand: every value of the live minute in
    // the header, then the live minute's columns.
    const view = a.checkpointView();
    const live = view.live;
    const values = a.interners.map((it, d) => {
      const ids = new Set<number>();
      for (let e = 0; e < live.size; e++) ids.add(live.ids[e * D + d] as number);
      return [...ids].map((id) => [id, it.value(id)]);
    });
    const header = {
      liveStart: view.liveStart,
      meta: 1,
      values,
      buckets: [],
      live: {
        start: live.start,
        span: live.span,
        size: live.size,
        totalRequests: live.totalRequests,
        totalBytes: live.totalBytes,
        totalTime: live.totalTime,
      },
    };
    appendGroup(keeper.journalPath, Buffer.from(JSON.stringify(header)), [
      new Uint8Array(live.ids.buffer, live.ids.byteOffset, live.size * D * 4),
      new Uint8Array(Float64Array.from(live.requests.subarray(0, live.size)).buffer),
      new Uint8Array(live.bytes.buffer, live.bytes.byteOffset, live.size * 8),
      new Uint8Array(live.time.buffer, live.time.byteOffset, live.size * 8),
    ]);
    const { s: b, r } = restored(path, clock);
    assert.equal(r.groups, 1);
    assert.equal(r.journalProblem, undefined);
    assert.deepEqual(r.meta, 1);
    assert.deepEqual(answers(b), answers(a));
  });

  it('a checkpoint that fails before its group is written (a meta JSON cannot hold) makes the next one a snapshot', () => {
    const { path, clock, a, keeper } = kept();
    traffic(a, clock, 500, 30, rng(13));
    assert.throws(() => keeper.checkpoint({ n: 1n }), /BigInt/);
    assert.equal(keeper.checkpoint(2).kind, 'snapshot');
    traffic(a, clock, 500, 30, rng(17));
    assert.equal(keeper.checkpoint(3).kind, 'journal');
    const { s: b, r } = restored(path, clock);
    assert.deepEqual(r.meta, 3);
    assert.deepEqual(answers(b), answers(a));
  });

  it('restores after the clock moved on: later minutes roll as they would have', () => {
    const { path, clock, a, keeper } = kept();
    traffic(a, clock, 2000, 100, rng(5));
    keeper.checkpoint(1);
    clock.t += 1000;
    const want = answers(a);
    const { s: b } = restored(path, clock);
    assert.deepEqual(answers(b), want);
  });

  it('a read that fails while the store takes the buckets (the file changed meanwhile) is a PartialRestoreError', () => {
    const path = file();
    const clock = { t: T0 };
    const a = new Store({ now: () => clock.t });
    const keeper = new StateKeeper(a, path);
    traffic(a, clock, 2000, 300, rng(3));
    keeper.snapshot(1);
    // Every check of the file passes; then, as the store starts to take the state, the file is cut.
    class Cut extends Store {
      override importState(state: Parameters<Store['importState']>[0]): void {
        truncateSync(path, 100);
        super.importState(state);
      }
    }
    const b = new Cut({ now: () => clock.t });
    assert.throws(
      () => new StateKeeper(b, path).restore(),
      (e: Error) =>
        e instanceof PartialRestoreError &&
        /truncated state file\) after part of the state was taken/.test(e.message),
    );
  });
});
