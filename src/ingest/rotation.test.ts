// Rotation under a concurrent writer: a child process appends numbered lines as fast as it can
// (O_APPEND, like nginx) and asks for a rotation at fixed points; this process rotates the file
// while the writer keeps writing, then tells it to reopen (like nginx's SIGUSR1). Every delivered
// line is checked to be intact, and counted per number.
//
// Rotations are spaced so that the tailer has seen each file before it is rotated (see rotate()).
//
// Guarantees asserted:
// - rename + create, remove + create: every line delivered exactly once (none lost, none twice),
//   including the lines the writer keeps writing to the old file after the rename/unlink and after
//   the new file exists.
// - copytruncate: no line twice, no fragment; the only lines that may be missing are lines written
//   between the copy and the truncate. (The test lets the tailer catch up with the copy before
//   truncating; real logrotate does not wait, so in production the lines still unread at the
//   truncate are lost too. They are in the copy.)
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTailer, type TailEvent, type Tailer } from './tailer.ts';

const root = mkdtempSync(join(tmpdir(), 'logtally-rotate-'));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// Line n is `L<n> ` followed by n % 61 x's: any fragment or merge of two lines is detectable.
const WRITER = `
const fs = require('node:fs');
const path = process.env.W_PATH;
const total = Number(process.env.W_TOTAL);
const batch = Number(process.env.W_BATCH);
const rotations = Number(process.env.W_ROTATIONS);
const pauseMs = Number(process.env.W_PAUSE_MS);
let fd = fs.openSync(path, 'a');
let i = 0;
let next = 1;
let pending = false;
const every = Math.floor(total / (rotations + 1));
// After a rotation the parent sends 'reopen' (reopen the path, like nginx on SIGUSR1) or
// 'rotated' (copytruncate: nothing to do); the acknowledgement says how far we had written.
process.on('message', (m) => {
  if (m.type === 'reopen') {
    fs.closeSync(fd);
    fd = fs.openSync(path, 'a');
  }
  pending = false;
  process.send({ type: 'ack', k: m.k, at: i });
});
function step() {
  // Keep writing while a rotation is under way, but not past the next rotation point.
  const blocked = pending && next <= rotations && i >= every * next;
  if (i < total && !blocked) {
    const end = Math.min(i + batch, total);
    let s = '';
    for (; i < end; i++) s += 'L' + i + ' ' + 'x'.repeat(i % 61) + '\\n';
    fs.writeSync(fd, s);
    if (!pending && next <= rotations && i >= every * next) {
      pending = true;
      process.send({ type: 'rotate', k: next, at: i });
      next++;
    }
    if (pauseMs > 0) setTimeout(step, pauseMs);
    else setImmediate(step);
  } else if (i < total || pending) {
    setTimeout(step, 1);
  } else {
    fs.closeSync(fd);
    process.send({ type: 'done', at: i }, () => process.disconnect());
  }
}
step();
`;

const LINE = /^L(\d+) (x*)$/;

type Mode = 'rename' | 'rename-create' | 'remove-create' | 'copytruncate';

interface WriterMsg {
  type: 'rotate' | 'ack' | 'done';
  k?: number;
  at: number;
}

/** Complete line numbers found in a copy (a last line without newline is not complete). */
function linesIn(file: string): number[] {
  const text = readFileSync(file, 'latin1');
  const parts = text.split('\n');
  parts.pop();
  return parts.map((l) => Number(LINE.exec(l)?.[1] ?? Number.NaN));
}

