/**
 * Idle connections cannot take the descriptors the log files need: a collector with a low
 * descriptor limit (prlimit --nofile=320), hundreds of idle sockets held open on its gRPC and
 * metrics ports, and a log rotation meanwhile: the new file is opened and read.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogtallyClient } from '../../src/rpc/client.ts';
import { BIN } from '../support/cli.ts';
import { freePort } from '../support/listening.ts';
import { until } from '../support/wait.ts';

const prlimit = spawnSync('prlimit', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'logtally-fds-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const lines = (n: number, site: string) => {
  const msec = (Date.now() / 1000).toFixed(3);
  let s = '';
  for (let i = 0; i < n; i++) s += `${site}\t192.0.2.${i % 200}\t${msec}\tGET\t/x\t200\t10\t0.001\n`;
  return s;
};

async function idleSockets(port: number, n: number): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    out.push(s);
    await Promise.race([once(s, 'connect'), once(s, 'close')]);
  }
  return out;
}

describe('collector: descriptors for the log files are kept back', {
  skip: prlimit ? false : 'no prlimit',
}, () => {
  it('300 idle sockets on each port under a 320-descriptor limit: a rotated log is still followed', async (t) => {
    const log = join(dir, 'access.log');
    writeFileSync(log, '');
    const rpc = await freePort();
    const metrics = await freePort();
    let stderr = '';
    const child: ChildProcess = spawn(
      'prlimit',
      [
        '--nofile=320:320',
        process.execPath,
        BIN,
        'collector',
        '--logs',
        log,
        '--listen',
        `127.0.0.1:${rpc}`,
        '--metrics-listen',
        `127.0.0.1:${metrics}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    t.after(() => child.kill('SIGKILL'));
    const client = createLogtallyClient(`127.0.0.1:${rpc}`);
    await until('the collector to answer', () => client.status({}), 60_000);
    appendFileSync(log, lines(10, 'before.test'));
    const held = [...(await idleSockets(rpc, 300)), ...(await idleSockets(metrics, 300))];
    try {
      renameSync(log, `${log}.1`);
      writeFileSync(log, lines(25, 'after.test'));
      // The new file is opened while the sockets are held (its descriptor was kept back).
      await until(
        'the new file to be opened',
        () => (/access\.log: opened \((rotated|reopened)\)/.test(stderr) ? true : undefined),
        60_000,
      );
    } finally {
      for (const s of held) s.destroy();
    }
    const top = await until(
      'both files counted',
      async () => {
        const r = await client.topN({ groupBy: 'website', window: '5m', n: 10 });
        const got = r.entries.map((e) => [e.label, e.count]);
        return got.length === 2 ? got : undefined;
      },
      60_000,
    );
    assert.deepEqual(top, [
      ['after.test', 25],
      ['before.test', 10],
    ]);
    assert.doesNotMatch(stderr, /EMFILE/);
  });
});
