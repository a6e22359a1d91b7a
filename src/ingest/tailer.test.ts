// Behaviour of the tailer on a real file system (temp directories), one scenario per test.
// Rotation under a concurrent writer is in rotation.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { createTailer, type TailEvent, type Tailer, type TailerOptions } from './tailer.ts';

const root = mkdtempSync(join(tmpdir(), 'logtally-tail-'));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
function tempDir(): string {
  const d = join(root, String(seq++));
  mkdirSync(d);
  return d;
}

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

interface Harness {
  tailer: Tailer;
  lines: string[];
  byFile: Map<string, string[]>;
  events: TailEvent[];
  of(type: TailEvent['type']): TailEvent[];
}

/** A started tailer with fast timings, recording everything; stopped after the test. */
async function tail(
  t: { after(fn: () => Promise<void>): void },
  patterns: string[],
  extra: Partial<TailerOptions> = {},
): Promise<Harness> {
  const h: Harness = {
    tailer: undefined as unknown as Tailer,
    lines: [],
    byFile: new Map(),
    events: [],
    of: (type) => h.events.filter((e) => e.type === type),
  };
  h.tailer = createTailer({
    patterns,
    onLines: (batch, file) => {
      const lines = batch.lines();
      h.lines.push(...lines);
      const list = h.byFile.get(file) ?? [];
      list.push(...lines);
      h.byFile.set(file, list);
    },
    onEvent: (e) => h.events.push(e),
    pollIntervalMs: 100,
    reopenBackoff: { initialMs: 10, maxMs: 100 },
    drainGraceMs: 200,
    ...extra,
  });
  t.after(() => h.tailer.stop());
  await h.tailer.start();
  return h;
}

function fileStats(h: Harness, path: string) {
  const s = h.tailer.stats().files.find((f) => f.path === path);
  assert.ok(s, `no stats for ${path}`);
  return s;
}

