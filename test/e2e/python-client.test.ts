/**
 * A client nobody on this project wrote: Debian's Python grpcio, with stubs compiled from our
 * proto by Debian's grpc_tools (libprotoc 3.5), at its default limits (4 MiB messages), against
 * live collectors. Its answers equal `logtally topn/trend/targets --json`; a 50 000-key minute
 * (over 4 MiB) arrives in parts it joins, and a TopN of 100 000 entries is cut under 4 MiB.
 *
 * StreamSnapshots hands over completed minutes, so this test waits for a minute boundary
 * (≤ 60 s; the two collectors' waits overlap).
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
import { MAX_MESSAGE_BYTES } from '../../src/rpc/message-size.ts';
import { BIN, runCli } from '../support/cli.ts';
import { freePort, waitForListening } from '../support/listening.ts';
import { until } from '../support/wait.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT = join(ROOT, 'test/support/python/logtally_client.py');
/** Debian's python (not a pyenv one), whose grpc_tools is libprotoc 3.5. */
const PYTHON = '/usr/bin/python3';

const skip =
  existsSync(PYTHON) &&
  spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools.protoc'], { stdio: 'ignore' }).status === 0
    ? false
    : 'Debian python3-grpc-tools and python3-grpcio are not installed (CI installs them)';

/** Compiles the protos with Debian's protoc into `out`; returns protoc's stderr. */
export async function compileProtos(out: string, files: readonly string[]): Promise<string> {
  await mkdir(out, { recursive: true });
  const r = await run(PYTHON, [
    '-m',
    'grpc_tools.protoc',
    `-I${join(ROOT, 'proto')}`,
    `--python_out=${out}`,
    `--grpc_python_out=${out}`,
    ...files.map((f) => join(ROOT, 'proto', f)),
  ]);
  return r.stderr;
}

interface Bucket {
  span: number;
  parts: number;
  part_numbers: number[];
  keys: number;
  total_count: number;
  websites: Record<string, number>;
  largest_message: number;
}

interface Collector {
  child: ChildProcess;
  target: string;
  stderr: string;
}

