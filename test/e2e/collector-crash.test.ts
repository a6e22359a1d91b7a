/**
 * Restarts are exact: a writer appends ~5 000 lines/s with a rotation in the middle while the
 * collector (--state-file) is killed with SIGKILL five times at random moments and stopped once
 * with SIGTERM, lines being written while it is down. At the end every window counts each line
 * written exactly once.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogtallyClient } from '../../src/rpc/client.ts';
import { BIN } from '../support/cli.ts';
import { freePort } from '../support/listening.ts';
import { until } from '../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'logtally-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Appends logtail lines of now, 100 every 20 ms, to the file at `path` (reopened by `rotate`). */
class Writer {
  written = 0;
  #fd: number;
  #timer: NodeJS.Timeout;
  #seq = 0;
  readonly path: string;
  constructor(path: string) {
    this.path = path;
    this.#fd = openSync(path, 'a');
    this.#timer = setInterval(() => this.batch(100), 20);
  }
  batch(n: number): void {
    let s = '';
    const msec = (Date.now() / 1000).toFixed(3);
    for (let i = 0; i < n; i++) {
      const k = this.#seq++;
      s += `site${k % 3}.test\t192.0.2.${k % 200}\t${msec}\tGET\t/p/${k % 97}\t${k % 10 === 0 ? 404 : 200}\t${k % 1000}\t0.010\n`;
    }
    writeSync(this.#fd, s);
    this.written += n;
  }
  /** As logrotate + nginx: rename, the old file keeps getting lines a moment, then a new file. */
  rotate(): void {
    renameSync(this.path, `${this.path}.1`);
    this.batch(300);
    closeSync(this.#fd);
    this.#fd = openSync(this.path, 'a');
  }
  stop(): void {
    clearInterval(this.#timer);
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}

describe('collector: restarts lose and double no line', () => {
  it('five SIGKILLs at random moments, a rotation, a SIGTERM with the collector down: every window counts each line once', async () => {
    const log = join(dir, 'access.log');
    const state = join(dir, 'collector.state');
    const writer = new Writer(log);
    let child: ChildProcess | undefined;
    let stderr = '';
    const port = await freePort();
    const client = createLogtallyClient(`127.0.0.1:${port}`);
    const start = async () => {
      child = spawn(
        process.execPath,
        [
          BIN,
          'collector',
          '--logs',
          log,
          '--listen',
          `127.0.0.1:${port}`,
          '--metrics-listen',
          '',
          '--state-file',
          state,
          '--checkpoint-interval',
          '1',
          // Applies only to files the state does not know: the first start reads the lines
          // written before it; a restart must not read them again.
          '--from-start',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      await until('the collector to answer', () => client.status({}), 60_000);
    };
    const totals = async () => {
      const sum = async (window: '60m' | '24h') =>
        (await client.trend({ window })).points.reduce((n, p) => n + Number(p.count), 0);
      return { '60m': await sum('60m'), '24h': await sum('24h') };
    };
    try {
      await start();
      // A seeded sequence of moments (ms after the collector answers).
      let seed = 42;
      const next = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return 300 + Math.floor((seed / 2147483648) * 1200);
      };
      for (let k = 0; k < 5; k++) {
        await sleep(next());
        if (k === 2) writer.rotate();
        child?.kill('SIGKILL');
        await once(child as ChildProcess, 'exit');
        await start();
      }
      await sleep(next());
      child?.kill('SIGTERM');
      await once(child as ChildProcess, 'exit');
      assert.equal(child?.exitCode, 0, stderr);
      await sleep(700); // lines written while the collector is down
      await start();
      await sleep(500);
      writer.stop();
      const want = writer.written;
      assert.ok(want > 5_000, `only ${want} lines written`);
      const got = await until(
        `every line counted (${want})`,
        async () => {
          // Both windows (two calls: lines may still be arriving between them).
          const t = await totals();
          return t['24h'] >= want && t['60m'] >= want ? t : undefined;
        },
        60_000,
        200,
      ).catch(async (e: Error) => {
        throw new Error(`${e.message}; have ${JSON.stringify(await totals())}\n${stderr}`);
      });
      assert.deepEqual(got, { '60m': want, '24h': want }, stderr);
      // The rotated file is closed after its grace time; nothing more may arrive.
      await sleep(6_000);
      assert.deepEqual(await totals(), { '60m': want, '24h': want }, stderr);
      assert.match(stderr, /reading on from byte \d+/);
    } finally {
      writer.stop();
      child?.kill('SIGKILL');
    }
  });
});
