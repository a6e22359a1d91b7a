import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Hono } from 'hono';
import { assertNoInjectedMarkup, closedPort, XSS } from '../../test/support/frontend.ts';
import { StoreBackend } from '../collector/store-backend.ts';
import { createLogtallyClient, type LogtallyClient } from '../rpc/client.ts';
import { filterMessage } from '../rpc/filter-message.ts';
import { type RpcServer, startRpcServer } from '../rpc/server.ts';
import { DuckDBSink } from '../store/history/duckdb.ts';
import { HistoryWriter } from '../store/history/writer.ts';
import { Store } from '../store/store.ts';
import { createFrontendApp } from './app.ts';
import { startFrontend } from './server.ts';
import { drill, toQuery, type ViewState } from './state.ts';

const T0 = 1_795_000_000;

const UNESCAPE: Record<string, string> = {
  '&amp;': '&',
  '&#39;': "'",
  '&quot;': '"',
  '&lt;': '<',
  '&gt;': '>',
};

function hrefs(body: string, cls: string): string[] {
  return [...body.matchAll(new RegExp(`<td class="${cls}"><a href="([^"]*)"`, 'g'))].map((m) =>
    (m[1] as string).replace(/&(amp|#39|quot|lt|gt);/g, (e) => UNESCAPE[e] as string),
  );
}

describe('frontend app against a real gRPC endpoint', () => {
  const clock = { t: T0 + 5 };
  const store = new Store({ now: () => clock.t });
  const ingest = { files: () => [], linesRead: 0, parseErrors: 0, syslogDatagrams: 0, syslogLines: 0 };
  let server: RpcServer;
  let client: LogtallyClient;
  let app: Hono;
  let target = '';
  let dead = '';

  before(async () => {
    // Minute 0: ordinary traffic.
    for (let i = 0; i < 30; i++)
      store.add('api.example.com', '192.0.2.7', '/v1/users', 200, '', 'GET', 100, 0.01);
    for (let i = 0; i < 12; i++) store.add('www.example.com', '198.51.100.9', '/', 404, '', 'GET', 50, 0.02);
    clock.t += 60;
    store.tick();
    // Minute 1 (live): hostile labels in every dimension that takes text.
    XSS.forEach((p, i) => {
      for (let k = 0; k <= i; k++) store.add(p, '203.0.113.5', `/x/${p}`, 500, p, p, 1, 0.001);
    });
    for (let i = 0; i < 3; i++)
      store.add('api.example.com', '192.0.2.8', '/v1/orders', 429, '', 'POST', 10, 0.5);
    server = await startRpcServer('127.0.0.1:0', new StoreBackend(store, 'web1', '9.9.9', ingest));
    target = `127.0.0.1:${server.address.port}`;
    dead = `127.0.0.1:${await closedPort()}`;
    client = createLogtallyClient(target);
    app = createFrontendApp({
      target,
      allowTargets: [dead],
      version: '9.9.9',
      timeoutMs: 5000,
      // These tests change the counts between requests for the same view.
      cacheMs: 0,
      now: () => T0 + 100,
    });
  });
  after(async () => {
    await server.close();
  });

  const get = async (path: string) => {
    const r = await app.request(path);
    return { status: r.status, headers: r.headers, body: await r.text() };
  };

  it('serves the dashboard with the security headers and a hashed stylesheet', async () => {
    const r = await get('/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html; charset=UTF-8/i);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /^default-src 'none'; /);
    assert.ok(!/script-src|unsafe-inline|unsafe-eval/.test(csp), csp);
    assert.ok(csp.includes("frame-ancestors 'none'"));
    const style = /<style>([^<]*)<\/style>/.exec(r.body)?.[1] ?? '';
    const hash = createHash('sha256').update(style).digest('base64');
    assert.ok(csp.includes(`style-src 'sha256-${hash}'`), 'the CSP allows exactly the inline stylesheet');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.ok(!r.body.includes('<script'));
    assert.ok(!/\sstyle="/.test(r.body), 'no style attributes (the CSP would block them)');
    assert.ok(r.body.includes('<meta http-equiv="refresh" content="30">'));
    assert.ok(r.body.includes('<meta name="viewport" content="width=device-width, initial-scale=1">'));
    assertNoInjectedMarkup(r.body);
  });

  it('escapes hostile labels in text, attributes, URLs and SVG for every dimension', async () => {
    for (const by of ['website', 'uri', 'upstream', 'method', 'status', 'prefix']) {
      const r = await get(`/?w=5m&by=${by}&n=100`);
      assert.equal(r.status, 200, by);
      assertNoInjectedMarkup(r.body);
    }
    const r = await get('/?w=5m&by=website&n=100');
    // Text.
    assert.ok(r.body.includes('>&lt;script&gt;alert(1)&lt;/script&gt;</a>'));
    // Attribute (the drilldown link's title).
    assert.ok(
      r.body.includes(
        'title="Filter on website = &quot;&gt;&lt;img src=x onerror=alert(1)&gt;, then group by prefix"',
      ),
    );
    // URL: percent-encoded, then HTML-escaped.
    assert.ok(
      r.body.includes(
        'href="/?w=5m&amp;by=prefix&amp;n=100&amp;f_website=%3Cscript%3Ealert(1)%3C/script%3E"',
      ),
    );
    assert.ok(r.body.includes('href="/?w=5m&amp;by=prefix&amp;n=100&amp;f_website=javascript:alert(1)"'));
    // Invisible characters are shown, not obeyed.
    assert.ok(r.body.includes('\\u{202e}evil\\x07'));
    // SVG: the chart's title carries the filter expression.
    const filtered = await get(`/?f_website=${encodeURIComponent('</title><script>alert(1)</script>')}`);
    assert.equal(filtered.status, 200);
    assertNoInjectedMarkup(filtered.body);
    assert.ok(
      filtered.body.includes(
        '<title id="spark-title">Requests per minute, last 5m, where website=&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>',
      ),
    );
    // Breadcrumb (text and the × link's label).
    assert.ok(
      filtered.body.includes('<span class="v">&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</span>'),
    );
    assert.ok(
      filtered.body.includes(
        'aria-label="Remove filter website=&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"',
      ),
    );
    // The filter box holds the expression in an attribute.
    assert.ok(filtered.body.includes('value="website=&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"'));
  });

  it('ranks with counts, space thousands separators and shares', async () => {
    for (let i = 0; i < 1200; i++) store.add('big.example', '192.0.2.1', '/', 200, '', 'GET', 1, 0);
    const r = await get('/?w=1m&by=website&n=3');
    assert.match(r.body, /<td class="rank num">1<\/td><td class="num count">1 200<\/td>/);
    assert.match(r.body, /<span class="pct">\d+\.\d%<\/span>/);
    assert.ok(r.body.includes('<th scope="col" class="num">Requests</th>'));
  });

  it('drilldown links add the row as a filter and advance the dimension', async () => {
    const state: ViewState = { window: '5m', by: 'website', n: 25, order: 'requests', filters: {} };
    const r = await get('/?w=5m&by=website');
    const top = await client.topN({ window: '5m', groupBy: 'website', n: 25 });
    assert.deepEqual(
      hrefs(r.body, 'label'),
      top.entries.map((e) => `/${toQuery(drill(state, e.label), 25)}`),
    );
    const cycle = ['website', 'prefix', 'uri', 'status', 'website'];
    let path = '/?w=5m&by=website';
    const labels = ['api.example.com', '192.0.2.0/24', '/v1/orders', '429'];
    for (let i = 0; i < labels.length; i++) {
      const page = await get(path);
      assert.equal(page.status, 200, path);
      const next = hrefs(page.body, 'label').find(
        (h) => new URLSearchParams(h.slice(2)).get(`f_${cycle[i]}`) === labels[i],
      );
      assert.ok(next, `a row for ${labels[i]} on ${path}`);
      assert.equal(new URLSearchParams(next.slice(2)).get('by'), cycle[i + 1]);
      path = next;
    }
    assert.equal(
      path,
      '/?w=5m&by=website&f_website=api.example.com&f_prefix=192.0.2.0/24&f_uri=/v1/orders&f_status=429',
    );
    const last = await get(path);
    assert.match(last.body, /<td class="num count">3<\/td>/);
  });

  it('tabs keep every filter; each breadcrumb × removes only its filter', async () => {
    const r = await get('/?w=5m&by=uri&f_website=api.example.com&f_status=%3E%3D400');
    assert.ok(
      r.body.includes(
        '<a href="/?w=1m&amp;by=uri&amp;f_website=api.example.com&amp;f_status=%3E%3D400">1m</a>',
      ),
    );
    assert.ok(
      r.body.includes(
        '<a href="/?w=5m&amp;by=method&amp;f_website=api.example.com&amp;f_status=%3E%3D400">method</a>',
      ),
    );
    assert.ok(r.body.includes('aria-current="page">5m</a>'));
    assert.ok(r.body.includes('<a class="x" href="/?w=5m&amp;by=uri&amp;f_status=%3E%3D400"'));
    assert.ok(r.body.includes('<a class="x" href="/?w=5m&amp;by=uri&amp;f_website=api.example.com"'));
  });

  it('raw=1 returns the TopN result as JSON, equal to the gRPC answer', async () => {
    const r = await app.request('/?w=5m&by=status&f_website=api.example.com&raw=1');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const json = (await r.json()) as { source: string; target: string; entries: unknown[] };
    const grpc = await client.topN({
      window: '5m',
      groupBy: 'status',
      n: 25,
      filter: filterMessage({ website: 'api.example.com' }),
    });
    assert.equal(json.source, grpc.source);
    assert.equal(json.target, target);
    assert.deepEqual(
      json.entries,
      grpc.entries.map((e) => ({ label: e.label, count: e.count, bytes: e.bytes, time: e.time })),
    );
    const many = await app.request('/?n=5000&raw=1');
    assert.equal(many.status, 200, 'raw=1 allows more rows than a page');
  });

  it('the filter box redirects to the canonical URL, and explains a bad expression', async () => {
    const expr = 'status>=400 AND website~=^api\\. AND uri~=^/v1/';
    const r = await app.request(`/?q=${encodeURIComponent(expr)}&w=1m&by=prefix&target=${target}`);
    assert.equal(r.status, 303);
    assert.equal(
      r.headers.get('location'),
      '/?w=1m&by=prefix&f_website_re=%5Eapi%5C.&f_uri_re=%5E/v1/&f_status=%3E%3D400',
    );
    assert.ok(r.headers.get('content-security-policy'));
    const followed = await get(r.headers.get('location') as string);
    assert.equal(followed.status, 200);
    assert.ok(followed.body.includes(`value="website~=^api\\. AND uri~=^/v1/ AND status&gt;=400"`));
    const scripted = await app.request(`/?q=${encodeURIComponent('status=429')}&raw=1`);
    assert.equal(scripted.headers.get('location'), '/?w=5m&by=website&f_status=429&raw=1');
    const cleared = await app.request('/?q=&w=5m&by=uri');
    assert.equal(cleared.headers.get('location'), '/?w=5m&by=uri');
    const bad = await get(`/?q=${encodeURIComponent('status>=4xx AND "><script>')}&w=5m&by=website`);
    assert.equal(bad.status, 400);
    assert.ok(bad.body.includes('Cannot use this filter:</strong> column 1: status: expected a status'));
    assert.ok(bad.body.includes('value="status&gt;=4xx AND &quot;&gt;&lt;script&gt;"'));
    assert.ok(!bad.body.includes('http-equiv="refresh"'));
    assertNoInjectedMarkup(bad.body);
  });

  it('refuses a target that is neither the default nor allowed (400), whatever its spelling', async () => {
    for (const t of ['evil.example:80', '169.254.169.254:80', 'localhost:22', 'nonsense']) {
      const r = await get(`/?target=${encodeURIComponent(t)}`);
      assert.equal(r.status, 400, t);
      assert.ok(r.body.includes(t === 'nonsense' ? 'expected host:port' : 'is not allowed'), r.body);
      assert.ok(r.headers.get('content-security-policy'));
      const j = await app.request(`/?target=${encodeURIComponent(t)}&raw=1`);
      assert.equal(j.status, 400);
      assert.ok(((await j.json()) as { error: string }).error);
    }
    const targets = await app.request('/targets?target=evil.example:80');
    assert.equal(targets.status, 400);
    assert.equal((await get(`/?target=${target}`)).status, 200, 'the default, spelled out, is allowed');
  });

  it('a target that is down gives a 502 page, with no stack trace', async () => {
    const r = await get(`/?target=${dead}`);
    assert.equal(r.status, 502);
    assert.ok(r.body.includes(`Cannot reach ${dead}`));
    assert.ok(r.body.includes('ECONNREFUSED'));
    assert.ok(!/\n\s+at /.test(r.body), 'no stack trace');
    assert.ok(r.body.includes('<meta http-equiv="refresh" content="30">'), 'retries by itself');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const j = await app.request(`/?target=${dead}&raw=1`);
    assert.equal(j.status, 502);
    assert.match(((await j.json()) as { error: string }).error, /ECONNREFUSED/);
    assert.equal((await get(`/targets?target=${dead}`)).status, 502);
  });

  it('a target that accepts connections but never answers gives a 504 within the deadline', async () => {
    const sockets = new Set<Socket>();
    const hang = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    const addr = `127.0.0.1:${(hang.address() as AddressInfo).port}`;
    try {
      const slow = createFrontendApp({ target, allowTargets: [addr], timeoutMs: 300 });
      const started = Date.now();
      const r = await slow.request(`/?target=${addr}`);
      assert.equal(r.status, 504);
      assert.ok(Date.now() - started < 5000);
      assert.match(await r.text(), /No answer from 127\.0\.0\.1/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => hang.close(() => r()));
    }
  });

  it('rejects bad parameters with 400 and names them', async () => {
    const r = await get('/?w=2m&by=colour&f_status=5xx&f_uri_re=(');
    assert.equal(r.status, 400);
    assert.ok(r.body.includes('w: unknown window'));
    assert.ok(r.body.includes('by: unknown dimension'));
    const f = await get('/?f_status=5xx&f_uri_re=(');
    assert.equal(f.status, 400);
    assert.ok(f.body.includes('status: expected a status'));
    assert.ok(f.body.includes('f_uri_re: invalid regular expression'));
    assert.equal((await get('/?n=100000')).status, 400);
  });

  it('lists targets with their state and a link to each dashboard', async () => {
    const r = await get('/targets');
    assert.equal(r.status, 200);
    assert.ok(r.body.includes('<th scope="row" class="label">web1</th>'));
    assert.ok(r.body.includes('<span class="state up">up</span>'));
    assert.ok(r.body.includes('<a href="/?w=5m&amp;by=website">Dashboard'));
    assertNoInjectedMarkup(r.body);
    const j = (await (await app.request('/targets?raw=1')).json()) as { targets: { source: string }[] };
    assert.deepEqual(
      j.targets.map((t) => t.source),
      ['web1'],
    );
  });

  it('answers unknown paths with a 404 page carrying the same headers', async () => {
    const r = await get('/nope<script>');
    assert.equal(r.status, 404);
    assert.ok(r.headers.get('content-security-policy'));
    assert.ok(!r.body.includes('<script>'));
  });

  it('refresh 0 leaves the meta refresh out; --n changes the default rows', async () => {
    const quiet = createFrontendApp({ target, refresh: 0, n: 2 });
    const r = await quiet.request('/');
    const body = await r.text();
    assert.ok(!body.includes('http-equiv="refresh"'));
    assert.equal(body.match(/<td class="rank num">/g)?.length, 2);
    assert.ok(body.includes('auto-refresh off'));
  });

  it('offers the 7d and 30d windows only for a target with a history sink', async () => {
    const plain = await get('/?w=5m');
    assert.ok(plain.body.includes('>24h</a>'));
    assert.ok(!plain.body.includes('>7d</a>') && !plain.body.includes('>30d</a>'));
    // Asked anyway: the target's refusal, as a page.
    const refused = await get('/?w=30d');
    assert.equal(refused.status, 502);
    assert.ok(refused.body.includes('keeps no history beyond its 24-hour rings'));

    const dir = mkdtempSync(join(tmpdir(), 'logtally-frontend-history-'));
    const sink = await DuckDBSink.open(join(dir, 'h.duckdb'));
    const hclock = { t: T0 + 5 };
    const hstore = new Store({ now: () => hclock.t });
    const writer = new HistoryWriter(sink, { source: 'web2', log: () => {}, now: () => hclock.t });
    writer.follow(hstore);
    for (let i = 0; i < 7; i++) hstore.add('old.example.com', '192.0.2.1', '/', 200, '', 'GET', 1, 0.1);
    hclock.t += 2 * 86_400;
    hstore.tick();
    const hserver = await startRpcServer(
      '127.0.0.1:0',
      new StoreBackend(hstore, 'web2', '9.9.9', ingest, writer),
    );
    try {
      const happ = createFrontendApp({ target: `127.0.0.1:${hserver.address.port}`, cacheMs: 0 });
      const r = await happ.request('/?w=7d');
      const body = await r.text();
      assert.equal(r.status, 200);
      assert.ok(body.includes('>7d</a>') && body.includes('>30d</a>'));
      assert.ok(body.includes('aria-current="page">7d</a>'));
      assert.ok(body.includes('requests per minute (hourly buckets) · last 7d'));
      assert.ok(body.includes('old.example.com'));
      const targets = await (await happ.request('/targets')).text();
      assert.ok(targets.includes(`· history duckdb:${join(dir, 'h.duckdb')}</span>`));
      assert.ok((await get('/targets')).body.includes('· no history beyond 24h</span>'));
    } finally {
      await hserver.close();
      await writer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves over a real socket', async () => {
    const f = await startFrontend({ listen: '127.0.0.1:0', target });
    try {
      const r = await fetch(`http://127.0.0.1:${f.port}/?w=5m&by=method&raw=1`);
      assert.equal(r.status, 200);
      const j = (await r.json()) as { entries: { label: string }[] };
      assert.ok(j.entries.some((e) => e.label === 'GET'));
      const html = await fetch(`http://127.0.0.1:${f.port}/`);
      assert.equal(html.status, 200);
      assert.ok(html.headers.get('content-security-policy'));
      await html.text();
    } finally {
      await f.close();
    }
    await assert.rejects(startFrontend({ listen: 'no-port', target }), /--listen: expected host:port/);
    assert.throws(() => createFrontendApp({ target: 'x' }), /--target: expected host:port/);
    assert.throws(
      () => createFrontendApp({ target, allowTargets: ['y'] }),
      /--allow-target: expected host:port/,
    );
  });
});

/** A dashboard over a collector's store (served on a real gRPC port) for one describe block. */
function dashboardOver(store: Store): { app: () => Hono } {
  const ingest = { files: () => [], linesRead: 0, parseErrors: 0, syslogDatagrams: 0, syslogLines: 0 };
  let server: RpcServer;
  let app: Hono;
  before(async () => {
    server = await startRpcServer('127.0.0.1:0', new StoreBackend(store, 'web1', '9.9.9', ingest));
    app = createFrontendApp({
      target: `127.0.0.1:${server.address.port}`,
      version: '9.9.9',
      timeoutMs: 5000,
      now: () => T0 + 100,
    });
  });
  after(async () => {
    await server.close();
  });
  return { app: () => app };
}

describe('frontend default dimension for a log without a host', () => {
  const store = new Store({ now: () => T0 + 5 });
  // nginx's combined: no $host, so every line has the empty website.
  for (let i = 0; i < 7; i++) store.add('', '192.0.2.7', '/a', 200, '', 'GET', 10, 0.01);
  for (let i = 0; i < 3; i++) store.add('', '2001:db8:5::9', '/b', 200, '', 'GET', 10, 0.01);
  const d = dashboardOver(store);

  it('opens on client prefixes instead of one "(none)" website row', async () => {
    const body = await (await d.app().request('/')).text();
    assert.match(body, /<title>prefix · 5m · web1 · logtally<\/title>/);
    assert.deepEqual(
      [...body.matchAll(/<td class="label"><a [^>]*>([^<]*)</g)].map((m) => m[1]),
      ['192.0.2.0/24', '2001:db8:5::/48'],
    );
  });

  it('keeps website when the URL asks for it, and shows the empty label as (none)', async () => {
    const body = await (await d.app().request('/?by=website')).text();
    assert.match(body, /<title>website · 5m · web1 · logtally<\/title>/);
    assert.match(body, /<span class="blank">\(none\)<\/span>/);
  });
});

describe('frontend: the "(other)" row of keys not kept one by one', () => {
  // A minute of 3 keys: /k2 … /k9 each push one out; their requests go to the residual.
  const store = new Store({ now: () => T0 + 5, liveCap: 3 });
  for (let i = 0; i < 5; i++) store.add('site.test', '192.0.2.7', '/heavy', 200, '', 'GET', 10, 0.01);
  for (let i = 0; i < 10; i++) store.add('site.test', '192.0.2.7', `/k${i}`, 200, '', 'GET', 10, 0.01);
  const d = dashboardOver(store);

  it('is shown as "(other)", without a drilldown link; by website the sum is exact', async () => {
    const body = await (await d.app().request('/?by=uri&w=1m')).text();
    const rows = [
      ...body.matchAll(/<td class="num count">([^<]*)<\/td>.*?<td class="label">(.*?)<\/td><\/tr>/g),
    ].map((m) => [m[1], m[2]]);
    assert.equal(rows.length, 4);
    // The top rows, then "(other)" last (not ranked).
    assert.deepEqual(rows[3], [
      '8',
      `<span class="blank" title="Requests of keys not kept one by one (a minute's table was full, or past a bucket's top keys)">(other)</span>`,
    ]);
    assert.match(rows[0]?.[1] as string, /^<a href="[^"]*" title="[^"]*">\/heavy<\/a>$/);
    const raw = (await (await d.app().request('/?by=uri&w=1m&raw=1')).json()) as { entries: unknown[] };
    assert.deepEqual(raw.entries[3], { label: '', other: true, count: 8, bytes: 80, time: 0.08 });
    const sites = await (await d.app().request('/?by=website&w=1m')).text();
    assert.deepEqual(
      [...sites.matchAll(/<td class="num count">([^<]*)<\/td>.*?<td class="label"><a [^>]*>([^<]*)</g)].map(
        (m) => [m[1], m[2]],
      ),
      [['15', 'site.test']],
    );
  });
});