async function startCollector(log: string, source: string, lines: number): Promise<Collector> {
  const port = await freePort();
  const target = `127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      BIN,
      'collector',
      '--logs',
      log,
      '--from-start',
      '--listen',
      target,
      '--metrics-listen',
      '',
      '--source',
      source,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const c: Collector = { child, target, stderr: '' };
  child.stderr?.on('data', (d: Buffer) => {
    c.stderr += d.toString();
  });
  await waitForListening('collector', child, port, () => c.stderr, 30_000);
  const client = createLogtallyClient(target);
  await until(
    `${source} to read its log`,
    async () => ((await client.status({})).linesRead === lines ? true : undefined),
    60_000,
  );
  return c;
}

async function stop(p: { child: ChildProcess } | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await exited;
}

describe('Python grpcio client (Debian)', { skip, timeout: 300_000 }, () => {
  let dir = '';
  let gen = '';
  let protocOutput: string | Error = '';

  const py = async (target: string, ...args: string[]): Promise<unknown> => {
    const r = await run(PYTHON, [CLIENT, gen, target, ...args], { maxBuffer: 64 << 20 });
    return JSON.parse(r.stdout);
  };
  const cli = async (target: string, ...args: string[]): Promise<unknown> => {
    const r = await runCli([...args, '--target', target, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.toString()) as Record<string, unknown>;
    assert.equal(out.target, target);
    delete out.target;
    return out;
  };
  /** The minutes the Python client reads (backfill first) until they hold `total` requests. */
  const snapshots = async (target: string, total: number, ...mode: string[]): Promise<Bucket[]> => {
    const r = await run(PYTHON, [CLIENT, gen, target, 'snapshots', String(total), ...mode], {
      timeout: 150_000,
      maxBuffer: 64 << 20,
    });
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Bucket)
      .filter((b) => b.span === 60);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'logtally-python-'));
    gen = join(dir, 'gen');
    protocOutput = await compileProtos(gen, [
      'logtally/v1/logtally.proto',
      'grpc/health/v1/health.proto',
      'grpc/reflection/v1/reflection.proto',
      'grpc/reflection/v1alpha/reflection.proto',
    ]).catch((e: Error) => e);
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("compiles the protos with Debian's grpc_tools (libprotoc 3.5) without a warning", async () => {
    const version = await run(PYTHON, ['-m', 'grpc_tools.protoc', '--version']);
    assert.match(version.stdout, /^libprotoc 3\./);
    assert.equal(protocOutput, '');
  });

  describe('against a collector', () => {
    const SITES = ['a.test', 'b.test', 'c.test', 'd.test'];
    const LINES = 240;
    const expected = new Map<string, number>();
    let c: Collector;

    before(async () => {
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
      await writeFile(join(dir, 'small.log'), text);
      c = await startCollector(join(dir, 'small.log'), 'py-test', LINES);
    });

    after(() => stop(c));

    it('TopN answers equal `logtally topn --json` for every dimension, with and without filters', async () => {
      for (const by of ['website', 'prefix', 'uri', 'status', 'upstream', 'method']) {
        const p = (await py(c.target, 'topn', by, '60m', '100')) as { source: string; entries: unknown[] };
        const l = (await cli(c.target, 'topn', '--group-by', by, '--window', '60m', '--n', '100')) as {
          entries: unknown[];
        };
        assert.equal(p.source, 'py-test');
        assert.deepEqual(p.entries, l.entries, by);
        assert.ok(p.entries.length > 0, by);
      }
      const websites = (await py(c.target, 'topn', 'website', '60m', '10')) as {
        entries: { label: string; count: number }[];
        truncated: boolean;
      };
      assert.deepEqual(
        websites.entries.map((e) => [e.label, e.count]),
        [...expected].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
      );
      assert.equal(websites.truncated, false);
      const filter = '{"status": ">=500", "website_re": "^[ab]\\\\."}';
      const filtered = (await py(c.target, 'topn', 'uri', '60m', '100', filter)) as { entries: unknown[] };
      const cliFiltered = (await cli(
        c.target,
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
      // Presence is kept: a filter on "" is a filter (no request has an empty method).
      const empty = (await py(c.target, 'topn', 'website', '60m', '10', '{"method": ""}')) as {
        entries: unknown[];
      };
      assert.deepEqual(empty.entries, []);
    });

    it('Trend and ListTargets answers equal `logtally trend/targets --json`', async () => {
      // A minute boundary between the two calls moves the points: compare a pair taken together.
      await until('equal trends', async () => {
        assert.deepEqual(await py(c.target, 'trend', '60m'), await cli(c.target, 'trend', '--window', '60m'));
        return true;
      });
      const t = (await py(c.target, 'trend', '60m')) as { points: { count: number }[] };
      assert.equal(
        t.points.reduce((a, p) => a + p.count, 0),
        LINES,
      );
      const targets = (await py(c.target, 'targets')) as { targets: unknown[] };
      assert.deepEqual(targets.targets, ((await cli(c.target, 'targets')) as { targets: unknown[] }).targets);
      assert.equal(targets.targets.length, 1);
    });

    it('StreamSnapshots delivers the sealed minute with every line', async () => {
      const minutes = await snapshots(c.target, LINES);
      assert.equal(
        minutes.reduce((a, s) => a + s.total_count, 0),
        LINES,
      );
      const sites = new Map<string, number>();
      for (const s of minutes)
        for (const [k, v] of Object.entries(s.websites)) sites.set(k, (sites.get(k) ?? 0) + v);
      assert.deepEqual(Object.fromEntries(sites), Object.fromEntries(expected));
    });

    it('health: SERVING for "" and for LogtallyService, NOT_FOUND for another name', async () => {
      assert.deepEqual(await py(c.target, 'health', ''), { status: 'SERVING' });
      assert.deepEqual(await py(c.target, 'health', 'logtally.v1.LogtallyService'), { status: 'SERVING' });
      await assert.rejects(py(c.target, 'health', 'nope'), /ERROR NOT_FOUND unknown service "nope"/);
    });

    it('reflection v1 and v1alpha: lists the services, serves the descriptors, which make a working TopN', async () => {
      const top = [...expected].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      for (const version of ['v1', 'v1alpha']) {
        assert.deepEqual(
          await py(c.target, 'reflect', version),
          {
            services: [
              'logtally.v1.LogtallyService',
              'grpc.health.v1.Health',
              'grpc.reflection.v1.ServerReflection',
              'grpc.reflection.v1alpha.ServerReflection',
            ],
            files: ['logtally/v1/logtally.proto'],
            methods: ['TopN', 'Trend', 'StreamSnapshots', 'ListTargets', 'Status'],
            method_files: ['logtally/v1/logtally.proto'],
            health_files: ['grpc/health/v1/health.proto'],
            unknown: [5, 'symbol "no.such.Thing" not found'],
            extensions: ['logtally.v1.Filter', []],
            topn: top,
          },
          version,
        );
      }
    });

    it('an aggregator is NOT_SERVING with no collector up, SERVING once one is', async () => {
      const dead = await freePort();
      const ports = [await freePort(), await freePort()];
      const aggs = [
        spawn(
          process.execPath,
          [BIN, 'aggregator', '--collectors', `127.0.0.1:${dead}`, '--listen', `127.0.0.1:${ports[0]}`],
          {
            stdio: 'ignore',
          },
        ),
        spawn(
          process.execPath,
          [BIN, 'aggregator', '--collectors', c.target, '--listen', `127.0.0.1:${ports[1]}`],
          {
            stdio: 'ignore',
          },
        ),
      ];
      try {
        for (const [i, a] of aggs.entries())
          await waitForListening('aggregator', a, ports[i] as number, () => '', 30_000);
        await until('the live aggregator to be SERVING', async () => {
          const r = (await py(`127.0.0.1:${ports[1]}`, 'health', '')) as { status: string };
          return r.status === 'SERVING' ? true : undefined;
        });
        assert.deepEqual(await py(`127.0.0.1:${ports[0]}`, 'health', ''), { status: 'NOT_SERVING' });
      } finally {
        for (const a of aggs) await stop({ child: a });
      }
    });

    it('health Watch: SERVING, then NOT_SERVING when the collector drains (SIGTERM), then the call ends', async () => {
      const watch = spawn(PYTHON, [CLIENT, gen, c.target, 'watch', ''], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      watch.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const ended = new Promise((r) => watch.once('exit', r));
      await until('the first Watch answer', () => (out.includes('SERVING\n') ? true : undefined));
      await stop(c);
      await ended;
      assert.equal(out, 'SERVING\nNOT_SERVING\nEND\n');
    });
  });

  describe('against a collector with a 50 000-key minute (over 4 MiB)', () => {
    const KEYS = 50_000;
    let c: Collector;

    before(async () => {
      const msec = (Date.now() / 1000).toFixed(3);
      const lines: string[] = [];
      for (let i = 0; i < KEYS; i++) {
        const site = i % 2 ? 'odd.test' : 'even.test';
        lines.push(
          `${site}\t203.0.${i % 250}.1\t${msec}\tGET\t/catalogue/items/${String(i).padStart(8, '0')}/reviews/latest/summary/with/a/long/path\t200\t${i}\t0.001`,
        );
      }
      await writeFile(join(dir, 'large.log'), `${lines.join('\n')}\n`);
      c = await startCollector(join(dir, 'large.log'), 'py-large', KEYS);
    });

    after(() => stop(c));

    it('TopN of 100 000 entries is cut under 4 MiB (truncated) instead of refused, as `logtally topn --json`', async () => {
      const p = (await py(c.target, 'topn', 'uri', '60m', '100000')) as {
        entries: { label: string }[];
        truncated: boolean;
        message_bytes: number;
      };
      assert.equal(p.truncated, true);
      assert.ok(p.message_bytes <= MAX_MESSAGE_BYTES, `${p.message_bytes}`);
      assert.ok(p.entries.length > 30_000 && p.entries.length < KEYS, `${p.entries.length}`);
      const l = (await cli(c.target, 'topn', '--group-by', 'uri', '--window', '60m', '--n', '100000')) as {
        entries: unknown[];
        truncated: boolean;
      };
      assert.equal(l.truncated, true);
      assert.deepEqual(p.entries, l.entries);
    });

    it('StreamSnapshots sends the minute in parts under 4 MiB that the client joins (entries and columnar)', async () => {
      const [rows, columns] = await Promise.all([
        snapshots(c.target, KEYS),
        snapshots(c.target, KEYS, 'columnar'),
      ]);
      for (const [mode, minutes] of [
        ['entries', rows],
        ['columnar', columns],
      ] as const) {
        assert.equal(
          minutes.reduce((a, s) => a + s.total_count, 0),
          KEYS,
          mode,
        );
        assert.equal(
          minutes.reduce((a, s) => a + s.keys, 0),
          KEYS,
          mode,
        );
        const sites = new Map<string, number>();
        for (const s of minutes)
          for (const [k, v] of Object.entries(s.websites)) sites.set(k, (sites.get(k) ?? 0) + v);
        assert.deepEqual(Object.fromEntries(sites), { 'even.test': KEYS / 2, 'odd.test': KEYS / 2 }, mode);
        assert.ok(
          minutes.some((s) => s.parts >= 2),
          `${mode}: ${JSON.stringify(minutes.map((s) => s.parts))}`,
        );
        for (const s of minutes) {
          assert.deepEqual(
            s.part_numbers,
            Array.from({ length: s.parts }, (_, i) => i),
            mode,
          );
          assert.ok(s.largest_message <= MAX_MESSAGE_BYTES, `${mode}: ${s.largest_message}`);
        }
      }
    });

    it('an aggregator joins the parts too: its counts equal the collector’s', async () => {
      const port = await freePort();
      const agg = spawn(
        process.execPath,
        [BIN, 'aggregator', '--collectors', c.target, '--listen', `127.0.0.1:${port}`, '--source', 'agg'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let aggErr = '';
      agg.stderr?.on('data', (d: Buffer) => {
        aggErr += d.toString();
      });
      try {
        await waitForListening('aggregator', agg, port, () => aggErr, 30_000);
        const client = createLogtallyClient(`127.0.0.1:${port}`);
        await until(
          'the aggregator to hold the sealed minute',
          async () => {
            const t = await client.trend({ window: '60m' });
            return t.points.reduce((a, p) => a + p.count, 0) === KEYS ? true : undefined;
          },
          120_000,
        );
        const fromAgg = await client.topN({ groupBy: 'website', window: '60m' });
        assert.deepEqual(
          fromAgg.entries.map((e) => [e.label, e.count]),
          [
            ['even.test', KEYS / 2],
            ['odd.test', KEYS / 2],
          ],
        );
        const uris = await client.topN({ groupBy: 'uri', window: '60m', n: 100 });
        assert.equal(uris.entries.length, 100);
        assert.doesNotMatch(aggErr, /ignored|part/);
      } finally {
        await stop({ child: agg });
      }
    });
  });
});
