/**
 * Minutes by the log's own clock: a collector started with --from-start on a two-hour log
 * counts each line in the minute (and five minutes) of its timestamp. Every Trend point of the
 * 60m and 24h windows equals an independent count of the log's lines in that point's span.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogtallyClient } from '../../src/rpc/client.ts';
import { BIN } from '../support/cli.ts';
import { freePort } from '../support/listening.ts';
import { timeLocal } from '../support/time-local.ts';
import { until } from '../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'logtally-backfill-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('collector: a backfill lands in the minutes of its lines', () => {
  for (const layout of ['logtail', 'combined'] as const) {
    it(`${layout}: every 60m and 24h Trend point equals the log's count for its span`, async (t) => {
      // Two hours up to now, in log order, a varying number of lines per second.
      const now = Math.floor(Date.now() / 1000);
      const times: number[] = [];
      let text = '';
      let seed = 9;
      for (let s = now - 7200; s <= now; s++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const n = Math.floor((seed / 2147483648) * 4);
        for (let i = 0; i < n; i++) {
          times.push(s);
          const ip = `198.51.100.${(s + i) % 250}`;
          text +=
            layout === 'logtail'
              ? `a.test\t${ip}\t${s}.${String(i).padStart(3, '0')}\tGET\t/p${i}\t200\t10\t0.001\n`
              : `${ip} - - [${timeLocal(s)}] "GET /p${i} HTTP/1.1" 200 10 "-" "curl"\n`;
        }
      }
      const log = join(dir, `${layout}.log`);
      writeFileSync(log, text);
      const port = await freePort();
      let stderr = '';
      const child: ChildProcess = spawn(
        process.execPath,
        [
          BIN,
          'collector',
          '--logs',
          log,
          '--format',
          layout,
          '--from-start',
          '--listen',
          `127.0.0.1:${port}`,
          '--metrics-listen',
          '',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      t.after(() => child.kill('SIGKILL'));
      const client = createLogtallyClient(`127.0.0.1:${port}`);
      await until(
        `all ${times.length} lines read`,
        async () => (Number((await client.status({})).linesRead) === times.length ? true : undefined),
        60_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${stderr}`);
      });
      const count = (start: number, span: number) =>
        times.filter((x) => x >= start && x < start + span).length;
      for (const window of ['60m', '24h'] as const) {
        const points = (await client.trend({ window })).points;
        const got = points.map((p) => [p.start, p.span, Number(p.count)]);
        const want = points.map((p) => [p.start, p.span, count(p.start, p.span)]);
        assert.deepEqual(got, want, `${window}\n${stderr}`);
        if (window === '24h')
          assert.equal(
            got.reduce((n, p) => n + (p[2] as number), 0),
            times.length,
          );
      }
      // The 60m window holds minutes, the 24h window five-minute buckets for the older part.
      const spans = new Set((await client.trend({ window: '24h' })).points.map((p) => p.span));
      assert.ok(spans.has(300) && spans.has(60), [...spans].join());
    });
  }
});
