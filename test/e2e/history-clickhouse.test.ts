/**
 * History in ClickHouse end to end, against Debian's clickhouse-server (18.16) started on
 * loopback: two servers are the two shards of a cluster; two collectors with
 * `--history clickhouse://… --history-cluster` each write to their own server, and either one's
 * 30-day TopN and Trend (over the Distributed tables, whole hours from the hourly rollup) equal
 * the sum of both collectors' traffic. One server is stopped while its collector seals minutes,
 * the collector is restarted while it is down, the server started again: those minutes wait in
 * the disk queue and are written once it is back, none lost or doubled (exact totals per minute). Retention drops whole days.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningCollector, startCollector } from '../../src/collector/run.ts';
import { createLogtallyClient } from '../../src/rpc/client.ts';
import { filterMessage } from '../../src/rpc/filter-message.ts';
import { DIMENSIONS, type Dimension } from '../../src/store/dimensions.ts';
import { openHistorySink } from '../../src/store/history/index.ts';
import {
  clickHousePorts,
  findClickHouse,
  type RunningClickHouse,
  removeClickHouse,
  startClickHouse,
} from '../support/clickhouse.ts';
import { prng } from '../support/prng.ts';
import { until } from '../support/wait.ts';

const binary = findClickHouse();
const skip = binary
  ? false
  : 'clickhouse-server is not installed (apt-get install -y clickhouse-server); CI installs it';

const DAY = 86_400;
const START = Date.UTC(2026, 9, 20) / 1000;
const SPAN = 10 * DAY;
const END = START + SPAN;

interface Line {
  minute: number;
  labels: string[];
  addr: string;
  bytes: number;
  time: number;
}

function traffic(seed: number, from: number, to: number, every: number): Line[] {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const out: Line[] = [];
  for (let m = from; m < to; m += every) {
    const n = 1 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) {
      const net = pick(['192.0.2', '198.51.100']);
      out.push({
        minute: m,
        addr: `${net}.${1 + Math.floor(r() * 200)}`,
        labels: [
          pick(['a.test', 'b.test', 'c.test']),
          `${net}.0/24`,
          pick(['/', '/login', '/x']),
          String(pick([200, 200, 404, 503])),
          pick(['', '10.0.0.1:80']),
          pick(['GET', 'POST']),
        ],
        bytes: Math.floor(r() * 1000),
        time: Math.floor(r() * 8) / 4,
      });
    }
  }
  return out;
}

function top(lines: Line[], g: Dimension, keep: (l: Line) => boolean): [string, number, number][] {
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
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
}

describe('collectors with --history clickhouse:// on a two-shard cluster', { skip }, () => {
  let a: RunningClickHouse | undefined;
  let b: RunningClickHouse | undefined;
  const clocks = [{ t: START }, { t: START }];
  const collectors: RunningCollector[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'logtally-ch-e2e-'));
  const logs: string[] = [];
  // Collector 0 every 13 minutes, collector 1 every 17, over the same ten days.
  const lines = [traffic(1, START, END, 13 * 60), traffic(2, START, END, 17 * 60)];
  const all = () => [...(lines[0] as Line[]), ...(lines[1] as Line[])];

  const start = (i: number, ch: RunningClickHouse) =>
    startCollector({
      listen: '127.0.0.1:0',
      logs: logs[i] as string,
      format: { dialect: 'nginx', format: 'logtail' },
      v4prefix: 24,
      v6prefix: 48,
      metricsListen: '',
      source: `ch-${i}`,
      version: 'test',
      log: () => {},
      now: () => (clocks[i] as { t: number }).t,
      history: ch.url('lt'),
      historyCluster: 'fleet',
      historyQueue: join(dir, `queue-${i}`),
    });

  const feed = (i: number, ls: Line[]) => {
    const c = collectors[i] as RunningCollector;
    const clock = clocks[i] as { t: number };
    for (const l of ls) {
      if (l.minute + 1 > clock.t) clock.t = l.minute + 1;
      const [site, , uri, status, up, method] = l.labels as [string, string, string, string, string, string];
      c.store.add(site, l.addr, uri, Number(status), up, method, l.bytes, l.time);
    }
  };

  before(async () => {
    const pa = await clickHousePorts();
    const pb = await clickHousePorts();
    const cluster = { name: 'fleet', shards: [pa, pb] };
    a = await startClickHouse(binary as string, pa, cluster);
    b = await startClickHouse(binary as string, pb, cluster);
    for (let i = 0; i < 2; i++) {
      logs.push(join(dir, `access-${i}.log`));
      writeFileSync(logs[i] as string, '');
    }
    collectors.push(await start(0, a), await start(1, b));
    for (let i = 0; i < 2; i++) {
      feed(i, lines[i] as Line[]);
      (clocks[i] as { t: number }).t = END + 5;
      (collectors[i] as RunningCollector).store.tick();
    }
  });

  after(async () => {
    for (const c of collectors) await c.stop().catch(() => undefined);
    await removeClickHouse(a);
    await removeClickHouse(b);
    rmSync(dir, { recursive: true, force: true });
  });

  it('each collector writes to its own server; either answers the fleet-wide 30d TopN and Trend (the sum)', async () => {
    for (const c of collectors) await c.history?.flush();
    // Each server holds only its writer's rows.
    assert.equal(
      Number(await (a as RunningClickHouse).sql('SELECT sum(requests) FROM lt.minute_totals')),
      lines[0]?.length,
    );
    assert.equal(
      Number(await (b as RunningClickHouse).sql('SELECT sum(requests) FROM lt.minute_totals')),
      lines[1]?.length,
    );
    const filters: [Record<string, string>, (l: Line) => boolean][] = [
      [{}, () => true],
      [{ website: 'b.test', status: '>=400' }, (l) => l.labels[0] === 'b.test' && Number(l.labels[3]) >= 400],
    ];
    for (const c of collectors) {
      const client = createLogtallyClient(`127.0.0.1:${c.rpc.address.port}`);
      for (const g of DIMENSIONS)
        for (const [filter, keep] of filters) {
          const r = await client.topN({
            window: '30d',
            groupBy: g,
            n: 100,
            filter: filterMessage(filter),
            orderBy: 'bytes',
          });
          const want = top(all(), g, keep).sort((x, y) => y[2] - x[2] || (x[0] < y[0] ? -1 : 1));
          assert.deepEqual(
            r.entries.map((e) => [e.label, e.count, e.bytes]),
            want,
            `${g} ${JSON.stringify(filter)}`,
          );
        }
      // A range longer than 7 days that starts and ends mid-hour: whole hours from the hourly
      // rollup, the minutes at both ends from the minute table.
      const from = START + 1800;
      const to = END - 1800;
      const mixed = await client.topN({ from, to, groupBy: 'uri', n: 10 });
      assert.deepEqual(
        mixed.entries.map((e) => [e.label, e.count]),
        top(all(), 'uri', (l) => l.minute >= from && l.minute < to).map(([k, n]) => [k, n]),
      );
      const trend = await client.trend({ window: '30d' });
      assert.equal(trend.points.length, 30 * 24);
      const perHour = new Map<number, number>();
      for (const l of all())
        perHour.set(
          Math.floor(l.minute / 3600) * 3600,
          (perHour.get(Math.floor(l.minute / 3600) * 3600) ?? 0) + 1,
        );
      for (const p of trend.points) assert.equal(p.count, perHour.get(p.start) ?? 0, `hour ${p.start}`);
    }
  });

  it('a server stopped during writes: its collector queues the minutes on disk, is restarted, and writes each once when the server is back', async () => {
    const c = collectors[1] as RunningCollector;
    let client = createLogtallyClient(`127.0.0.1:${c.rpc.address.port}`);
    await (b as RunningClickHouse).stop();
    const more = traffic(3, END, END + 30 * 60, 60);
    feed(1, more);
    (clocks[1] as { t: number }).t = END + 30 * 60 + 5;
    c.store.tick();
    await assert.rejects(c.history?.flush() as Promise<void>);
    const down = await client.status({});
    assert.equal(down.historyQueuedMinutes, 30);
    assert.equal(down.historyOldestQueued, END);
    assert.ok(down.historyWriteErrors >= 1);
    assert.notEqual(down.historyLastError, '');
    // Stopped while the server is down: the minutes stay in the disk queue ...
    await c.stop();
    assert.equal(readdirSync(join(dir, 'queue-1')).length, 30);
    await (b as RunningClickHouse).start();
    // ... and a new collector process writes them from there.
    collectors[1] = await start(1, b as RunningClickHouse);
    client = createLogtallyClient(`127.0.0.1:${(collectors[1] as RunningCollector).rpc.address.port}`);
    await until(
      'the queued minutes to be written',
      async () => ((await client.status({})).historyQueuedMinutes === 0 ? true : undefined),
      60_000,
      200,
    );
    // Per minute, exact: from the minute table (a 30-minute range comes in minutes).
    const r = await client.trend({ from: END, to: END + 30 * 60 });
    assert.deepEqual(
      r.points.map((p) => [p.start, p.span, p.count]),
      Array.from({ length: 30 }, (_, i) => [
        END + i * 60,
        60,
        more.filter((l) => l.minute === END + i * 60).length,
      ]),
    );
    const st = await client.status({});
    assert.equal(st.historyLastError, '');
    assert.equal(
      (
        await (b as RunningClickHouse).sql(
          `SELECT part, count() FROM lt.minute_writes WHERE minute >= toDateTime(${END}) GROUP BY part ORDER BY part`,
        )
      ).trim(),
      'keys\t30\ntotals\t30',
    );
  });

  it('a write that failed half way (keys stored, totals not) is completed on retry, not doubled', async () => {
    const ch = a as RunningClickHouse;
    const sink = await openHistorySink(ch.url('half'));
    const M = END + 7200;
    const w = {
      source: 'x',
      minute: M,
      seq: 0,
      entries: [
        { labels: ['h.test', '192.0.2.0/24', '/', '200', '', 'GET'], requests: 5, bytes: 50, time: 1 },
      ],
      totals: { requests: 5, bytes: 50, time: 1 },
    };
    // What the first attempt left: the keys and their ledger row.
    await ch.sql(
      `INSERT INTO half.minute_keys VALUES (${M}, 'h.test', '192.0.2.0/24', '/', 200, '', 'GET', 5, 50, 1)`,
    );
    await ch.sql(`INSERT INTO half.minute_writes VALUES ('x', ${M}, 0, 'keys')`);
    await sink.write([w]);
    await sink.write([w]); // and a retry of the whole write changes nothing
    assert.equal((await ch.sql('SELECT sum(requests) FROM half.minute_keys')).trim(), '5');
    assert.equal((await ch.sql('SELECT sum(requests) FROM half.minute_totals')).trim(), '5');
    assert.equal((await ch.sql('SELECT sum(requests) FROM half.hour_keys')).trim(), '5');
    await sink.close();
  });

  it('retention drops whole days; a database of a newer logtally is refused', async () => {
    const sink = await openHistorySink((a as RunningClickHouse).url('lt'));
    // Everything before the third day goes; the day holding the cutoff stays whole.
    await sink.expire(START + 2 * DAY + 3600);
    await sink.close();
    const kept = Number(await (a as RunningClickHouse).sql('SELECT sum(requests) FROM lt.minute_totals'));
    assert.equal(kept, lines[0]?.filter((l) => l.minute >= START + 2 * DAY).length);
    assert.equal(
      Number(
        await (a as RunningClickHouse).sql(
          `SELECT count() FROM lt.hour_keys WHERE hour < toDateTime(${START + 2 * DAY})`,
        ),
      ),
      0,
    );
    await (a as RunningClickHouse).sql('CREATE DATABASE newer');
    await (a as RunningClickHouse).sql(
      'CREATE TABLE newer.logtally_meta (key String, value String) ENGINE = TinyLog',
    );
    await (a as RunningClickHouse).sql("INSERT INTO newer.logtally_meta VALUES ('schema_version', '2')");
    const url = (a as RunningClickHouse).url('newer');
    await assert.rejects(openHistorySink(url), {
      message: `--history ${url}: written by a newer logtally (schema 2; this one reads schema 1); upgrade logtally or use another database`,
    });
  });
});
