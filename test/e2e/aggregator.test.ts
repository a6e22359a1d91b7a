/**
 * The fleet end to end, as separate processes: three `logtally collector`s reading generated
 * logs, aggregators over them. The merged TopN equals the sum of the three; a collector killed
 * is degraded within the backoff schedule and its counts leave the merged view while the others
 * are still served; restarted (with its state file), it is reintegrated. An aggregator of two
 * aggregators answers like one aggregator over all collectors.
 *
 * Collectors hand over completed minutes, so this test waits for one minute boundary (≤ 60 s).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogtallyClient, type LogtallyClient } from '../../src/rpc/client.ts';
import { type Daemon, runCli, startDaemon } from '../support/cli.ts';
import { freePort } from '../support/nginx.ts';
import { until } from '../support/wait.ts';

async function stop(p: Daemon | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = once(p.child, 'exit');
  p.child.kill(signal);
  await exited;
}

const SITES = ['a.test', 'b.test', 'c.test'];

function logFor(collector: number): { text: string; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  let text = '';
  // Lines of now: the collector counts each line in the minute of its own time.
  const msec = (Date.now() / 1000).toFixed(3);
  for (let i = 0; i < 60 * (collector + 1); i++) {
    const site = SITES[(i * (collector + 2)) % SITES.length] as string;
    counts.set(site, (counts.get(site) ?? 0) + 1);
    text += `${site}\t10.${collector}.${i % 7}.1\t${msec}\tGET\t/p${i % 4}\t200\t100\t0.010\n`;
  }
  return { text, counts };
}

function sum(...maps: Map<string, number>[]): [string, number][] {
  const m = new Map<string, number>();
  for (const x of maps) for (const [k, v] of x) m.set(k, (m.get(k) ?? 0) + v);
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

async function websites(client: LogtallyClient): Promise<[string, number][]> {
  const r = await client.topN({ groupBy: 'website', window: '60m', n: 10 });
  return r.entries.map((e) => [e.label, e.count]);
}

describe('aggregator over three collector processes', { timeout: 420_000 }, () => {
  let dir = '';
  const collectors: (Daemon | undefined)[] = [];
  const ports: number[] = [];
  const counts: Map<string, number>[] = [];
  let agg: Daemon | undefined;
  let aggA: Daemon | undefined;
  let aggB: Daemon | undefined;
  let top: Daemon | undefined;
  let aggClient: LogtallyClient;
  let topClient: LogtallyClient;
  let aggPort = 0;

  // One process at a time, each once it says it is listening (a loaded machine starts seven slowly).
  const startCollector = (i: number) =>
    startDaemon(
      [
        'collector',
        '--logs',
        join(dir, `c${i}.log`),
        '--from-start',
        '--listen',
        `127.0.0.1:${ports[i]}`,
        '--metrics-listen',
        '',
        '--source',
        `c${i}`,
        '--state-file',
        join(dir, `c${i}.state`),
      ],
      /gRPC on/,
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'logtally-fleet-'));
    for (let i = 0; i < 3; i++) {
      const { text, counts: c } = logFor(i);
      counts.push(c);
      await writeFile(join(dir, `c${i}.log`), text);
      ports.push(await freePort());
    }
    for (let i = 0; i < 3; i++) collectors.push(await startCollector(i));
    aggPort = await freePort();
    const [pa, pb, pt] = [await freePort(), await freePort(), await freePort()];
    const all = ports.map((p) => `127.0.0.1:${p}`);
    agg = await startDaemon(
      ['aggregator', '--collectors', all.join(','), '--listen', `127.0.0.1:${aggPort}`, '--source', 'agg'],
      /gRPC on/,
    );
    aggA = await startDaemon(
      [
        'aggregator',
        '--collectors',
        all.slice(0, 2).join(','),
        '--listen',
        `127.0.0.1:${pa}`,
        '--source',
        'agg-a',
      ],
      /gRPC on/,
    );
    aggB = await startDaemon(
      ['aggregator', '--collectors', all[2] as string, '--listen', `127.0.0.1:${pb}`, '--source', 'agg-b'],
      /gRPC on/,
    );
    top = await startDaemon(
      [
        'aggregator',
        '--collectors',
        `127.0.0.1:${pa},127.0.0.1:${pb}`,
        '--listen',
        `127.0.0.1:${pt}`,
        '--source',
        'top',
      ],
      /gRPC on/,
    );
    aggClient = createLogtallyClient(`127.0.0.1:${aggPort}`);
    topClient = createLogtallyClient(`127.0.0.1:${pt}`);
    // Every collector has read its log ...
    for (let i = 0; i < 3; i++) {
      const c = createLogtallyClient(`127.0.0.1:${ports[i]}`);
      await until(
        `collector ${i} to read its log`,
        async () => ((await c.status({})).linesRead === 60 * (i + 1) ? true : undefined),
        60_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${collectors[i]?.stderr}`);
      });
    }
    // ... and the minute those lines fell in is complete and merged.
    let seen: unknown;
    await until(
      'the merged minute',
      async () => {
        const got = await websites(aggClient);
        seen = got;
        return JSON.stringify(got) === JSON.stringify(sum(...counts)) ? got : undefined;
      },
      90_000,
    ).catch(async (e: Error) => {
      const t = await aggClient.listTargets({}).catch((x: unknown) => x);
      throw new Error(
        `${e.message}: got ${JSON.stringify(seen)}, want ${JSON.stringify(sum(...counts))}\n${agg?.stderr}\n${JSON.stringify(t)}\n${collectors.map((c) => c?.stderr).join('\n')}`,
      );
    });
  });

  after(async () => {
    for (const p of [top, aggA, aggB, agg, ...collectors]) await stop(p);
    await rm(dir, { recursive: true, force: true });
  });

  it('merged TopN equals the sum of the three collectors', async () => {
    assert.deepEqual(await websites(aggClient), sum(...counts));
    const targets = await aggClient.listTargets({});
    assert.deepEqual(
      targets.targets.map((t) => [t.source, t.state]),
      [
        ['c0', 'up'],
        ['c1', 'up'],
        ['c2', 'up'],
      ],
    );
  });

  it('an aggregator of two aggregators answers like one aggregator over all collectors', async () => {
    const got = await until(
      'the stacked view',
      async () => {
        const g = await websites(topClient);
        return JSON.stringify(g) === JSON.stringify(sum(...counts)) ? g : undefined;
      },
      30_000,
    );
    assert.deepEqual(got, await websites(aggClient));
  });

  it('the reference CLI examples run against the aggregator', async () => {
    const t = `127.0.0.1:${aggPort}`;
    const r = await runCli(['topn', '--target', t, '--n', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout.toString()) as { entries: { label: string; count: number }[] }).entries.map(
        (e) => [e.label, e.count],
      ),
      sum(...counts).slice(0, 2),
    );
    const targets = await runCli(['targets', '--target', t]);
    assert.equal(targets.code, 0, targets.stderr);
    assert.match(targets.stdout.toString(), /c0/);
    const trend = await runCli(['trend', '--target', t, '--window', '5m', '--json']);
    assert.equal(trend.code, 0, trend.stderr);
  });

  it('a killed collector is degraded and its counts leave the view; restarted, it is reintegrated', async () => {
    await stop(collectors[1], 'SIGKILL');
    // Backoff 100, 200, 400 ms: degraded after the third failure (a second or so; 30 s on a loaded machine).
    await until(
      'c1 degraded',
      async () => ((await aggClient.listTargets({})).targets[1]?.state === 'degraded' ? true : undefined),
      30_000,
    );
    assert.deepEqual(
      await websites(aggClient),
      sum(counts[0] as Map<string, number>, counts[2] as Map<string, number>),
    );
    // The others are still served directly too.
    const c0 = createLogtallyClient(`127.0.0.1:${ports[0]}`);
    assert.deepEqual(await websites(c0), sum(counts[0] as Map<string, number>));
    // SIGKILL wrote no state; the last periodic save is older than the counts, so restart from
    // the log (read again from the start): its backfilled minute reintegrates it.
    collectors[1] = await startCollector(1);
    await until(
      'c1 reintegrated',
      async () => ((await aggClient.listTargets({})).targets[1]?.state === 'up' ? true : undefined),
      90_000,
    );
    const after = await websites(aggClient);
    for (const [site, n] of sum(counts[0] as Map<string, number>, counts[2] as Map<string, number>)) {
      assert.ok((after.find(([s]) => s === site)?.[1] ?? 0) >= n, `${site} counted again`);
    }
  });
});