describe('tailer', () => {
  it('starts at the end of existing files, skipping the rest of an unfinished last line', async (t) => {
    const d = tempDir();
    const a = join(d, 'a.log');
    const b = join(d, 'b.log');
    writeFileSync(a, 'old 1\nold 2\n');
    writeFileSync(b, 'old\nhalf of a li');
    const h = await tail(t, [a, b]);
    assert.equal(fileStats(h, a).offset, 12);
    appendFileSync(a, 'new 1\n');
    appendFileSync(b, 'ne\nnew b\n');
    await waitFor(() => h.lines.length >= 2, '2 lines');
    assert.deepEqual(h.byFile.get(a), ['new 1']);
    assert.deepEqual(h.byFile.get(b), ['new b']);
    assert.deepEqual(
      h.of('opened').map((e) => e.type === 'opened' && e.reason),
      ['startup', 'startup'],
    );
  });

  it("startAt: 'beginning' reads existing files whole", async (t) => {
    const d = tempDir();
    writeFileSync(join(d, 'a.log'), 'one\ntwo\n');
    const h = await tail(t, [join(d, '*.log')], { startAt: 'beginning' });
    await waitFor(() => h.lines.length === 2, '2 lines');
    assert.deepEqual(h.lines, ['one', 'two']);
  });

  it('holds a partial last line until its newline arrives', async (t) => {
    const d = tempDir();
    const f = join(d, 'a.log');
    writeFileSync(f, '');
    const h = await tail(t, [f]);
    appendFileSync(f, 'first\nsecond-ha');
    await waitFor(() => fileStats(h, f).partialBytes === 9, 'partial read');
    assert.deepEqual(h.lines, ['first']);
    assert.equal(fileStats(h, f).offset, 15);
    appendFileSync(f, 'lf\r\nthird\n');
    await waitFor(() => h.lines.length === 3, '3 lines');
    assert.deepEqual(h.lines, ['first', 'second-half', 'third']);
    assert.equal(fileStats(h, f).partialBytes, 0);
    assert.equal(fileStats(h, f).linesRead, 3);
  });

  it('skips and counts an over-long line; the next line is fine', async (t) => {
    const d = tempDir();
    const f = join(d, 'a.log');
    writeFileSync(f, '');
    const h = await tail(t, [f], { maxLineBytes: 1000, readChunkBytes: 4096 });
    appendFileSync(f, `short\n${'x'.repeat(10_000)}`);
    await waitFor(() => fileStats(h, f).overLong === 1, 'over-long counted');
    assert.equal(fileStats(h, f).partialBytes, 0, 'the over-long line is not buffered');
    appendFileSync(f, `${'y'.repeat(5000)}\nnext\n`);
    await waitFor(() => h.lines.length === 2, '2 lines');
    assert.deepEqual(h.lines, ['short', 'next']);
    assert.equal(fileStats(h, f).overLong, 1);
    assert.equal(h.tailer.stats().totals.overLong, 1);
    assert.equal(h.of('overlong').length, 1);
  });

  it('reads a new file matching a glob from its start, and ignores other names', async (t) => {
    const d = tempDir();
    writeFileSync(join(d, 'old.log'), 'old\n');
    const h = await tail(t, [join(d, '*.log')]);
    writeFileSync(join(d, 'other.txt'), 'nope\n');
    writeFileSync(join(d, 'new.log.1'), 'nope\n');
    writeFileSync(join(d, 'new.log'), 'n1\nn2\n');
    appendFileSync(join(d, 'old.log'), 'o1\n');
    await waitFor(() => h.lines.length === 3, '3 lines');
    assert.deepEqual(h.byFile.get(join(d, 'new.log')), ['n1', 'n2']);
    assert.deepEqual(h.byFile.get(join(d, 'old.log')), ['o1']);
    const opened = h.of('opened').map((e) => (e.type === 'opened' ? [e.path, e.reason, e.offset] : []));
    assert.deepEqual(opened, [
      [join(d, 'old.log'), 'startup', 4],
      [join(d, 'new.log'), 'new', 0],
    ]);
  });

  it('follows a deeper glob into directories created later', async (t) => {
    const d = tempDir();
    const h = await tail(t, [join(d, '*/logs/*.log')]);
    assert.equal(h.of('no-match').length, 1);
    mkdirSync(join(d, 'site1'));
    mkdirSync(join(d, 'site1', 'logs'));
    // The new directories are watched after a rescan; the file may come before or after that.
    writeFileSync(join(d, 'site1', 'logs', 'access.log'), 's1\n');
    await waitFor(() => h.lines.length === 1, 'first line');
    mkdirSync(join(d, 'site2', 'logs'), { recursive: true });
    await waitFor(() => h.tailer.stats().totals.watchedDirs === 5, 'five watched directories');
    writeFileSync(join(d, 'site2', 'logs', 'access.log'), 's2\n');
    appendFileSync(join(d, 'site1', 'logs', 'access.log'), 's1b\n');
    await waitFor(() => h.lines.length === 3, '3 lines');
    assert.deepEqual([...h.lines].sort(), ['s1', 's1b', 's2']);
    assert.equal(h.of('no-match').length, 1, 'reported once');
  });

  it('uses one watcher per directory, however many files', async (t) => {
    const d = tempDir();
    for (let i = 0; i < 20; i++) writeFileSync(join(d, `f${i}.log`), '');
    const h = await tail(t, [join(d, '*.log'), join(d, 'f0.log'), join(d, 'later.log')]);
    const s = h.tailer.stats();
    assert.equal(s.totals.watchedDirs, 1);
    assert.equal(s.files.length, 21);
    for (let i = 0; i < 20; i++) appendFileSync(join(d, `f${i}.log`), `${i}\n`);
    await waitFor(() => h.lines.length === 20, '20 lines');
  });

  it('reports a missing directory once, then reads files created in it from the start', async (t) => {
    const d = tempDir();
    const later = join(d, 'later');
    const literal = join(d, 'other', 'app.log');
    const h = await tail(t, [join(later, '*.log'), literal]);
    // Let several retries happen (backoff 10 → 100 ms) before the directories appear.
    await sleep(150);
    mkdirSync(later);
    writeFileSync(join(later, 'a.log'), 'a1\na2\n');
    mkdirSync(join(d, 'other'));
    writeFileSync(literal, 'l1\n');
    await waitFor(() => h.lines.length === 3, '3 lines');
    assert.deepEqual(h.byFile.get(join(later, 'a.log')), ['a1', 'a2']);
    assert.deepEqual(h.byFile.get(literal), ['l1']);
    const problems = h.of('dir-problem').map((e) => (e.type === 'dir-problem' ? [e.dir, e.code] : []));
    assert.deepEqual(problems.sort(), [
      [join(d, 'later'), 'ENOENT'],
      [join(d, 'other'), 'ENOENT'],
    ]);
    assert.equal(h.of('missing').length, 1);
    assert.equal(h.of('no-match').length, 1);
    await waitFor(() => h.tailer.stats().totals.watchedDirs === 2, 'both directories watched');
    assert.equal(h.of('dir-problem').length, 2, 'each reported once');
  });

  it('survives the watched directory being removed and re-created', async (t) => {
    const d = tempDir();
    const sub = join(d, 'sub');
    mkdirSync(sub);
    const h = await tail(t, [join(sub, '*.log')]);
    rmSync(sub, { recursive: true });
    mkdirSync(sub);
    writeFileSync(join(sub, 'a.log'), 'back\n');
    await waitFor(() => h.lines.length === 1, 'line in re-created directory');
    assert.deepEqual(h.lines, ['back']);
  });

  it('drops (and counts) a partial line when its rotated file is closed, unless completed in time', async (t) => {
    const d = tempDir();
    const f = join(d, 'a.log');
    writeFileSync(f, '');
    const h = await tail(t, [f]);
    appendFileSync(f, 'x1\nunfinished');
    await waitFor(() => fileStats(h, f).partialBytes === 10, 'partial held');
    renameSync(f, `${f}.1`);
    writeFileSync(f, 'y1\ncompleted-');
    appendFileSync(`${f}.1`, 'x2\n'.replace('x2', ' but finished in the old file'));
    await waitFor(() => h.lines.length === 3, 'old file drained and new file read');
    appendFileSync(f, 'later\n');
    renameSync(f, `${f}.2`);
    // The old file is closed after 200 ms without data; its partial line is dropped, not delivered.
    await waitFor(() => h.of('closed').length === 2, 'both rotated files closed');
    // Each file's lines arrive in order; the two files are read independently, so their lines
    // may interleave either way (CI once saw y1 before the old file's completed line).
    const want = ['x1', 'unfinished but finished in the old file', 'y1', 'completed-later'];
    assert.deepEqual([...h.lines].sort(), [...want].sort());
    const at = (line: string) => h.lines.indexOf(line);
    assert.ok(at('x1') < at('unfinished but finished in the old file'), h.lines.join(' | '));
    assert.ok(at('y1') < at('completed-later'), h.lines.join(' | '));
    const dropped = h.of('partial-dropped');
    assert.equal(dropped.length, 0);
    writeFileSync(f, 'z1\nno newline');
    await waitFor(() => h.lines.includes('z1'), 'third file read');
    renameSync(f, `${f}.3`);
    await waitFor(() => h.of('partial-dropped').length === 1, 'partial dropped');
    assert.deepEqual(
      h.of('partial-dropped').map((e) => e.type === 'partial-dropped' && e.bytes),
      [10],
    );
    assert.ok(!h.lines.includes('no newline'));
    assert.equal(fileStats(h, f).partialDropped, 1);
    assert.equal(fileStats(h, f).rotations, 3);
  });

  it('a file renamed into another matching name keeps its offset (nothing read twice)', async (t) => {
    const d = tempDir();
    const f = join(d, 'app.log');
    writeFileSync(f, '');
    const h = await tail(t, [join(d, 'app.log*')]);
    appendFileSync(f, 'a\nb\n');
    await waitFor(() => h.lines.length === 2, '2 lines');
    renameSync(f, `${f}.1`);
    appendFileSync(`${f}.1`, 'c\n');
    writeFileSync(f, 'd\n');
    await waitFor(() => h.lines.length === 4, '4 lines');
    appendFileSync(`${f}.1`, 'e\n');
    await waitFor(() => h.lines.length === 5, '5 lines');
    // Let polls run: nothing may be re-read from the start of app.log.1.
    await waitFor(() => h.of('renamed').length === 1, 'renamed event');
    await sleep(250);
    assert.deepEqual([...h.lines].sort(), ['a', 'b', 'c', 'd', 'e']);
  });

  it('restarts at 0 after copytruncate', async (t) => {
    const d = tempDir();
    const f = join(d, 'a.log');
    writeFileSync(f, '');
    const h = await tail(t, [f]);
    appendFileSync(f, 'before 1\nbefore 2\n');
    await waitFor(() => h.lines.length === 2, '2 lines');
    writeFileSync(f, '');
    appendFileSync(f, 'after\n');
    await waitFor(() => h.lines.length === 3, '3 lines');
    assert.deepEqual(h.lines, ['before 1', 'before 2', 'after']);
    assert.equal(fileStats(h, f).truncations, 1);
  });

  it('stop() closes every descriptor and watcher', async (t) => {
    const d = tempDir();
    // Descriptors open on files of this test (libuv's one inotify descriptor outlives watchers).
    const open = (): number =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(d);
        } catch {
          return false;
        }
      }).length;
    for (let i = 0; i < 5; i++) writeFileSync(join(d, `f${i}.log`), 'x\n');
    const h = await tail(t, [join(d, '*.log')], { drainGraceMs: 60_000 });
    renameSync(join(d, 'f0.log'), join(d, 'f0.old'));
    writeFileSync(join(d, 'f0.log'), 'y\n');
    await waitFor(() => h.lines.length === 1, 'rotated file read');
    assert.equal(open(), 6, 'five files and one rotated-away file');
    assert.equal(h.tailer.stats().totals.watchedDirs, 1);
    await h.tailer.stop();
    assert.equal(open(), 0);
    assert.equal(h.tailer.stats().totals.watchedDirs, 0);
  });

  it('reports a directory without permission once and recovers when it is granted', {
    skip: process.platform !== 'linux' ? 'needs Linux' : false,
  }, async (t) => {
    const d = tempDir();
    const locked = join(d, 'locked');
    mkdirSync(locked, { mode: 0o700 });
    if (process.getuid?.() !== 0) {
      chmodSync(locked, 0o000);
      const h = await tail(t, [join(locked, '*.log')]);
      await sleep(150);
      chmodSync(locked, 0o755);
      writeFileSync(join(locked, 'a.log'), 'ok\n');
      await waitFor(() => h.lines.length === 1, 'line after permission granted');
      assert.equal(h.of('dir-problem').length, 1);
      return;
    }
    // As root permissions are not enforced: run the tailer in a child as nobody.
    chmodSync(root, 0o755);
    chmodSync(d, 0o755);
    const url = pathToFileURL(join(import.meta.dirname, 'tailer.ts')).href;
    const script = `
        const { createTailer } = await import(${JSON.stringify(url)});
        const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
        const t = createTailer({ patterns: [${JSON.stringify(join(locked, '*.log'))}], pollIntervalMs: 100,
          reopenBackoff: { initialMs: 10, maxMs: 100 }, onLines: (batch) => out({ lines: batch.lines() }), onEvent: (event) => out({ event }) });
        await t.start();
        out({ started: true });
        process.on('SIGTERM', () => t.stop().then(() => process.exit(0)));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    });
    const msgs: { lines?: string[]; event?: TailEvent; started?: boolean }[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => msgs.push(JSON.parse(l)));
    await waitFor(() => msgs.some((m) => m.started), 'child started');
    await sleep(150);
    chmodSync(locked, 0o755);
    writeFileSync(join(locked, 'a.log'), 'ok 1\nok 2\n');
    await waitFor(() => msgs.flatMap((m) => m.lines ?? []).length === 2, 'lines after permission granted');
    assert.deepEqual(
      msgs.flatMap((m) => m.lines ?? []),
      ['ok 1', 'ok 2'],
    );
    const problems = msgs.filter((m) => m.event?.type === 'dir-problem');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.event?.type === 'dir-problem' && problems[0].event.code, 'EACCES');
    // The poll may find the file before the watch is re-attached; both must happen.
    await waitFor(() => msgs.some((m) => m.event?.type === 'dir-watched'), 'directory watched again');
    assert.equal(msgs.filter((m) => m.event?.type === 'dir-problem').length, 1);
  });
});
