/**
 * gzip logs survive SIGKILL: a child process writes a gzip log (small buffer, so many members)
 * as fast as it can and is killed with SIGKILL mid-run. Every complete member must decompress
 * with Debian's `zcat` and hold whole, consecutive lines starting at 0; at most the member
 * being written at the instant of the kill may be cut short (the kernel can stop a write(2)
 * between pages when a fatal signal arrives), and nothing else.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipMembers, tempDir } from '../support/writer-fakes.ts';
import { startWriterChild, untilSize } from '../support/writer-process.ts';

const zcat = spawnSync('sh', ['-c', 'command -v zcat'], { encoding: 'utf8' }).stdout.trim();
const skip = zcat ? false : 'zcat (gzip) is not installed';

function checkLines(text: string, from: number): number {
  assert.ok(text.endsWith('\n'), 'whole lines only');
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((l, i) => {
    const m =
      /^(\d+) GET \/some\/fairly\/typical\/path\?with=query&and=more HTTP\/1\.1 200 5123 \\x22Mozilla\/5\.0\\x22$/.exec(
        l,
      );
    assert.ok(m, `line ${from + i} is whole: ${JSON.stringify(l.slice(0, 120))}`);
    assert.equal(Number(m[1]), from + i, 'consecutive, none lost or duplicated');
  });
  return from + lines.length;
}

describe('gzip log killed with SIGKILL', { skip }, () => {
  for (const [run, minBytes] of [
    [1, 150_000],
    [2, 400_000],
  ] as const) {
    it(`run ${run}: killed after ≥ ${minBytes} bytes — every complete member is whole lines`, async (t) => {
      const dir = tempDir(t);
      const path = join(dir, 'access.log.gz');
      const child = startWriterChild({ path, gzip: 1, buffer: '16k', batch: 2000, pause: 0 });
      await child.report('ready');
      await untilSize(path, minBytes);
      child.process.kill('SIGKILL');
      const { signal } = await child.exited();
      assert.equal(signal, 'SIGKILL');

      const file = readFileSync(path);
      const { members, trailing, completeBytes } = gzipMembers(file);
      assert.ok(members.length >= 20, `${members.length} members`);
      let next = 0;
      for (const m of members) next = checkLines(m.toString('latin1'), next);
      assert.ok(next > 1000, `${next} lines`);
      if (trailing > 0) {
        // Only the member in flight at the kill may be cut, and it starts like a member.
        assert.ok(trailing < 16 * 1024, `trailing ${trailing} bytes < one member`);
        assert.deepEqual([...file.subarray(completeBytes, completeBytes + 2)], [0x1f, 0x8b]);
      }

      // Debian's zcat on the complete members: exit 0 and exactly the same lines.
      const complete = join(dir, 'complete.gz');
      writeFileSync(complete, file.subarray(0, completeBytes));
      const z = spawnSync(zcat, [complete], { maxBuffer: 1 << 28 });
      assert.equal(z.status, 0, z.stderr.toString());
      assert.equal(checkLines(z.stdout.toString('latin1'), 0), next);
      // And on the file as it is: zcat reads every complete member first.
      const all = spawnSync(zcat, [path], { maxBuffer: 1 << 28 });
      assert.equal(all.status, trailing === 0 ? 0 : 1, all.stderr.toString());
      assert.ok(all.stdout.subarray(0, z.stdout.length).equals(z.stdout));
      t.diagnostic(`${members.length} members, ${next} lines, ${trailing} trailing bytes`);
    });
  }
});
