/**
 * A client nobody on this project wrote: Debian's Python grpcio, with stubs compiled from our
 * proto by Debian's grpc_tools (libprotoc 3.5), at its default limits (4 MiB messages), against
 * a live collector. Its answers equal `logtally topn/trend/targets --json`.
 *
 * StreamSnapshots hands over completed minutes, so this test waits for one minute boundary
 * (≤ 60 s).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLogtallyClient } from '../../src/rpc/client.ts';
import { BIN, runCli } from '../support/cli.ts';
import { freePort, waitForListening } from '../support/listening.ts';
import { until } from '../support/wait.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT = join(ROOT, 'test/support/python/logtally_client.py');
/** Debian's python (not a pyenv one), whose grpc_tools is libprotoc 3.5. */
const PYTHON = '/usr/bin/python3';

function hasGrpcTools(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools.protoc'], { stdio: 'ignore' }).status === 0;
}

const skip = hasGrpcTools()
  ? false
  : 'Debian python3-grpc-tools and python3-grpcio are not installed (CI installs them)';

/** Compiles the proto with Debian's protoc into `out`; returns protoc's stderr. */
async function compileProto(out: string): Promise<string> {
  await mkdir(out, { recursive: true });
  const r = await run(PYTHON, [
    '-m',
    'grpc_tools.protoc',
    `-I${join(ROOT, 'proto')}`,
    `--python_out=${out}`,
    `--grpc_python_out=${out}`,
    join(ROOT, 'proto/logtally/v1/logtally.proto'),
  ]);
  return r.stderr;
}

const SITES = ['a.test', 'b.test', 'c.test', 'd.test'];
const LINES = 240;

describe('Python grpcio client (Debian) against a collector', { skip, timeout: 240_000 }, () => {
  let dir = '';
  let collector: ChildProcess;
  let stderr = '';
  let target = '';
  let protocOutput: string | Error = '';
  const expected = new Map<string, number>();

  const py = async (...args: string[]): Promise<unknown> => {
    const r = await run(PYTHON, [CLIENT, join(dir, 'gen'), target, ...args], { maxBuffer: 64 << 20 });
    return JSON.parse(r.stdout);
  };
  const cli = async (...args: string[]): Promise<unknown> => {
    const r = await runCli([...args, '--target', target, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.toString()) as Record<string, unknown>;
    assert.equal(out.target, target);
    delete out.target;
    return out;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'logtally-python-'));
    protocOutput = await compileProto(join(dir, 'gen')).catch((e: Error) => e);
    // Lines are counted in the minute of their own time: now.
    const msec = (Date.now() / 1000).toFixed(3);
    let text = '';
    for (let i = 0; i < LINES; i++) {
      const site = SITES[(i * 7) % SITES.length] as string;
      expected.set(site, (expected.get(site) ?? 0) + 1);
      const status = i % 10 === 0 ? 503 : 200;
      const method = i % 3 === 0 ? 'POST' : 'GET';
      text += `${site}\t198.51.${i % 5}.${i % 200}\t${msec}\t${method}\t/p${i % 6}\t${status}\t${100 + i}\t0.0${i % 10}0\n`;
    }
    await writeFile(join(dir, 'access.log'), text);
    const port = await freePort();
    target = `127.0.0.1:${port}`;
    collector = spawn(
      process.execPath,
      [
        BIN,
        'collector',
        '--logs',
        join(dir, 'access.log'),
        '--from-start',
        '--listen',
        target,
        '--metrics-listen',
        '',
        '--source',
        'py-test',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    collector.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await waitForListening('collector', collector, port, () => stderr, 30_000);
    const client = createLogtallyClient(target);
    await until('the collector to read the log', async () =>
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

  it("compiles the proto with Debian's grpc_tools (libprotoc 3.5) without a warning", async () => {
    const version = await run(PYTHON, ['-m', 'grpc_tools.protoc', '--version']);
    assert.match(version.stdout, /^libprotoc 3\./);
    assert.equal(protocOutput, '');
  });

  it('TopN answers equal `logtally topn --json` for every dimension, with and without filters', async () => {
    for (const by of ['website', 'prefix', 'uri', 'status', 'upstream', 'method']) {
      const p = (await py('topn', by, '60m', '100')) as { source: string; entries: unknown[] };
      const c = (await cli('topn', '--group-by', by, '--window', '60m', '--n', '100')) as {
        source: string;
        entries: unknown[];
      };
      assert.equal(p.source, 'py-test');
      assert.deepEqual(p.entries, c.entries, by);
      assert.ok(p.entries.length > 0, by);
    }
    const websites = (await py('topn', 'website', '60m', '10')) as {
      entries: { label: string; count: number }[];
    };
    assert.deepEqual(
      websites.entries.map((e) => [e.label, e.count]),
      [...expected].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
    );
    // Presence is kept: a filter on "" is a filter (nothing has an empty method), none is none.
    const filtered = (await py(
      'topn',
      'uri',
      '60m',
      '100',
      '{"status": ">=500", "website_re": "^[ab]\\\\."}',
    )) as {
      entries: unknown[];
    };
    const cliFiltered = (await cli(
      'topn',
      '--group-by',
      'uri',
      '--window',
      '60m',
      '--n',
      '100',
      '--status',
      '>=500',
      '--website-re',
      '^[ab]\\.',
    )) as { entries: unknown[] };
    assert.deepEqual(filtered.entries, cliFiltered.entries);
    assert.ok(filtered.entries.length > 0);
    const empty = (await py('topn', 'website', '60m', '10', '{"method": ""}')) as { entries: unknown[] };
    assert.deepEqual(empty.entries, []);
  });

  it('Trend and ListTargets answers equal `logtally trend/targets --json`', async () => {
    // A minute boundary between the two calls moves the points: compare a pair taken together.
    await until('equal trends', async () => {
      const p = await py('trend', '60m');
      const c = await cli('trend', '--window', '60m');
      assert.deepEqual(p, c);
      return true;
    });
    const t = (await py('trend', '60m')) as { points: { count: number }[] };
    assert.equal(
      t.points.reduce((a, p) => a + p.count, 0),
      LINES,
    );
    const targets = (await py('targets')) as { targets: unknown[] };
    assert.deepEqual(targets.targets, ((await cli('targets')) as { targets: unknown[] }).targets);
    assert.equal(targets.targets.length, 1);
  });

  it('StreamSnapshots delivers the sealed minute with every line', async () => {
    const r = await run(PYTHON, [CLIENT, join(dir, 'gen'), target, 'snapshots', '1'], { timeout: 150_000 });
    const s = JSON.parse(r.stdout.trim()) as {
      total_count: number;
      websites: Record<string, number>;
      span: number;
    };
    assert.equal(s.span, 60);
    assert.equal(s.total_count, LINES);
    assert.deepEqual(s.websites, Object.fromEntries(expected));
  });
});
