/**
 * `logtally demo --duration 25s`, as `npm start` runs it: within its lifetime the collectors,
 * the aggregator (through the CLI) and the dashboard (`raw=1`) answer in every dimension with
 * non-empty results, the 429 burst's prefix is the top prefix for status 429, and the 24h window
 * holds more than the last hour; afterwards every process it started is gone and every port it
 * printed is free again.
 *
 * The history (24 h of generated lines, read with --from-start) is filed by the lines' own
 * timestamps, so it reaches the aggregator (which merges sealed minutes) at once.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BIN, runCli } from '../support/cli.ts';
import { until } from '../support/wait.ts';

const DIMENSIONS = ['website', 'prefix', 'uri', 'status', 'upstream', 'method'] as const;
const BURST_PREFIX = '198.51.100.0/24';

interface Entry {
  label: string;
  count: number;
}

async function topn(target: string, args: string[]): Promise<Entry[]> {
  const r = await runCli(['topn', '--target', target, '--json', ...args]);
  if (r.code !== 0) throw new Error(`topn ${args.join(' ')}: ${r.stderr}`);
  return (JSON.parse(r.stdout.toString()) as { entries: Entry[] }).entries;
}

const total = (es: Entry[]) => es.reduce((s, e) => s + e.count, 0);

function childrenOf(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function portFree(port: number): Promise<boolean> {
  const s = createServer();
  s.listen(port, '127.0.0.1');
  try {
    await once(s, 'listening');
  } catch {
    return false;
  }
  s.close();
  await once(s, 'close');
  return true;
}

describe('logtally demo', { timeout: 240_000 }, () => {
  let demo: ChildProcess;
  let out = '';
  let err = '';
  let exited: Promise<[number | null, string | null]>;
  const ports = new Map<string, number>();
  let children: number[] = [];

  before(async () => {
    demo = spawn(process.execPath, [BIN, 'demo', '--duration', '25s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    demo.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    exited = once(demo, 'exit') as Promise<[number | null, string | null]>;
    // The banner comes once every process is ready; the issue asks for it within 15 s (slow machines: more).
    await until(
      'the demo banner',
      () => (/Three things to try:[\s\S]*Stops by itself/.test(out) ? true : undefined),
      60_000,
    );
    for (const [name, re] of [
      ['dashboard', /dashboard\s+http:\/\/127\.0\.0\.1:(\d+)\//],
      ['aggregator', /aggregator\s+127\.0\.0\.1:(\d+)/],
      ['web1', /collector\s+127\.0\.0\.1:(\d+)\s+web1/],
      ['api1', /collector\s+127\.0\.0\.1:(\d+)\s+api1/],
      ['gateway', /gateway\s+http:\/\/127\.0\.0\.1:(\d+)\//],
      ['uwsgi', /uWSGI app\s+http:\/\/127\.0\.0\.1:(\d+)\//],
      ['envoy', /Envoy API\s+http:\/\/127\.0\.0\.1:(\d+)\//],
    ] as const) {
      const m = re.exec(out);
      assert.ok(m, `no ${name} in the banner:\n${out}`);
      ports.set(name, Number(m[1]));
    }
    children = childrenOf(demo.pid as number);
  });

  after(() => {
    if (demo && demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL');
  });

  it('printed what runs where and three things to try, and started five processes', () => {
    assert.match(out, /^logtally demo: running \(ready in \d+\.\d s;/);
    assert.match(out, /open http:\/\/127\.0\.0\.1:\d+\/\?by=prefix&f_status=429&w=5m/);
    assert.match(out, /logtally topn --target 127\.0\.0\.1:\d+ /);
    assert.match(out, /logtally trend --target 127\.0\.0\.1:\d+ /);
    // gateway, two collectors, aggregator, frontend
    assert.equal(children.length, 5, `children: ${children.join(' ')}`);
  });

  it('both collectors answer in every dimension; the burst prefix leads the 429s', async () => {
    for (const c of ['web1', 'api1']) {
      const target = `127.0.0.1:${ports.get(c)}`;
      for (const by of DIMENSIONS) {
        const es = await until(`${c} by ${by}`, async () => {
          const e = await topn(target, ['--group-by', by, '--window', '5m']);
          return e.length > 0 ? e : undefined;
        });
        assert.ok(total(es) > 0);
      }
    }
    const top429 = await topn(`127.0.0.1:${ports.get('api1')}`, [
      '--group-by',
      'prefix',
      '--status',
      '429',
      '--window',
      '5m',
    ]);
    assert.equal(top429[0]?.label, BURST_PREFIX);
  });

  it('the aggregator (CLI) and the dashboard (raw=1) answer in every dimension; the burst prefix leads the 429s', async () => {
    const agg = `127.0.0.1:${ports.get('aggregator')}`;
    for (const by of DIMENSIONS) {
      const es = await until(
        `aggregator by ${by}`,
        async () => {
          const e = await topn(agg, ['--group-by', by, '--window', '24h']);
          return e.length > 0 ? e : undefined;
        },
        20_000,
      );
      assert.ok(total(es) > 0);
      const raw = await until(
        `dashboard by ${by}`,
        async () => {
          const r = await fetch(`http://127.0.0.1:${ports.get('dashboard')}/?raw=1&w=24h&by=${by}`);
          const j = (await r.json()) as { entries: Entry[] };
          return j.entries.length > 0 ? j : undefined;
        },
        20_000,
      );
      assert.ok(total(raw.entries) > 0);
    }
    const top429 = await topn(agg, ['--group-by', 'prefix', '--status', '429', '--window', '24h']);
    assert.equal(top429[0]?.label, BURST_PREFIX);
  });

  it('the 24h window holds more than the last hour', async () => {
    const target = `127.0.0.1:${ports.get('web1')}`;
    const day = total(await topn(target, ['--group-by', 'status', '--window', '24h', '--n', '1000']));
    const hour = total(await topn(target, ['--group-by', 'status', '--window', '60m', '--n', '1000']));
    assert.ok(day > hour, `24h ${day}, 60m ${hour}`);
  });

  it('stops by itself; every process it started is gone and every port is free', async () => {
    const [code, signal] = await exited;
    assert.equal(signal, null, err);
    assert.equal(code, 0, `${out}\n${err}`);
    assert.deepEqual(children.filter(alive), []);
    for (const [name, port] of ports)
      assert.ok(await portFree(port), `${name}'s port ${port} is still bound`);
  });
});
