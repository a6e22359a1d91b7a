/**
 * Process signals with `installSignalHandlers()`, on a child process writing numbered lines:
 * - logrotate: the file is renamed, SIGUSR1 makes the child reopen the path, lines continue in
 *   the new file; every accepted line is in exactly one of the two files, in order (exact
 *   count reported by the child after its final flush).
 * - SIGTERM and SIGINT flush buffered lines, then the process ends by that signal.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { tempDir } from '../support/writer-fakes.ts';
import { startWriterChild, untilSize } from '../support/writer-process.ts';

function seqs(file: string, gzip: boolean): number[] {
  const raw = readFileSync(file);
  const text = (gzip ? gunzipSync(raw) : raw).toString('latin1');
  assert.ok(text === '' || text.endsWith('\n'), `${file} ends with a whole line`);
  return text === ''
    ? []
    : text
        .slice(0, -1)
        .split('\n')
        .map((l) => Number(l.slice(0, l.indexOf(' '))));
}

const MODES = [
  { name: 'unbuffered', opts: {}, gzip: false },
  { name: 'buffer=4k flush=1h', opts: { buffer: '4k', flush: '1h' }, gzip: false },
  { name: 'gzip buffer=8k', opts: { gzip: 1, buffer: '8k' }, gzip: true },
];

describe('logrotate: rename + SIGUSR1', () => {
  for (const mode of MODES) {
    it(`${mode.name}: lines continue in the new file, none lost or duplicated`, async (t) => {
      const dir = tempDir(t);
      const path = join(dir, 'access.log');
      const child = startWriterChild({ path, ...mode.opts, batch: 100, pause: 1 });
      await child.report('ready');
      await untilSize(path, 20_000);
      renameSync(path, `${path}.1`); // what logrotate does …
      child.process.kill('SIGUSR1'); // … and its postrotate
      await child.report('reopen');
      await untilSize(path, 20_000);
      child.process.kill('SIGTERM');
      const flushed = await child.report('flush ');
      const { signal } = await child.exited();
      assert.equal(signal, 'SIGTERM', 'ends by the signal after flushing');
      const total = Number(flushed.split(' ')[1]);

      const before = seqs(`${path}.1`, mode.gzip);
      const after = seqs(path, mode.gzip);
      assert.ok(before.length > 0 && after.length > 0, `${before.length} + ${after.length} lines`);
      assert.equal(before.length + after.length, total, 'every accepted line is in one of the files');
      assert.deepEqual(
        [...before, ...after],
        Array.from({ length: total }, (_, i) => i),
        'in order, none lost or duplicated',
      );
      t.diagnostic(`${before.length} lines before the rotation, ${after.length} after, ${total} accepted`);
    });
  }
});

describe('SIGTERM / SIGINT flush buffered lines', () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig}: 1000 buffered lines (buffer=1m flush=1h) are written, then the process ends by ${sig}`, async (t) => {
      const path = join(tempDir(t), 'access.log.gz');
      const child = startWriterChild({
        path,
        gzip: 1,
        buffer: '1m',
        flush: '1h',
        batch: 250,
        pause: 0,
        total: 1000,
      });
      await child.report('done');
      child.process.kill(sig);
      assert.equal(await child.report('flush '), 'flush 1000');
      const { signal } = await child.exited();
      assert.equal(signal, sig);
      assert.deepEqual(
        seqs(path, true),
        Array.from({ length: 1000 }, (_, i) => i),
      );
    });
  }
});
