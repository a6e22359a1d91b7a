// Resuming from saved positions: the log file is the write-ahead log of the counts.
import assert from 'node:assert/strict';
import {
  appendFileSync,
  linkSync,
  mkdtempSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTailer, type FilePosition, type TailEvent, type TailerOptions } from './tailer.ts';

const root = mkdtempSync(join(tmpdir(), 'logtally-resume-'));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const tempDir = () => mkdtempSync(join(root, `${seq++}-`));

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Runs a tailer until `want` lines arrived (and a moment for more), returns lines, events, positions. */
async function run(patterns: string[], want: number, extra: Partial<TailerOptions> = {}) {
  const lines: string[] = [];
  const byFile: Record<string, string[]> = {};
  const events: TailEvent[] = [];
  const t = createTailer({
    patterns,
    onLines: (batch, file) => {
      const l = batch.lines();
      lines.push(...l);
      byFile[file] = [...(byFile[file] ?? []), ...l];
    },
    onEvent: (e) => events.push(e),
    pollIntervalMs: 50,
    drainGraceMs: 100,
    ...extra,
  });
  await t.start();
  await waitFor(() => lines.length >= want, `${want} lines (have ${lines.length})`);
  // Nothing more may arrive: give every reader a poll and a drain.
  await sleep(200);
  const positions = t.positions();
  await t.stop();
  return { lines, byFile, events, positions };
}

const numbered = (from: number, to: number) => {
  let s = '';
  for (let i = from; i < to; i++) s += `line ${i}\n`;
  return s;
};
const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);

describe('tailer: resume from saved positions', () => {
  it('reads on from where it stopped: lines written while down are read once', async () => {
    const d = tempDir();
    const f = join(d, 'access.log');
    writeFileSync(f, numbered(0, 10));
    const a = await run([f], 10, { startAt: 'beginning' });
    assert.deepEqual(a.lines, names(0, 10));
    assert.equal(a.positions.length, 1);
    assert.equal((a.positions[0] as FilePosition).offset, numbered(0, 10).length);
    appendFileSync(f, numbered(10, 25));
    // startAt 'beginning' applies only to files the positions do not know.
    const b = await run([f], 15, { startAt: 'beginning', resume: a.positions });
    assert.deepEqual(b.lines, names(10, 25));
    assert.ok(b.events.some((e) => e.type === 'resumed' && e.offset === numbered(0, 10).length));
  });

  it('two names of one file (hard links), the position saved under one: read once, from the position', async () => {
    const d = tempDir();
    writeFileSync(join(d, 'a.log'), numbered(0, 10));
    linkSync(join(d, 'a.log'), join(d, 'b.log'));
    const a = await run([join(d, '*.log')], 10, { startAt: 'beginning' });
    assert.deepEqual(a.lines, names(0, 10));
    appendFileSync(join(d, 'a.log'), numbered(10, 14));
    // Both names are opened at once at start: one file, one position.
    assert.equal(a.positions.length, 1);
    const p = a.positions[0] as FilePosition;
    // The saved position is the file's, under whichever name it was saved.
    for (const name of ['a.log', 'b.log']) {
      const b = await run([join(d, '*.log')], 4, {
        startAt: 'beginning',
        resume: [{ ...p, path: join(d, name) }],
      });
      assert.deepEqual(b.lines, names(10, 14), name);
    }
  });

  it('a held partial line is not in the position: it is read whole after the restart', async () => {
    const d = tempDir();
    const f = join(d, 'access.log');
    writeFileSync(f, `${numbered(0, 3)}line 3 is hal`);
    const a = await run([f], 3, { startAt: 'beginning' });
    assert.equal((a.positions[0] as FilePosition).offset, numbered(0, 3).length);
    appendFileSync(f, 'f done\n');
    const b = await run([f], 1, { resume: a.positions });
    assert.deepEqual(b.lines, ['line 3 is half done']);
  });

  it('a file rotated while down is found by inode under its new name and read to its end; the new file from its start', async () => {
    const d = tempDir();
    const f = join(d, 'access.log');
    writeFileSync(f, numbered(0, 5));
    const a = await run([f], 5, { startAt: 'beginning' });
    appendFileSync(f, numbered(5, 8)); // written before the rotation, unread
    renameSync(f, `${f}.1`);
    writeFileSync(f, numbered(8, 12));
    const b = await run([f], 7, { resume: a.positions });
    assert.deepEqual(b.byFile[f]?.sort(), [...names(5, 8), ...names(8, 12)].sort());
    assert.ok(b.events.some((e) => e.type === 'resumed' && e.rotated));
  });

  it('a file that shrank or vanished while down is reported with the offset that could not be read on', async () => {
    const d = tempDir();
    const f = join(d, 'a.log');
    const g = join(d, 'b.log');
    writeFileSync(f, numbered(0, 5));
    writeFileSync(g, numbered(0, 5));
    const a = await run([f, g], 10, { startAt: 'beginning' });
    truncateSync(f, 0);
    writeFileSync(f, 'x\n');
    // Replaced by a new file (created first, so its inode is another).
    writeFileSync(`${g}.new`, 'new\n');
    renameSync(`${g}.new`, g);
    const b = await run([f, g], 2, { resume: a.positions });
    assert.deepEqual(b.lines.sort(), ['new', 'x']);
    const lost = b.events.filter((e) => e.type === 'resume-lost');
    assert.deepEqual(
      lost.map((e) => [e.path, e.reason, e.offset]).sort(),
      [
        [f, 'shrank', numbered(0, 5).length],
        [g, 'gone', numbered(0, 5).length],
      ].sort(),
    );
  });

  it('an inode reused by another file is not taken for the saved one (first bytes differ)', async () => {
    const d = tempDir();
    const f = join(d, 'access.log');
    writeFileSync(f, numbered(0, 5));
    const a = await run([f], 5, { startAt: 'beginning' });
    const p = a.positions[0] as FilePosition;
    // Same inode, other content (as a reused inode would have), longer than the offset.
    writeFileSync(f, `other ${numbered(100, 110)}`);
    const b = await run([f], 10, { resume: [p] });
    assert.equal(b.lines[0], 'other line 100');
    assert.ok(b.events.some((e) => e.type === 'resume-lost' && e.reason === 'replaced'));
  });

  it('a rotated file resumed in the middle of an over-long line being skipped skips the rest of it', async () => {
    const d = tempDir();
    const f = join(d, 'access.log');
    writeFileSync(f, `first line\n${'x'.repeat(100)}`); // over-long (max 64), not finished
    const a = await run([f], 1, { startAt: 'beginning', maxLineBytes: 64 });
    assert.deepEqual(a.lines, ['first line']);
    appendFileSync(f, `${'y'.repeat(10)}\nsecond line\n`);
    renameSync(f, `${f}.1`);
    writeFileSync(f, '');
    const b = await run([f], 1, { resume: a.positions, maxLineBytes: 64 });
    assert.deepEqual(b.lines, ['second line']);
  });
});
