/**
 * History in ClickHouse from aggregators, as separate processes on the real clock: two Debian
 * clickhouse-servers (18.16) are the two shards of cluster `fleet`; two `logtally collector`s
 * read generated logs whose lines carry their own times (spread over the last hour: a process
 * has no driven clock, and an aggregator only takes minutes of its own last 24 hours; the
 * days-long spread through the sink is history-clickhouse.test.ts's, with collectors in process);
 * each collector is behind its own `logtally aggregator --history clickhouse://…/lt
 * --history-cluster fleet`, which writes to its own shard. Either aggregator's 30-day TopN (every
 * group-by, two filters) and Trend equal an independent count of both logs (the sum).
 *
 * Then one server is stopped while late lines reach its aggregator's collector: the aggregator
 * queues the minutes' amendments on disk, is stopped and started again while the server is down
 * (it starts without its sink, re-takes everything its collector holds and queues those seals
 * too), the server is started again: every minute's total is exact in both shards, none lost or
 * doubled; the fleet's per-minute Trend and 30d TopN too.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogtallyClient, type LogtallyClient } from '../../src/rpc/client.ts';
import { filterMessage } from '../../src/rpc/filter-message.ts';
import { DIMENSIONS, type Dimension } from '../../src/store/dimensions.ts';
import { BIN, runCli } from '../support/cli.ts';
import {
  clickHousePorts,
  findClickHouse,
  type RunningClickHouse,
  removeClickHouse,
  startClickHouse,
} from '../support/clickhouse.ts';
import { freePort } from '../support/listening.ts';
import { prng } from '../support/prng.ts';
import { until } from '../support/wait.ts';

const binary = findClickHouse();
const skip = binary
  ? false
  : 'clickhouse-server is not installed (apt-get install -y clickhouse-server); CI installs it';

interface Line {
  minute: number;
  labels: string[]; // website, prefix, uri, status, upstream (always '': not in logtail), method
  addr: string;
  bytes: number;
  time: number;
}

/** A few lines in every minute of [from, to), over a shared vocabulary. */
function traffic(seed: number, from: number, to: number): Line[] {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const out: Line[] = [];
  for (let m = from; m < to; m += 60) {
    const n = 1 + Math.floor(r() * 4);
    for (let i = 0; i < n; i++) {
      const net = pick(['192.0.2', '198.51.100', '203.0.113']);
      out.push({
        minute: m,
        addr: `${net}.${1 + Math.floor(r() * 200)}`,
        labels: [
          pick(['a.test', 'b.test', 'c.test']),
          `${net}.0/24`,
          pick(['/', '/login', '/api/items']),
          String(pick([200, 200, 301, 404, 503])),
          '',
          pick(['GET', 'GET', 'POST']),
        ],
        bytes: Math.floor(r() * 5000),
        // Multiples of 1/8 s: sums are exact whatever their order.
        time: Math.floor(r() * 16) / 8,
      });
    }
  }
  return out;
}

/** The logtail layout: host, address, msec, method, uri, status, bytes, request time. */
function logText(lines: readonly Line[]): string {
  return lines
    .map(
      (l) =>
        `${l.labels[0]}\t${l.addr}\t${l.minute + 7}.250\t${l.labels[5]}\t${l.labels[2]}\t${l.labels[3]}\t${l.bytes}\t${l.time.toFixed(3)}\n`,
    )
    .join('');
}

function top(lines: readonly Line[], g: Dimension, keep: (l: Line) => boolean): [string, number, number][] {
  const d = DIMENSIONS.indexOf(g);
  const m = new Map<string, [number, number]>();
  for (const l of lines)
    if (keep(l)) {
      const c = m.get(l.labels[d] as string) ?? [0, 0];
      c[0]++;
      c[1] += l.bytes;
      m.set(l.labels[d] as string, c);
    }
  return [...m]
    .map(([k, [a, b]]): [string, number, number] => [k, a, b])
    .sort((x, y) => y[2] - x[2] || (x[0] < y[0] ? -1 : 1));
}