async function run(
  mode: Mode,
  opts: { total: number; rotations: number; batch: number; pauseMs: number; glob?: boolean },
) {
  const dir = join(root, String(seq++));
  mkdirSync(dir);
  const path = join(dir, 'access.log');
  writeFileSync(path, '');
  const seen = new Uint8Array(opts.total);
  let delivered = 0;
  let duplicates = 0;
  const bad: string[] = [];
  const events: TailEvent[] = [];
  const tailer: Tailer = createTailer({
    patterns: [opts.glob ? join(dir, '*.log') : path],
    onLines: (batch) => {
      for (const line of batch.lines()) {
        const m = LINE.exec(line);
        const n = m ? Number(m[1]) : -1;
        if (!m || n >= opts.total || (m[2] as string).length !== n % 61) {
          bad.push(line.slice(0, 80));
          continue;
        }
        if (seen[n]) duplicates++;
        else delivered++;
        seen[n] = 1;
      }
    },
    onEvent: (e) => events.push(e),
    pollIntervalMs: 100,
    reopenBackoff: { initialMs: 10, maxMs: 100 },
    drainGraceMs: 300,
  });
  await tailer.start();

  const child: ChildProcess = spawn(process.execPath, ['-e', WRITER], {
    env: {
      ...process.env,
      W_PATH: path,
      W_TOTAL: String(opts.total),
      W_BATCH: String(opts.batch),
      W_ROTATIONS: String(opts.rotations),
      W_PAUSE_MS: String(opts.pauseMs),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  /** Files on disk and what the tailer saw, for a failure message. */
  const diagnose = (): string => {
    const files = readdirSync(dir).map(
      (f) => `${f} ino=${statSync(join(dir, f)).ino} size=${statSync(join(dir, f)).size}`,
    );
    const seenEvents = events.map((e) => JSON.stringify(e).replaceAll(dir, ''));
    return `files: ${files.join(', ')}; events: ${seenEvents.join(' ')}`;
  };
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  let done = false;
  const windows: { copied: number; upTo: number }[] = [];
  const acks = new Map<number, number>();
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown = null;

  /** Tells the writer the rotation is done and waits for its acknowledgement. */
  const finish = async (k: number, type: 'reopen' | 'rotated'): Promise<number> => {
    child.send({ type, k });
    await waitFor(() => acks.has(k), `writer acknowledging rotation ${k}`);
    return acks.get(k) as number;
  };

  const rotate = async (k: number): Promise<void> => {
    const rotated = `${path}.${k}`;
    // Rotate only a file the tailer has seen (it may still be far behind in reading it). A file
    // that lives at the path for less than the tailer's reaction time and is then renamed to a
    // name no pattern matches cannot be followed by any tailer that goes by names; logrotate
    // rotates hourly at most, but this writer reaches the next rotation point in milliseconds.
    if (mode !== 'copytruncate') {
      const ino = statSync(path).ino;
      await waitFor(
        () => tailer.stats().files.find((f) => f.path === path)?.inode === ino,
        `tailer following file ${k}`,
      );
    }
    if (mode === 'rename' || mode === 'rename-create') {
      renameSync(path, rotated);
      if (mode === 'rename-create') writeFileSync(path, ''); // logrotate `create`, before the reopen
      await finish(k, 'reopen');
    } else if (mode === 'remove-create') {
      unlinkSync(path);
      if (k % 2 === 0) writeFileSync(path, '');
      await finish(k, 'reopen');
    } else {
      copyFileSync(path, rotated);
      const inCopy = linesIn(rotated);
      const copied = inCopy.length > 0 ? (inCopy[inCopy.length - 1] as number) : -1;
      const copySize = statSync(rotated).size;
      // Let the tailer read what the copy holds (see the header comment), then truncate.
      await waitFor(
        () => (tailer.stats().files.find((f) => f.path === path)?.offset ?? 0) >= copySize,
        `tailer past the copy ${k}`,
      );
      truncateSync(path, 0);
      // Everything written before the truncate has a number below the acknowledged one.
      windows.push({ copied, upTo: await finish(k, 'rotated') });
    }
  };

  child.on('message', (msg: WriterMsg) => {
    if (msg.type === 'rotate') {
      chain = chain
        .then(() => rotate(msg.k as number))
        .catch((err: unknown) => {
          failure ??= err;
          child.kill();
        });
    } else if (msg.type === 'ack') {
      acks.set(msg.k as number, msg.at);
    } else if (msg.type === 'done') {
      done = true;
    }
  });

  try {
    await waitFor(() => exited || failure !== null, 'writer exit', 60_000);
    await chain;
    if (failure) throw failure;
    assert.ok(done, 'writer finished');
    if (mode === 'copytruncate') {
      // Wait until the tailer has read the whole final file.
      const size = statSync(path).size;
      await waitFor(() => {
        const f = tailer.stats().files.find((x) => x.path === path);
        return f !== undefined && f.offset === size && f.partialBytes === 0;
      }, 'tailer at the end of the file');
    } else {
      await waitFor(() => delivered === opts.total, `all ${opts.total} lines`).catch((err: Error) => {
        err.message += `: have ${delivered}, first missing ${seen.indexOf(0)}; ${diagnose()}`;
        throw err;
      });
    }
    // Every rotated-away file is closed after its grace period: nothing more can arrive.
    await waitFor(
      () => tailer.stats().files.every((f) => f.retired === 0 && f.state === 'open'),
      'old files closed',
    );
    return { delivered, duplicates, bad, seen, windows, events, stats: tailer.stats() };
  } finally {
    if (!exited) {
      child.kill();
      await waitFor(() => exited, 'writer killed');
    }
    await tailer.stop();
  }
}

describe('rotation with a concurrent writer', () => {
  it('rename, new file created by the writer on reopen (nginx + logrotate nocreate)', async () => {
    const r = await run('rename', { total: 100_000, rotations: 4, batch: 50, pauseMs: 0 });
    assert.deepEqual(r.bad, []);
    assert.equal(r.duplicates, 0);
    assert.equal(r.delivered, 100_000);
    assert.equal(r.stats.totals.rotations, 4);
    assert.equal(r.stats.totals.linesRead, 100_000);
    assert.equal(r.stats.totals.partialDropped, 0);
  });

  it('rename + create before the reopen (logrotate create): the old file is still written to', async () => {
    const r = await run('rename-create', { total: 100_000, rotations: 4, batch: 50, pauseMs: 0, glob: true });
    assert.deepEqual(r.bad, []);
    assert.equal(r.duplicates, 0);
    assert.equal(r.delivered, 100_000);
    assert.equal(r.stats.totals.rotations, 4);
    assert.equal(r.stats.totals.linesRead, 100_000);
  });

  it('remove + create (by the rotator or by the writer)', async () => {
    const r = await run('remove-create', { total: 100_000, rotations: 4, batch: 50, pauseMs: 0 });
    assert.deepEqual(r.bad, []);
    assert.equal(r.duplicates, 0);
    assert.equal(r.delivered, 100_000);
    assert.equal(r.stats.totals.rotations, 4);
    assert.equal(r.stats.totals.linesRead, 100_000);
  });

  it('copytruncate: nothing twice, nothing broken, only lines written between copy and truncate may be lost', async () => {
    const total = 40_000;
    const r = await run('copytruncate', { total, rotations: 3, batch: 20, pauseMs: 1 });
    assert.deepEqual(r.bad, []);
    assert.equal(r.duplicates, 0);
    assert.equal(r.windows.length, 3);
    assert.equal(r.stats.totals.truncations, 3);
    let missing = 0;
    for (let n = 0; n < total; n++) {
      if (r.seen[n]) continue;
      missing++;
      const inWindow = r.windows.some((w) => n > w.copied && n < w.upTo);
      assert.ok(inWindow, `line ${n} lost outside a copy→truncate window ${JSON.stringify(r.windows)}`);
    }
    assert.equal(r.delivered + missing, total);
    assert.equal(r.stats.totals.linesRead, r.delivered);
  });
});
