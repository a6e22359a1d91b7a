/**
 * The collector reads what the gateway writes: pointed at the gateway's own configuration with
 * --nginx-conf, it finds the access log and the upstream log with their formats (the upstream
 * one in the module's predefined `combined`), and counts every line exactly: one per request in
 * the access log, one per upstream contact in the upstream log.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogtallyClient, type LogtallyClient } from '../../src/rpc/client.ts';
import { BIN } from '../support/cli.ts';
import { backend, get, type RunningGateway, removeDir, startGateway } from '../support/gateway.ts';
import { freePort } from '../support/listening.ts';
import { until } from '../support/wait.ts';

const readLines = (f: string): string[] => {
  try {
    return readFileSync(f, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

describe('collector --nginx-conf on the gateway configuration', () => {
  let gw: RunningGateway;
  let collector: ChildProcess;
  let client: LogtallyClient;
  let stderr = '';
  const servers: { close(): void; closeAllConnections(): void }[] = [];
  /** Status and upstream of every line the gateway wrote: access lines and contact lines. */
  const expected: { kind: 'access' | 'upstream'; status: number; upstream: string }[] = [];

  before(async () => {
    const ok = await backend((req, res) => res.end(`ok ${req.url}`));
    const missing = await backend((_req, res) => {
      res.statusCode = 404;
      res.end('no');
    });
    servers.push(ok.server, missing.server);
    const refused = await freePort();
    const port = await freePort();
    gw = await startGateway(
      (dir) => `
events {}
http {
  log_format withhost '$host $remote_addr - [$time_local] "$request" $status $body_bytes_sent $upstream_addr $request_time';
  upstream retry { server 127.0.0.1:${refused} max_fails=0; server 127.0.0.1:${ok.port}; }
  upstream missing { server 127.0.0.1:${missing.port}; }
  server {
    listen 127.0.0.1:${port};
    server_name gw.test;
    access_log ${dir}/access.log withhost;
    upstream_log ${dir}/upstream.log combined;
    location /retry { proxy_pass http://retry; }
    location /missing { proxy_pass http://missing; }
    location /local { return 204; }
  }
}
`,
    );
    const rpc = await freePort();
    collector = spawn(
      process.execPath,
      [
        BIN,
        'collector',
        '--nginx-conf',
        join(gw.dir, 'gateway.conf'),
        '--listen',
        `127.0.0.1:${rpc}`,
        '--metrics-listen',
        '',
        '--source',
        'gw',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    collector.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    client = createLogtallyClient(`127.0.0.1:${rpc}`);
    await until('the collector to serve', async () => (await client.status({})).source, 30_000);
    const plan = ['/retry', '/missing', '/local', '/retry', '/retry', '/missing'];
    const statusOf: Record<string, number> = { '/retry': 200, '/missing': 404, '/local': 204 };
    for (const [i, path] of plan.entries()) {
      const r = await get(port, `${path}?i=${i}`, { host: 'gw.test' });
      assert.equal(r.status, statusOf[path]);
    }
    // What the gateway wrote: every access line once the last one is there, every contact line.
    const access = await until('the access lines', () => {
      const lines = readLines(join(gw.dir, 'access.log'));
      return lines.length === plan.length ? lines : undefined;
    });
    for (const l of access) {
      const m = /^gw\.test \S+ - \[[^\]]+\] "[^"]*" (\d{3}) \d+ (.+) \S+$/.exec(l);
      assert.ok(m, l);
      // The collector files an access line under the last server of $upstream_addr.
      const last = (m[2] as string).split(/, | : /).at(-1) as string;
      expected.push({ kind: 'access', status: Number(m[1]), upstream: last === '-' ? '' : last });
    }
    for (const l of readLines(join(gw.dir, 'upstream.log'))) {
      const m = /^127\.0\.0\.1 (\S+) \[[^\]]+\] "GET \/\w+\?i=\d" (\d{3}) /.exec(l);
      assert.ok(m, l);
      expected.push({ kind: 'upstream', status: Number(m[2]), upstream: m[1] as string });
    }
    // Each /retry went to the refused server or straight to the good one (round robin): at least one 502 contact.
    assert.ok(expected.some((e) => e.status === 502 && e.upstream === `127.0.0.1:${refused}`));
    assert.equal(expected.filter((e) => e.kind === 'upstream' && e.status === 404).length, 2);
    await until(
      'every line to be counted',
      async () => {
        const r = await client.topN({ groupBy: 'status', window: '5m', n: 100 });
        const total = r.entries.reduce((s, e) => s + e.count, 0);
        return total === expected.length ? total : undefined;
      },
      30_000,
    );
  });

  after(async () => {
    collector?.kill('SIGTERM');
    if (collector && collector.exitCode === null) await once(collector, 'exit');
    if (gw) {
      await gw.stop();
      await removeDir(gw.dir);
    }
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  const countBy = (key: (e: (typeof expected)[number]) => string) => {
    const m = new Map<string, number>();
    for (const e of expected) m.set(key(e), (m.get(key(e)) ?? 0) + 1);
    return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  };

  it('finds both logs with their formats and reads every line', async () => {
    const s = await client.status({});
    assert.equal(s.parseErrors, 0, stderr);
    assert.deepEqual(s.files.map((f) => [f.path.slice(gw.dir.length), f.format, f.lines]).sort(), [
      ['/access.log', 'withhost', expected.filter((e) => e.kind === 'access').length],
      ['/upstream.log', 'combined', expected.filter((e) => e.kind === 'upstream').length],
    ]);
  });

  it('TopN by status and by upstream count every access line and every contact', async () => {
    const byStatus = await client.topN({ groupBy: 'status', window: '5m', n: 100 });
    assert.deepEqual(
      byStatus.entries.map((e) => [e.label, e.count]),
      countBy((e) => String(e.status)),
    );
    const byUpstream = await client.topN({ groupBy: 'upstream', window: '5m', n: 100 });
    assert.deepEqual(
      byUpstream.entries.map((e) => [e.label, e.count]),
      countBy((e) => e.upstream),
    );
  });
});