/** `minute\trequests` rows, as ClickHouse's TabSeparated prints them. */
function perMinute(lines: readonly Line[]): string {
  const m = new Map<number, number>();
  for (const l of lines) m.set(l.minute, (m.get(l.minute) ?? 0) + 1);
  return [...m]
    .sort((a, b) => a[0] - b[0])
    .map(([k, v]) => `${k}\t${v}\n`)
    .join('');
}

interface Proc {
  child: ChildProcess;
  out: string;
}

function spawnLogtally(args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, out: '' };
  const take = (d: Buffer) => {
    p.out += d.toString();
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return p;
}

async function stopProc(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = once(p.child, 'exit');
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(t);
}

/** Waits until `client` answers Status (the process listens and serves). */
async function ready(name: string, p: Proc, client: LogtallyClient): Promise<void> {
  await until(
    `${name} to answer Status`,
    async () => {
      if (p.child.exitCode !== null) throw new Error(`${name} exited with ${p.child.exitCode}: ${p.out}`);
      return (await client.status({}, { timeoutMs: 5000 }).then(
        () => true,
        () => undefined,
      ))
        ? true
        : undefined;
    },
    60_000,
    100,
  );
}

describe('aggregator processes with --history clickhouse:// on a two-shard cluster', {
  skip,
  timeout: 300_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'logtally-ch-agg-e2e-'));
  // Whole minutes of the real clock: the lines' own times, from 50 to 20 minutes ago (in the
  // collectors' one-minute ring, older than any minute the test waits for).
  const NOW = Math.floor(Date.now() / 60_000) * 60;
  const lines = [traffic(21, NOW - 50 * 60, NOW - 20 * 60), traffic(22, NOW - 50 * 60, NOW - 20 * 60)];
  // Late lines for collector 1 while its server is down: minutes already written, and minutes
  // that had no line before (a sealed minute its aggregator never wrote).
  const late = [
    ...traffic(23, NOW - 40 * 60, NOW - 30 * 60),
    ...traffic(24, NOW - 20 * 60, NOW - 12 * 60),
  ].sort((x, y) => x.minute - y.minute);
  const chs: RunningClickHouse[] = [];
  const collectors: Proc[] = [];
  const aggregators: (Proc | undefined)[] = [];
  const collectorPorts: number[] = [];
  const aggPorts: number[] = [];
  const logs = [join(dir, 'access-0.log'), join(dir, 'access-1.log')];
  const client = (i: number) => createLogtallyClient(`127.0.0.1:${aggPorts[i]}`);

  const startAggregator = async (i: number) => {
    const p = spawnLogtally([
      'aggregator',
      '--listen',
      `127.0.0.1:${aggPorts[i]}`,
      '--collectors',
      `127.0.0.1:${collectorPorts[i]}`,
      '--source',
      `agg-${i}`,
      '--history',
      (chs[i] as RunningClickHouse).url('lt'),
      '--history-cluster',
      'fleet',
      '--history-queue',
      join(dir, `queue-${i}`),
    ]);
    aggregators[i] = p;
    await ready(`aggregator ${i}`, p, client(i));
  };

  const localTotal = async (ch: RunningClickHouse) =>
    Number(await ch.sql('SELECT sum(requests) FROM lt.minute_totals'));

  before(async () => {
    const pa = await clickHousePorts();
    const pb = await clickHousePorts();
    const cluster = { name: 'fleet', shards: [pa, pb] };
    chs.push(await startClickHouse(binary as string, pa, cluster));
    chs.push(await startClickHouse(binary as string, pb, cluster));
    for (let i = 0; i < 2; i++) {
      writeFileSync(logs[i] as string, logText(lines[i] as Line[]));
      collectorPorts.push(await freePort());
      aggPorts.push(await freePort());
    }
    // One process after another, each ready before the next.
    for (let i = 0; i < 2; i++) {
      const p = spawnLogtally([
        'collector',
        '--listen',
        `127.0.0.1:${collectorPorts[i]}`,
        '--logs',
        logs[i] as string,
        '--from-start',
        '--metrics-listen',
        '',
        '--source',
        `col-${i}`,
      ]);
      collectors.push(p);
      const c = createLogtallyClient(`127.0.0.1:${collectorPorts[i]}`);
      await ready(`collector ${i}`, p, c);
      await until(
        `collector ${i} to read its log`,
        async () => ((await c.status({})).linesRead === lines[i]?.length ? true : undefined),
        60_000,
        100,
      );
    }
    for (let i = 0; i < 2; i++) await startAggregator(i);
    // Every minute published by each aggregator is in its own shard.
    for (let i = 0; i < 2; i++)
      await until(
        `aggregator ${i}'s minutes in its shard`,
        async () => ((await localTotal(chs[i] as RunningClickHouse)) === lines[i]?.length ? true : undefined),
        90_000,
        250,
      );
  });

  after(async () => {
    for (const p of aggregators) await stopProc(p);
    for (const p of collectors) await stopProc(p);
    for (const ch of chs) await removeClickHouse(ch);
    rmSync(dir, { recursive: true, force: true });
  });

  it("each aggregator writes its own shard; either one's 30d TopN and Trend are the fleet's (the sum)", async () => {
    const all = [...(lines[0] as Line[]), ...(lines[1] as Line[])];
    for (let i = 0; i < 2; i++)
      assert.equal(
        await (chs[i] as RunningClickHouse).sql(
          'SELECT toUInt32(minute), sum(requests) FROM lt.minute_totals GROUP BY minute ORDER BY minute',
        ),
        perMinute(lines[i] as Line[]),
      );
    const filters: [Record<string, string>, (l: Line) => boolean][] = [
      [{}, () => true],
      [{ website: 'b.test', status: '>=400' }, (l) => l.labels[0] === 'b.test' && Number(l.labels[3]) >= 400],
    ];
    for (let i = 0; i < 2; i++) {
      const c = client(i);
      for (const g of DIMENSIONS)
        for (const [filter, keep] of filters) {
          const r = await c.topN({
            window: '30d',
            groupBy: g,
            n: 100,
            filter: filterMessage(filter),
            orderBy: 'bytes',
          });
          assert.deepEqual(
            r.entries.map((e) => [e.label, e.count, e.bytes]),
            top(all, g, keep),
            `aggregator ${i}: ${g} ${JSON.stringify(filter)}`,
          );
        }
      const trend = await c.trend({ window: '30d' });
      // Whole hours over the 30 days up to now (and the hour now is in): contiguous, each exact.
      const first = Math.floor((Date.now() / 1000 - 30 * 86_400) / 3600) * 3600;
      assert.ok(trend.points.length === 30 * 24 || trend.points.length === 30 * 24 + 1);
      trend.points.forEach((p, k) => {
        assert.equal(p.start, (trend.points[0]?.start ?? 0) + k * 3600);
      });
      assert.ok(Math.abs((trend.points[0]?.start ?? 0) - first) <= 3600);
      const perHour = new Map<number, number>();
      for (const l of all) {
        const h = Math.floor(l.minute / 3600) * 3600;
        perHour.set(h, (perHour.get(h) ?? 0) + 1);
      }
      for (const p of trend.points) assert.equal(p.count, perHour.get(p.start) ?? 0, `hour ${p.start}`);
    }
    // As an operator asks it: the CLI against the aggregator.
    const cli = await runCli([
      'topn',
      '--target',
      `127.0.0.1:${aggPorts[0]}`,
      '--window',
      '30d',
      '--group-by',
      'website',
      '--json',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const rows = JSON.parse(cli.stdout.toString()) as {
      entries: { label: string; count: number | string }[];
    };
    assert.deepEqual(
      rows.entries.map((e) => [e.label, Number(e.count)]),
      top(all, 'website', () => true)
        .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
        .map(([k, n]) => [k, n]),
    );
  });

  it('a server stopped during writes, its aggregator restarted meanwhile: every minute exact once it is back', async () => {
    const b = chs[1] as RunningClickHouse;
    await b.stop();
    appendFileSync(logs[1] as string, logText(late));
    const c1 = createLogtallyClient(`127.0.0.1:${collectorPorts[1]}`);
    const want = (lines[1]?.length ?? 0) + late.length;
    await until(
      'collector 1 to read the late lines',
      async () => ((await c1.status({})).linesRead === want ? true : undefined),
      60_000,
      100,
    );
    // The aggregator takes every late line (its rings have them) and fails to write them.
    await until(
      'aggregator 1 to take the late lines',
      async () => {
        const r = await client(1).topN({ window: '60m', groupBy: 'website', n: 10 });
        return r.entries.reduce((n, e) => n + e.count, 0) === want ? true : undefined;
      },
      60_000,
      200,
    );
    await until(
      'aggregator 1 to fail writing them',
      async () => {
        const st = await client(1).status({});
        return st.historyWriteErrors >= 1 && st.historyQueuedMinutes >= 18 ? st : undefined;
      },
      60_000,
      200,
    );
    // Stopped while the server is down: the minutes stay in its disk queue; started again while
    // it is still down, it says so, serves, and re-takes every minute its collector holds (seals
    // written before, and minutes that reached the sink as changes only), queued behind them.
    await stopProc(aggregators[1]);
    assert.ok(readdirSync(join(dir, 'queue-1')).length >= 18);
    await startAggregator(1);
    assert.match(
      aggregators[1]?.out ?? '',
      /history clickhouse:\/\/127\.0\.0\.1:\d+\/lt \(cluster fleet\): the server does not answer \(.*ECONNREFUSED.*\); starting without it/,
    );
    await until(
      'the restarted aggregator 1 to re-take its collector while the server is down',
      async () => {
        const r = await client(1).topN({ window: '60m', groupBy: 'website', n: 10 });
        const st = await client(1).status({});
        return r.entries.reduce((n, e) => n + e.count, 0) === want && st.historyWriteErrors >= 1
          ? true
          : undefined;
      },
      60_000,
      200,
    );
    await b.start();
    const total = [...(lines[1] as Line[]), ...late];
    await until(
      'the queued minutes to be written',
      async () => {
        const st = await client(1).status({});
        return st.historyQueuedMinutes === 0 && (await localTotal(b)) >= total.length ? true : undefined;
      },
      120_000,
      250,
    );
    // Per minute, exact, in each shard (nothing left to write: the queue is empty).
    assert.equal(
      await b.sql(
        'SELECT toUInt32(minute), sum(requests) FROM lt.minute_totals GROUP BY minute ORDER BY minute',
      ),
      perMinute(total),
    );
    assert.equal(
      await (chs[0] as RunningClickHouse).sql(
        'SELECT toUInt32(minute), sum(requests) FROM lt.minute_totals GROUP BY minute ORDER BY minute',
      ),
      perMinute(lines[0] as Line[]),
    );
    // And through the aggregator: the fleet's minutes over the Distributed tables.
    const fleet = [...(lines[0] as Line[]), ...total];
    const r = await client(0).trend({ from: NOW - 50 * 60, to: NOW - 10 * 60 });
    const byMinute = new Map<number, number>();
    for (const l of fleet) byMinute.set(l.minute, (byMinute.get(l.minute) ?? 0) + 1);
    assert.deepEqual(
      r.points.map((p) => [p.start, p.span, p.count]),
      Array.from({ length: 40 }, (_, k) => [
        NOW - 50 * 60 + k * 60,
        60,
        byMinute.get(NOW - 50 * 60 + k * 60) ?? 0,
      ]),
    );
    const uri = await client(1).topN({ window: '30d', groupBy: 'uri', n: 10, orderBy: 'bytes' });
    assert.deepEqual(
      uri.entries.map((e) => [e.label, e.count, e.bytes]),
      top(fleet, 'uri', () => true),
    );
    assert.equal((await client(1).status({})).historyLastError, '');
  });
});
