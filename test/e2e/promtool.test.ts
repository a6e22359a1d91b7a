/**
 * The collector's /metrics as Prometheus' own linter sees it: Debian's `promtool check metrics`
 * finds nothing to say about the exposition of a collector that has counted requests (with
 * awkward host names: quotes, backslashes, non-ASCII).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogtallyClient } from '../../src/rpc/client.ts';
import { BIN } from '../support/cli.ts';
import { freePort, waitForListening } from '../support/listening.ts';
import { until } from '../support/wait.ts';

const PROMTOOL = '/usr/bin/promtool';
const skip =
  spawnSync(PROMTOOL, ['--version'], { stdio: 'ignore' }).status === 0
    ? false
    : 'promtool is not installed (apt-get install -y prometheus); CI installs it';

describe('collector /metrics under promtool check metrics', { skip, timeout: 120_000 }, () => {
  let dir = '';
  let collector: ChildProcess;
  let stderr = '';
  let metricsPort = 0;
  const LINES = 50;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'logtally-promtool-'));
    const hosts = ['a.test', 'quo"te.test', 'back\\slash.test', 'ünï.test'];
    // Lines are counted in the minute of their own time: now.
    const msec = (Date.now() / 1000).toFixed(3);
    let text = '';
    for (let i = 0; i < LINES; i++) {
      const upstream = i % 2 ? '10.0.0.1:8080' : '-';
      text += `${hosts[i % hosts.length]}\t192.0.2.${i % 9}\t${msec}\t${i % 5 ? 'GET' : 'PROPFIND'}\t/p${i}\t${i % 7 ? 200 : 502}\t${i * 100}\t0.0${i % 10}\t${upstream}\n`;
    }
    await writeFile(join(dir, 'access.log'), text);
    const rpc = await freePort();
    metricsPort = await freePort();
    collector = spawn(
      process.execPath,
      [
        BIN,
        'collector',
        '--logs',
        join(dir, 'access.log'),
        '--format',
        '$host\t$remote_addr\t$msec\t$request_method\t$request_uri\t$status\t$body_bytes_sent\t$request_time\t$upstream_addr',
        '--from-start',
        '--listen',
        `127.0.0.1:${rpc}`,
        '--metrics-listen',
        `127.0.0.1:${metricsPort}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    collector.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await waitForListening('collector', collector, rpc, () => stderr, 30_000);
    const client = createLogtallyClient(`127.0.0.1:${rpc}`);
    await until('the log to be read', async () =>
      (await client.status({})).linesRead === LINES ? true : undefined,
    );
  });

  after(async () => {
    if (collector && collector.exitCode === null) {
      const exited = new Promise((r) => collector.once('exit', r));
      collector.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lints clean (exit 0, no output), with the counts it was given', async () => {
    const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(r.status, 200);
    const exposition = await r.text();
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    assert.equal(`${lint.stdout}${lint.stderr}`, '');
    assert.equal(lint.status, 0);
    assert.match(exposition, /^logtally_lines_read_total 50$/m);
    assert.match(
      exposition,
      /^logtally_requests_total\{host="quo\\"te.test",method="GET",status="200"\} \d+$/m,
    );
    assert.match(
      exposition,
      /^logtally_requests_total\{host="back\\\\slash.test",method="OTHER",status="\d+"\} \d+$/m,
    );
    assert.doesNotMatch(exposition, /_active_(handles|requests|resources)_total/);
    assert.match(exposition, /^# TYPE logtally_nodejs_active_handles gauge$/m);
  });
});
