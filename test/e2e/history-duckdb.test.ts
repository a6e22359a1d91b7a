/**
 * History in DuckDB end to end: a collector with `--history duckdb:PATH` counts three simulated
 * days (a driven clock, one-minute resolution; the first lines through a real log file), its
 * `topn --window 7d` and `trend --window 7d` (asked through the real CLI and over gRPC) equal an
 * independent count of the same generated traffic for every group-by and two filters, including
 * the two days the rings no longer hold; restarted without a state file, its answers are the same.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningCollector, startCollector } from '../../src/collector/run.ts';
import { createLogtallyClient } from '../../src/rpc/client.ts';
import { filterMessage } from '../../src/rpc/filter-message.ts';
import { DIMENSIONS, type Dimension } from '../../src/store/dimensions.ts';
import { runCli } from '../support/cli.ts';
import { prng } from '../support/prng.ts';
import { until } from '../support/wait.ts';

const DAY = 86_400;
// Three days ending at a minute boundary (a Sunday at 00:00 UTC, so hours and days align).
const START = Date.UTC(2026, 10, 1) / 1000;
const END = START + 3 * DAY;

interface Line {
  minute: number;
  labels: string[]; // website, prefix label, uri, status, upstream, method
  addr: string;
  bytes: number;
  time: number;
}

/** Deterministic traffic: a few requests in every minute over a shared vocabulary. */
function traffic(): Line[] {
  const r = prng(16);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const sites = ['a.test', 'b.test', 'c.test'];
  const nets = ['192.0.2', '198.51.100', '203.0.113'];
  const uris = ['/', '/login', '/api/v1/items', '/static/app.js', '/health'];
  const statuses = [200, 200, 200, 301, 404, 429, 503];
  const ups = ['', '10.0.0.1:8080', '10.0.0.2:8080'];
  const methods = ['GET', 'GET', 'POST', 'PUT'];
  const out: Line[] = [];
  for (let m = START; m < END; m += 60) {
    const n = 1 + Math.floor(r() * 4);
    for (let i = 0; i < n; i++) {
      const net = pick(nets);
      out.push({
        minute: m,
        addr: `${net}.${1 + Math.floor(r() * 250)}`,
        labels: [pick(sites), `${net}.0/24`, pick(uris), String(pick(statuses)), pick(ups), pick(methods)],
        bytes: Math.floor(r() * 5000),
        // Multiples of 1/8 s: sums are exact in binary floating point, whatever their order.
        time: Math.floor(r() * 16) / 8,
      });
    }
  }
  return out;
}

type Counts = [string, number, number, number][];

function expectTop(lines: Line[], groupBy: Dimension, keep: (l: Line) => boolean, n: number): Counts {
  const d = DIMENSIONS.indexOf(groupBy);
  const m = new Map<string, [number, number, number]>();
  for (const l of lines) {
    if (!keep(l)) continue;
    const k = l.labels[d] as string;
    const c = m.get(k) ?? [0, 0, 0];
    c[0]++;
    c[1] += l.bytes;
    c[2] += l.time;
    m.set(k, c);
  }
  return [...m]
    .map(([k, [a, b, c]]): [string, number, number, number] => [k, a, b, c])
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
    .slice(0, n);
}

function expectTrend(
  lines: Line[],
  keep: (l: Line) => boolean,
  from: number,
  to: number,
): [number, number][] {
  const points = new Map<number, number>();
  for (let s = Math.floor(from / 3600) * 3600; s < to; s += 3600) points.set(s, 0);
  for (const l of lines) {
    if (!keep(l) || l.minute < from || l.minute >= to) continue;
    const s = Math.floor(l.minute / 3600) * 3600;
    points.set(s, (points.get(s) ?? 0) + 1);
  }
  return [...points];
}

