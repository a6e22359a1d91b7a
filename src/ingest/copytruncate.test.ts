// copytruncate with the tailer behind: what it had not read at the truncate is read from the copy.
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTailer, type TailEvent } from './tailer.ts';

const dir = mkdtempSync(join(tmpdir(), 'logtally-copytruncate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function waitFor(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

const numbered = (from: number, to: number) => {
  let s = '';
  for (let i = from; i < to; i++) s += `line ${i} ${'x'.repeat(i % 50)}\n`;
  return s;
};

describe('tailer: copytruncate', () => {
  it('reads the lines still unread at the truncate from the copy, then the file from its start: each line once', async (t) => {
    const f = join(dir, 'access.log');
    writeFileSync(f, '');
    const seen = new Map<string, number>();
    const events: TailEvent[] = [];
    const tailer = createTailer({
      patterns: [f],
      onLines: (batch) => {
        for (const l of batch.lines()) seen.set(l, (seen.get(l) ?? 0) + 1);
      },
      onEvent: (e) => events.push(e),
      pollIntervalMs: 50,
      // Small reads: the tailer is still far behind when the file is copied and truncated.
      readChunkBytes: 4096,
      readConcurrency: 1,
    });
    t.after(() => tailer.stop());
    await tailer.start();
    const total = 200_000;
    appendFileSync(f, numbered(0, total));
    await waitFor(() => seen.size > 0, 'the first lines');
    // logrotate's copytruncate, and the writer (O_APPEND) goes on at the new end.
    copyFileSync(f, `${f}.1`);
    truncateSync(f, 0);
    appendFileSync(f, numbered(total, total + 50));
    await waitFor(() => seen.size >= total + 50, `${total + 50} lines (have ${seen.size})`);
    await sleep(300);
    assert.equal(seen.size, total + 50);
    assert.ok(
      [...seen.values()].every((n) => n === 1),
      'no line twice',
    );
    const tr = events.find((e) => e.type === 'truncated');
    assert.ok(
      tr && tr.type === 'truncated' && tr.copy === `${f}.1` && (tr.fromCopy ?? 0) > 0,
      JSON.stringify(tr),
    );
  });
});
