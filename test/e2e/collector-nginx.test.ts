/**
 * The collector end to end: real nginx writes access logs in two different formats (logtail
 * for one server, a host-less combined layout for another), the collector finds both through
 * --nginx-conf, and its TopN for every dimension equals counts computed from the requests sent.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogtallyClient, type LogtallyClient } from '../../src/rpc/client.ts';
import { filterMessage } from '../../src/rpc/filter-message.ts';
import { BIN, runCli } from '../support/cli.ts';
import {
  findNginx,
  freePort,
  type RunningNginx,
  rawRequest,
  startNginx,
  statusOf,
} from '../support/nginx.ts';
import { until } from '../support/wait.ts';

const nginx = findNginx();
const skip = nginx ? false : 'nginx is not installed (apt-get install -y nginx); CI installs it';

interface Sent {
  host: string;
  client: string;
  path: string;
  method: string;
  status: number;
}

function countBy(xs: Sent[], key: (s: Sent) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

describe('collector with --nginx-conf against a real nginx', { skip }, () => {
  let server: RunningNginx;
  let collector: ChildProcess;
  let client: LogtallyClient;
  let metricsPort = 0;
  let stderr = '';
  let rpcTarget = '';
  const sent: Sent[] = [];

  /** The collector as an operator runs it: everything from nginx.conf, history in a state file. */
  const startCollector = (rpc: number, metrics: string, extra: string[]): ChildProcess => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'collector',
        '--nginx-conf',
        join(server.prefix, 'nginx.conf'),
        '--listen',
        `127.0.0.1:${rpc}`,
        '--metrics-listen',
        metrics,
        '--state-file',
        join(server.prefix, 'collector.state'),
        ...extra,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    return child;
  };

  before(async () => {
    const a = await freePort();
    const b = await freePort();
    const rpc = await freePort();
    metricsPort = await freePort();
    server = await startNginx(
      nginx as string,
      `
  log_format logtail '$host\\t$remote_addr\\t$msec\\t$request_method\\t$request_uri\\t$status\\t$body_bytes_sent\\t$request_time';
  log_format nohost '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';
  set_real_ip_from 127.0.0.1;
  real_ip_header X-Forwarded-For;
  server {
    listen 127.0.0.1:${a};
    server_name a.test;
    access_log logs/a.log logtail;
    location / { return 200 "a"; }
    location /missing { return 404; }
    location /limited { return 429; }
  }
  server {
    listen 127.0.0.1:${b};
    server_name b.test;
    access_log logs/b.log nohost;
    location / { return 204; }
    location /broken { return 503; }
  }`,
      a,
    );
    collector = startCollector(rpc, `127.0.0.1:${metricsPort}`, ['--source', 'e2e']);
    rpcTarget = `127.0.0.1:${rpc}`;
    client = createLogtallyClient(rpcTarget);
    await until('the collector to serve', async () => (await client.status({})).source);
    const clients = ['192.0.2.7', '192.0.2.99', '198.51.100.1', '2001:db8:1::5', '2001:db8:2::9'];
    const plan: [number, string, string, number][] = [
      [a, '/', 'GET', 200],
      [a, '/missing?x=1', 'GET', 404],
      [a, '/limited', 'POST', 429],
      [b, '/', 'GET', 204],
      [b, '/broken', 'PUT', 503],
    ];
    for (let i = 0; i < 40; i++) {
      const [port, path, method, status] = plan[(i * 7) % plan.length] as [number, string, string, number];
      const clientAddr = clients[(i * 3) % clients.length] as string;
      const host = port === a ? 'a.test' : 'b.test';
      const res = await rawRequest(
        port,
        `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nX-Forwarded-For: ${clientAddr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(statusOf(res), status);
      sent.push({ host, client: clientAddr, path: path.split('?')[0] as string, method, status });
    }
    await until('every request to be counted', async () => {
      const r = await client.topN({ groupBy: 'website', window: '1m' });
      const total = r.entries.reduce((s, e) => s + e.count, 0);
      return total === sent.length ? total : undefined;
    });
  });

  after(async () => {
    collector?.kill('SIGTERM');
    if (collector && collector.exitCode === null) await once(collector, 'exit');
    await server?.stop();
    await server?.cleanup();
  });

  const prefix = (addr: string) =>
    addr.includes(':')
      ? `${addr.split(':').slice(0, 3).join(':')}::/48`
      : `${addr.split('.').slice(0, 3).join('.')}.0/24`;

  for (const [dim, key] of [
    ['website', (s: Sent) => s.host],
    ['prefix', (s: Sent) => prefix(s.client)],
    ['uri', (s: Sent) => s.path],
    ['status', (s: Sent) => String(s.status)],
    ['method', (s: Sent) => s.method],
  ] as const) {
    it(`TopN by ${dim} equals the requests sent`, async () => {
      const r = await client.topN({ groupBy: dim, window: '5m', n: 100 });
      assert.equal(r.source, 'e2e');
      assert.deepEqual(
        r.entries.map((e) => [e.label, e.count]),
        countBy(sent, key),
      );
    });
  }

  it('filters combine across formats', async () => {
    const r = await client.topN({
      groupBy: 'uri',
      window: '15m',
      filter: filterMessage({ status: '>=400', websiteRe: '^b\\.' }),
    });
    assert.deepEqual(
      r.entries.map((e) => [e.label, e.count]),
      countBy(
        sent.filter((s) => s.status >= 400 && s.host === 'b.test'),
        (s) => s.path,
      ),
    );
  });

  it('Status reports both files with their formats', async () => {
    const s = await client.status({});
    assert.equal(s.linesRead, sent.length);
    assert.equal(s.parseErrors, 0);
    assert.deepEqual(s.files.map((f) => [f.path.slice(server.prefix.length), f.format, f.lines]).sort(), [
      ['/logs/a.log', 'logtail', sent.filter((x) => x.host === 'a.test').length],
      ['/logs/b.log', 'nohost', sent.filter((x) => x.host === 'b.test').length],
    ]);
  });

  it('serves Prometheus metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const n = sent.filter((s) => s.host === 'a.test' && s.status === 404).length;
    assert.ok(
      text.includes(`logtally_requests_total{host="a.test",method="GET",status="404"} ${n}`),
      text.slice(0, 3000),
    );
    assert.ok(text.includes(`logtally_lines_read_total ${sent.length}`));
    assert.match(text, /logtally_request_duration_seconds_count 40/);
    assert.equal(stderr.includes('line '), false, stderr);
  });

  it('logtally topn reads the same counts through the CLI', async () => {
    const r = await runCli([
      'topn',
      '--target',
      rpcTarget,
      '--group-by',
      'status',
      '--window',
      '5m',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout.toString()) as {
      source: string;
      entries: { label: string; count: number }[];
    };
    assert.equal(doc.source, 'e2e');
    assert.deepEqual(
      doc.entries.map((e) => [e.label, e.count]),
      countBy(sent, (s) => String(s.status)),
    );
    const table = await runCli(['topn', '--target', rpcTarget, '--group-by', 'website']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.toString().trimEnd().split('\n');
    assert.match(lines[0] as string, /^RANK\s+COUNT\s+LABEL$/);
    assert.equal(lines.length, 3);
  });

  it('keeps its history across a restart with --state-file', async () => {
    collector.kill('SIGTERM');
    await once(collector, 'exit');
    assert.equal(collector.exitCode, 0, stderr);
    assert.match(stderr, /collector\.state: saved/);
    const rpc = await freePort();
    collector = startCollector(rpc, '', []);
    const again = createLogtallyClient(`127.0.0.1:${rpc}`);
    const r = await until(
      'the restarted collector to serve',
      async () => await again.topN({ groupBy: 'uri', window: '60m', n: 100 }),
    );
    assert.deepEqual(
      r.entries.map((e) => [e.label, e.count]),
      countBy(sent, (s) => s.path),
    );
  });
});