describe('collector with --history duckdb: (three simulated days)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logtally-history-e2e-'));
  const log = join(dir, 'access.log');
  const db = join(dir, 'history.duckdb');
  const lines = traffic();
  const clock = { t: START };
  let c: RunningCollector;

  const start = () =>
    startCollector({
      listen: '127.0.0.1:0',
      logs: log,
      format: { dialect: 'nginx', format: 'logtail' },
      v4prefix: 24,
      v6prefix: 48,
      metricsListen: '127.0.0.1:0',
      source: 'hist-e2e',
      version: 'test',
      log: () => {},
      now: () => clock.t,
      history: `duckdb:${db}`,
    });
  const target = () => `127.0.0.1:${c.rpc.address.port}`;

  before(async () => {
    writeFileSync(log, '');
    c = await start();
    // The first minute through the real log file and the tailer.
    const first = lines.filter((l) => l.minute === START);
    appendFileSync(
      log,
      first
        .map(
          (l) =>
            `${l.labels[0]}\t${l.addr}\t${START}.000\t${l.labels[5]}\t${l.labels[2]}\t${l.labels[3]}\t${l.bytes}\t${l.time.toFixed(3)}\n`,
        )
        .join(''),
    );
    // Upstream is not in the logtail layout: those lines count under upstream ''.
    for (const l of first) l.labels[4] = '';
    await until('the first minute to be counted', () =>
      c.pipeline.linesRead === first.length ? true : undefined,
    );
    // The rest straight into the collector's store, minute after minute on the driven clock.
    for (const l of lines) {
      if (l.minute === START) continue;
      if (l.minute + 1 > clock.t) clock.t = l.minute + 1;
      const [site, , uri, status, up, method] = l.labels as [string, string, string, string, string, string];
      c.store.add(site, l.addr, uri, Number(status), up, method, l.bytes, l.time);
    }
    clock.t = END + 30;
    c.store.tick();
  });

  after(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const filters: [string, Record<string, string>, (l: Line) => boolean][] = [
    ['no filter', {}, () => true],
    ['website a.test', { website: 'a.test' }, (l) => l.labels[0] === 'a.test'],
    [
      'status >=400, uri not /health',
      { status: '>=400', uriRe: '^/health$' },
      (l) => Number(l.labels[3]) >= 400 && l.labels[2] !== '/health',
    ],
  ];

  const answers = async () => {
    const client = createLogtallyClient(target());
    const out: unknown[] = [];
    for (const g of DIMENSIONS)
      for (const [, f] of filters) {
        const filter = filterMessage({ ...f, ...(f.uriRe ? { uriReNegate: true } : {}) });
        const r = await client.topN({ window: '7d', groupBy: g, n: 1000, filter });
        out.push(r.entries.map((e) => [e.label, e.count, e.bytes, e.time]));
      }
    for (const [, f] of filters) {
      const filter = filterMessage({ ...f, ...(f.uriRe ? { uriReNegate: true } : {}) });
      const r = await client.trend({ window: '7d', filter });
      out.push(r.points.map((p) => [p.start, p.span, p.count]));
    }
    return out;
  };

  let first: unknown[] = [];

  it('7d TopN equals an independent count for every group-by and filter (days the rings no longer hold included)', async () => {
    const client = createLogtallyClient(target());
    // The rings hold 24 hours; history holds all three days.
    const ring = await client.topN({ window: '24h', groupBy: 'website', n: 10 });
    const total = lines.length;
    assert.ok(ring.entries.reduce((n, e) => n + e.count, 0) < total / 2);
    for (const g of DIMENSIONS) {
      for (const [name, f, keep] of filters) {
        const filter = filterMessage({ ...f, ...(f.uriRe ? { uriReNegate: true } : {}) });
        const r = await client.topN({ window: '7d', groupBy: g, n: 1000, filter });
        assert.deepEqual(
          r.entries.map((e) => [e.label, e.count, e.bytes, e.time]),
          expectTop(lines, g, keep, 1000),
          `${g}, ${name}`,
        );
      }
    }
    const st = await client.status({});
    assert.equal(st.history, `duckdb:${db}`);
    assert.equal(st.historyQueuedMinutes, 0);
    assert.equal(st.historyWrittenMinutes, (END - START) / 60);
    assert.equal(st.historyWriteErrors, 0);
    const metrics = await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`^logtally_history_written_minutes_total ${(END - START) / 60}$`, 'm'));
    assert.match(metrics, /^logtally_history_queued_minutes 0$/m);
    assert.match(metrics, /^logtally_history_write_errors_total 0$/m);
  });

  it('7d Trend comes in hours and equals the same count; the CLI asks for 7d and --from/--to', async () => {
    const client = createLogtallyClient(target());
    const to = END; // the clock is in the first minute after the three days
    for (const [name, f, keep] of filters) {
      const filter = filterMessage({ ...f, ...(f.uriRe ? { uriReNegate: true } : {}) });
      const r = await client.trend({ window: '7d', filter });
      assert.deepEqual(
        r.points.map((p) => [p.start, p.count]),
        expectTrend(lines, keep, to - 7 * DAY, to),
        name,
      );
      assert.ok(r.points.every((p) => p.span === 3600));
    }
    const cli = await runCli([
      'topn',
      '--target',
      target(),
      '--window',
      '7d',
      '--group-by',
      'status',
      '--json',
    ]);
    assert.equal(cli.stderr, '');
    assert.deepEqual(
      (JSON.parse(cli.stdout.toString()) as { entries: { label: string; count: number }[] }).entries.map(
        (e) => [e.label, e.count],
      ),
      expectTop(lines, 'status', () => true, 10).map(([l, n]) => [l, n]),
    );
    // One hour of the first day, by minute, through the CLI's ISO --from/--to.
    const from = START + 3600;
    const range = await runCli([
      'trend',
      '--target',
      target(),
      '--from',
      new Date(from * 1000).toISOString(),
      '--to',
      new Date((from + 3600) * 1000).toISOString(),
      '--json',
    ]);
    assert.equal(range.stderr, '');
    const points = (
      JSON.parse(range.stdout.toString()) as { points: { ts: number; span: number; count: number }[] }
    ).points;
    assert.equal(points.length, 60);
    assert.deepEqual(
      points.map((p) => [p.ts, p.span, p.count]),
      Array.from({ length: 60 }, (_, i) => [
        from + i * 60,
        60,
        lines.filter((l) => l.minute === from + i * 60).length,
      ]),
    );
    first = await answers();
  });

  it('restarted without a state file, its 7d answers are unchanged', async () => {
    await c.stop();
    c = await start();
    assert.deepEqual(await answers(), first);
  });

  it('a target without --history refuses 7d and --from with a clear error', async () => {
    await c.stop();
    const plain = await startCollector({
      listen: '127.0.0.1:0',
      logs: log,
      format: { dialect: 'nginx', format: 'logtail' },
      v4prefix: 24,
      v6prefix: 48,
      metricsListen: '',
      version: 'test',
      log: () => {},
    });
    try {
      const r = await runCli(['topn', '--target', `127.0.0.1:${plain.rpc.address.port}`, '--window', '30d']);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `logtally: 127.0.0.1:${plain.rpc.address.port}: window 30d: this endpoint keeps no history beyond its 24-hour rings (start it with --history) (failed_precondition)\n`,
      );
    } finally {
      await plain.stop();
      c = await start();
    }
  });
});
