/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against a live
 * collector tailing a log file fed with known traffic over twelve minutes (the collector's
 * clock is injected, so minutes pass on demand), and an aggregator in front of it with one
 * dead collector for the targets view. Every table is checked against counts computed from
 * the lines written; hostile hosts, URIs and user agents must not inject anything.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { type RunningAggregator, startAggregator } from '../../src/aggregator/run.ts';
import { type RunningCollector, startCollector } from '../../src/collector/run.ts';
import { compileNginx } from '../../src/format/nginx/compile.ts';
import { thousands } from '../../src/frontend/format.ts';
import { visible } from '../../src/frontend/html.ts';
import { type RunningFrontend, startFrontend } from '../../src/frontend/index.ts';
import { createLogtallyClient, type LogtallyClient } from '../../src/rpc/client.ts';
import { filterMessage } from '../../src/rpc/filter-message.ts';
import { assertNoInjectedMarkup, closedPort, XSS } from '../support/frontend.ts';
import { until } from '../support/wait.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM)
  ? false
  : `Debian chromium is not installed at ${CHROMIUM} (apt-get install -y chromium); CI installs it`;
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

const FORMAT =
  '$host\t$remote_addr\t$msec\t$request_method\t$request_uri\t$status\t$body_bytes_sent\t$request_time\t$upstream_addr\t"$http_user_agent"';

type Dim = 'website' | 'prefix' | 'uri' | 'status' | 'upstream' | 'method';

interface Req {
  minute: number;
  website: string;
  client: string;
  prefix: string;
  uri: string;
  status: number;
  method: string;
  upstream: string;
  ua: string;
}

/** Minutes of traffic; the last one is the live (current) minute. */
const MINUTES = 12;
const LIVE = MINUTES - 1;

const SITES = ['api.example.com', 'www.example.com', 'static.example.net', 'shop.example.org'];
const CLIENTS: [string, string][] = [
  ['192.0.2.10', '192.0.2.0/24'],
  ['192.0.2.77', '192.0.2.0/24'],
  ['198.51.100.4', '198.51.100.0/24'],
  ['2001:db8:1::5', '2001:db8:1::/48'],
  ['203.0.113.9', '203.0.113.0/24'],
];
const URIS = ['/v1/users', '/v1/orders', '/', '/login', '/static/app.css'];
const STATUSES = [200, 200, 200, 304, 404, 429, 503];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT'];
const UPSTREAMS = ['10.0.0.1:8080', '10.0.0.2:8080', ''];

function traffic(): Req[] {
  let seed = 0x2545f491;
  const pick = <T>(xs: readonly T[]): T => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
    return xs[(seed >>> 0) % xs.length] as T;
  };
  const out: Req[] = [];
  const add = (minute: number, n: number, r: Omit<Req, 'minute'>) => {
    for (let i = 0; i < n; i++) out.push({ minute, ...r });
  };
  for (let m = 0; m < MINUTES; m++) {
    const volume = 25 + ((m * 37) % 41) + (m >= MINUTES - 4 ? 45 : 0);
    for (let i = 0; i < volume; i++) {
      const [client, prefix] = pick(CLIENTS);
      add(m, 1, {
        website: pick(SITES),
        client,
        prefix,
        uri: pick(URIS),
        status: pick(STATUSES),
        method: pick(METHODS),
        upstream: pick(UPSTREAMS),
        ua: 'Mozilla/5.0',
      });
    }
  }
  // Rows the drilldown follows, a count with a thousands separator, and hostile labels.
  add(LIVE - 1, 5, {
    website: 'api.example.com',
    client: '192.0.2.10',
    prefix: '192.0.2.0/24',
    uri: '/v1/users',
    status: 200,
    method: 'GET',
    upstream: '10.0.0.1:8080',
    ua: 'curl/8',
  });
  add(LIVE - 2, 1234, {
    website: 'www.example.com',
    client: '2001:db8:1::5',
    prefix: '2001:db8:1::/48',
    uri: '/',
    status: 200,
    method: 'GET',
    upstream: '',
    ua: 'bot',
  });
  XSS.forEach((p, i) => {
    add(LIVE, i + 1, {
      website: p,
      client: '203.0.113.66',
      prefix: '203.0.113.0/24',
      uri: `/x/${p}`,
      status: 400,
      method: 'GET',
      upstream: '10.0.0.2:8080',
      ua: p,
    });
  });
  return out;
}

const SENT = traffic();

/** Minutes a window covers: its completed minutes plus the live one. */
function minutesOf(w: string): (m: number) => boolean {
  const span = { '1m': 1, '5m': 5, '15m': 15, '60m': 60 }[w] ?? 288;
  return (m) => m >= LIVE - span;
}

type Filters = Partial<Record<Dim, string>>;

function matches(r: Req, f: Filters): boolean {
  for (const [k, v] of Object.entries(f) as [Dim, string][]) {
    if (k === 'status') {
      const m = /^(>=|<=|!=|<|>)?(\d+)$/.exec(v);
      const n = Number(m?.[2]);
      const op = m?.[1];
      const ok =
        op === '>='
          ? r.status >= n
          : op === '<='
            ? r.status <= n
            : op === '!='
              ? r.status !== n
              : op === '<'
                ? r.status < n
                : op === '>'
                  ? r.status > n
                  : r.status === n;
      if (!ok) return false;
    } else if (String(r[k]) !== v) return false;
  }
  return true;
}

/** The table the dashboard must show: displayed label → count. */
function expected(
  w: string,
  by: Dim,
  f: Filters,
  extra: (r: Req) => boolean = () => true,
): Map<string, number> {
  const inWindow = minutesOf(w);
  const m = new Map<string, number>();
  for (const r of SENT) {
    if (!inWindow(r.minute) || !matches(r, f) || !extra(r)) continue;
    const label = String(r[by]);
    const shown = label === '' ? '(none)' : visible(label);
    m.set(shown, (m.get(shown) ?? 0) + 1);
  }
  return m;
}

describe('frontend in chromium against a live collector', { skip, timeout: 180_000 }, () => {
  let dir = '';
  let collector: RunningCollector;
  let aggregator: RunningAggregator;
  let frontend: RunningFrontend;
  let browser: Browser;
  let page: Page;
  let grpc: LogtallyClient;
  let base = '';
  let collectorAddr = '';
  let aggAddr = '';
  let deadAddr = '';
  const dialogs: string[] = [];
  const cspViolations: string[] = [];
  const clock = { t: 0 };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'logtally-frontend-'));
    const logPath = join(dir, 'access.log');
    writeFileSync(logPath, '');
    // Recent wall-clock minutes, so the screenshots show plausible times.
    clock.t = Math.floor(Date.now() / 60_000) * 60 - LIVE * 60 + 5;
    const diagnostics: string[] = [];
    collector = await startCollector({
      listen: '127.0.0.1:0',
      logs: logPath,
      format: { dialect: 'nginx', format: FORMAT },
      v4prefix: 24,
      v6prefix: 48,
      metricsListen: '',
      source: 'web-e2e',
      version: 'e2e',
      log: (l) => diagnostics.push(l),
      now: () => clock.t,
    });
    collectorAddr = `127.0.0.1:${collector.rpc.address.port}`;
    grpc = createLogtallyClient(collectorAddr);
    const fmt = compileNginx(FORMAT);
    let written = 0;
    for (let m = 0; m < MINUTES; m++) {
      if (m > 0) {
        clock.t += 60;
        collector.store.tick();
      }
      const lines = SENT.filter((r) => r.minute === m).map(
        (r) =>
          `${fmt.render({
            host: r.website,
            remote_addr: r.client,
            msec: clock.t + 0.25,
            request_method: r.method,
            request_uri: r.uri,
            status: r.status,
            body_bytes_sent: 512,
            request_time: 0.004,
            ...(r.upstream === '' ? {} : { upstream_addr: r.upstream }),
            http_user_agent: r.ua,
          })}\n`,
      );
      appendFileSync(logPath, lines.join(''));
      written += lines.length;
      await until(`minute ${m} counted (${diagnostics.join('; ')})`, () =>
        collector.pipeline.linesRead >= written ? true : undefined,
      );
    }
    assert.equal(collector.pipeline.parseErrors, 0);
    deadAddr = `127.0.0.1:${await closedPort()}`;
    aggregator = await startAggregator({
      listen: '127.0.0.1:0',
      collectors: [collectorAddr, deadAddr],
      source: 'agg-e2e',
      version: 'e2e',
      log: () => {},
      backoff: { initialMs: 50, maxMs: 200 },
    });
    aggAddr = `127.0.0.1:${aggregator.rpc.address.port}`;
    frontend = await startFrontend({
      listen: '127.0.0.1:0',
      target: collectorAddr,
      allowTargets: [aggAddr, deadAddr],
      refresh: 600,
      version: 'e2e',
    });
    base = `http://127.0.0.1:${frontend.port}`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await frontend?.close();
    await aggregator?.stop();
    await collector?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The ranked table as shown: label text → count. */
  async function table(): Promise<Map<string, number>> {
    const rows = await page.$$eval('table.ranked tbody tr', (trs) =>
      trs
        .filter((tr) => tr.querySelector('td.count'))
        .map((tr) => [
          tr.querySelector('td.label')?.textContent ?? '',
          tr.querySelector('td.count')?.textContent ?? '',
        ]),
    );
    for (const [, c] of rows) assert.match(c as string, /^\d{1,3}( \d{3})*$/, 'space thousands separator');
    return new Map(rows.map(([l, c]) => [l as string, Number((c as string).replace(/ /g, ''))]));
  }

  function params(): URLSearchParams {
    return new URL(page.url()).searchParams;
  }

  /** Follows a link and waits for the page it leads to. */
  async function follow(selector: string, name?: string): Promise<void> {
    let link = page.locator(selector);
    if (name !== undefined) {
      link = link.filter({ hasText: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) });
    }
    const href = await link.first().getAttribute('href');
    assert.ok(href, `a link ${selector} ${name ?? ''}`);
    await link.first().click();
    await page.waitForURL(new URL(href, base).toString());
  }

  async function sparkCounts(): Promise<number[]> {
    return page.$$eval('svg.spark g.pt', (gs) => gs.map((g) => Number(g.getAttribute('data-count'))));
  }

  async function assertClean(): Promise<void> {
    // A string, not a function: this project type-checks without the DOM library.
    const report = (await page.evaluate(`(() => {
      const bad = [];
      for (const el of document.querySelectorAll('*')) {
        const tag = el.tagName.toLowerCase();
        if (['script', 'img', 'iframe', 'object', 'embed', 'math', 'mglyph', 'mtext'].includes(tag)) bad.push(tag);
        for (const a of el.attributes) if (a.name.startsWith('on')) bad.push(tag + '[' + a.name + ']');
      }
      if (document.querySelectorAll('style').length !== 1) bad.push('extra <style>');
      for (const a of document.querySelectorAll('a[href]')) {
        const u = new URL(a.href);
        if (u.origin !== location.origin) bad.push('link to ' + u.href);
      }
      return bad;
    })()`)) as string[];
    assert.deepEqual(report, [], 'no injected element, handler or off-site link');
    assert.deepEqual(dialogs, [], 'no dialog opened');
  }

  it('opens the dashboard: counts, sparkline buckets, styles allowed by the CSP', async () => {
    const r = await page.goto(`${base}/`);
    assert.equal(r?.status(), 200);
    assert.equal(await page.title(), 'website · 5m · web-e2e · logtally');
    assert.deepEqual(await table(), expected('5m', 'website', {}));
    const www = await page.locator('tr', {
      has: page.locator('td.label', { hasText: /^www\.example\.com$/ }),
    });
    assert.equal(
      await www.locator('td.count').textContent(),
      thousands(expected('5m', 'website', {}).get('www.example.com') ?? 0),
    );
    const trend = await grpc.trend({ window: '5m' });
    assert.equal(trend.points.length, 6, '5 completed minutes and the live one');
    assert.deepEqual(
      await sparkCounts(),
      trend.points.map((p) => p.count),
    );
    // The hashed stylesheet applied (a CSP mismatch would leave the page unstyled).
    assert.equal(
      await page.evaluate("getComputedStyle(document.querySelector('header.top')).borderBottomStyle"),
      'solid',
    );
    assert.equal(
      await page.evaluate("getComputedStyle(document.querySelector('svg.spark .bar')).fill"),
      'rgb(59, 125, 221)',
    );
    assert.deepEqual(cspViolations, []);
    await assertClean();
  });

  it('switches window and dimension, keeping the rest of the state', async () => {
    await page.goto(`${base}/?w=5m&by=website&f_status=%3E%3D200`);
    await follow('nav[aria-label="Window"] a', '1m');
    assert.equal(params().get('w'), '1m');
    assert.equal(params().get('f_status'), '>=200');
    assert.deepEqual(await table(), expected('1m', 'website', { status: '>=200' }));
    assert.equal((await sparkCounts()).length, 2, 'one completed minute and the live one');
    await follow('nav[aria-label="Group by"] a', 'upstream');
    assert.equal(params().get('by'), 'upstream');
    assert.equal(params().get('w'), '1m');
    assert.deepEqual(await table(), expected('1m', 'upstream', { status: '>=200' }));
    await follow('nav[aria-label="Group by"] a', 'method');
    assert.deepEqual(await table(), expected('1m', 'method', { status: '>=200' }));
    await follow('nav[aria-label="Window"] a', '15m');
    assert.deepEqual(await table(), expected('15m', 'method', { status: '>=200' }));
    const trend = await grpc.trend({ window: '15m', filter: filterMessage({ status: '>=200' }) });
    assert.equal(trend.points.length, MINUTES);
    assert.deepEqual(
      await sparkCounts(),
      trend.points.map((p) => p.count),
    );
  });

  it('drills down through the whole cycle and removes a breadcrumb', async () => {
    await page.goto(`${base}/?w=5m&by=website`);
    const steps: [Dim, string, Dim][] = [
      ['website', 'api.example.com', 'prefix'],
      ['prefix', '192.0.2.0/24', 'uri'],
      ['uri', '/v1/users', 'status'],
      ['status', '200', 'website'],
    ];
    const f: Filters = {};
    for (const [dim, label, next] of steps) {
      await follow('table.ranked td.label a', label);
      f[dim] = label;
      assert.equal(params().get('by'), next);
      assert.equal(params().get(`f_${dim}`), label);
      assert.deepEqual(await table(), expected('5m', next, f), `${next} after ${dim}=${label}`);
      const trend = await grpc.trend({ window: '5m', filter: filterMessage(f) });
      assert.deepEqual(
        await sparkCounts(),
        trend.points.map((p) => p.count),
        'one point per bucket',
      );
      assert.deepEqual(
        await page.$$eval('li.tok', (ts) => ts.map((t) => t.getAttribute('data-filter'))),
        Object.keys(f),
      );
    }
    await page.screenshot({ path: join(ARTIFACTS, 'frontend-drilldown.png'), fullPage: true });
    // × on the prefix removes that filter only.
    await follow('li.tok[data-filter="prefix"] a.x');
    assert.equal(params().get('f_prefix'), null);
    assert.equal(params().get('f_website'), 'api.example.com');
    assert.equal(params().get('f_uri'), '/v1/users');
    assert.equal(params().get('f_status'), '200');
    assert.equal(params().get('by'), 'website');
    const { prefix: _, ...rest } = f;
    assert.deepEqual(await table(), expected('5m', 'website', rest));
    await assertClean();
  });

  it('the filter box redirects to the canonical URL of an expression', async () => {
    await page.goto(`${base}/?w=15m&by=uri`);
    await page.fill('#q', 'status>=400 AND website~=^api\\. AND uri~=^/v1/');
    const done = page.waitForURL((u) => u.searchParams.has('f_status'));
    await page.click('form.filter button');
    await done;
    assert.equal(
      new URL(page.url()).search,
      '?w=15m&by=uri&f_website_re=%5Eapi%5C.&f_uri_re=%5E/v1/&f_status=%3E%3D400',
    );
    assert.deepEqual(
      await table(),
      expected('15m', 'uri', {}, (r) => r.status >= 400 && /^api\./.test(r.website) && /^\/v1\//.test(r.uri)),
    );
    assert.equal(await page.inputValue('#q'), 'website~=^api\\. AND uri~=^/v1/ AND status>=400');
    await page.fill('#q', 'status>=4xx');
    const bad = page.waitForResponse((r) => r.url().includes('q='));
    await page.click('form.filter button');
    assert.equal((await bad).status(), 400);
    assert.match((await page.textContent('#q-error')) ?? '', /status: expected a status/);
  });

  it('hostile hosts, URIs and user agents are shown as text, never run', async () => {
    for (const by of ['website', 'uri'] as const) {
      const r = await page.goto(`${base}/?w=5m&by=${by}&n=100`);
      assert.equal(r?.status(), 200);
      assertNoInjectedMarkup((await r?.text()) ?? '');
      assert.deepEqual(await table(), expected('5m', by, {}));
      await assertClean();
    }
    await page.goto(`${base}/?w=5m&by=website&n=100`);
    await follow('table.ranked td.label a', '<script>alert(1)</script>');
    assert.equal(params().get('f_website'), '<script>alert(1)</script>');
    assert.equal(await page.textContent('li.tok .v'), '<script>alert(1)</script>');
    assert.deepEqual(await table(), expected('5m', 'prefix', { website: '<script>alert(1)</script>' }));
    await assertClean();
    // The user agents were read (the format has them) and appear nowhere.
    const html = await (await fetch(`${base}/?w=5m&by=uri&n=100`)).text();
    assertNoInjectedMarkup(html);
  });

  it('raw=1 is the gRPC TopN as JSON; a disallowed target is refused; a dead one is a 502', async () => {
    const raw = await fetch(`${base}/?f_status=429&by=prefix&w=5m&raw=1`);
    const json = (await raw.json()) as { source: string; entries: unknown[] };
    const top = await grpc.topN({
      filter: filterMessage({ status: '429' }),
      groupBy: 'prefix',
      window: '5m',
      n: 25,
    });
    assert.equal(json.source, 'web-e2e');
    assert.deepEqual(
      json.entries,
      top.entries.map((e) => ({ label: e.label, count: e.count, bytes: e.bytes, time: e.time })),
    );
    const refused = await page.goto(`${base}/?target=evil.example:80`);
    assert.equal(refused?.status(), 400);
    assert.match((await page.textContent('h1')) ?? '', /Target not allowed/);
    const down = await page.goto(`${base}/?target=${deadAddr}`);
    assert.equal(down?.status(), 502);
    assert.match((await page.textContent('h1')) ?? '', new RegExp(`Cannot reach ${deadAddr}`));
  });

  it('the targets view lists the collectors behind the aggregator and links to their dashboards', async () => {
    const agg = createLogtallyClient(aggAddr);
    await until('the aggregator to see one collector up and one degraded', async () => {
      const t = (await agg.listTargets({})).targets;
      const up = t.find((x) => x.address === collectorAddr);
      const down = t.find((x) => x.address === deadAddr);
      return up?.state === 'up' && up.source === 'web-e2e' && down?.state === 'degraded' ? true : undefined;
    });
    const r = await page.goto(`${base}/targets?target=${aggAddr}`);
    assert.equal(r?.status(), 200);
    const rows = await page.$$eval('table.targets tbody tr', (trs) =>
      trs.map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('.state')?.textContent]),
    );
    assert.deepEqual(
      rows.sort(),
      [
        [deadAddr, 'degraded'],
        ['web-e2e', 'up'],
      ].sort(),
    );
    await page.screenshot({ path: join(ARTIFACTS, 'frontend-targets.png'), fullPage: true });
    // The collector's dashboard (it is this frontend's default target).
    await follow('table.targets tr:has(th:text-is("web-e2e")) a');
    assert.equal(new URL(page.url()).search, '?w=5m&by=website');
    assert.deepEqual(await table(), expected('5m', 'website', {}));
    // The dead collector's dashboard: a clear 502 page.
    await page.goto(`${base}/targets?target=${aggAddr}`);
    const link = page.locator(`table.targets tr:has(th:text-is("${deadAddr}")) a`);
    const down = page.waitForResponse((x) => x.url().includes(`target=${deadAddr}`));
    await link.click();
    assert.equal((await down).status(), 502);
    await assertClean();
  });

  it('saves screenshots of the dashboard (light, dark, phone)', async () => {
    await page.goto(`${base}/?w=15m&by=uri&f_website=api.example.com`);
    await page.screenshot({ path: join(ARTIFACTS, 'frontend-dashboard.png'), fullPage: true });
    const dark = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    await dark.goto(`${base}/?w=15m&by=status&f_status=%3E%3D400`);
    await dark.screenshot({ path: join(ARTIFACTS, 'frontend-dashboard-dark.png'), fullPage: true });
    const phone = await browser.newPage({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
    });
    await phone.goto(`${base}/?w=15m&by=prefix`);
    // Usable on a phone: nothing wider than the screen.
    assert.ok(((await phone.evaluate('document.documentElement.scrollWidth')) as number) <= 390);
    await phone.screenshot({ path: join(ARTIFACTS, 'frontend-dashboard-phone.png'), fullPage: true });
    for (const f of [
      'frontend-dashboard.png',
      'frontend-dashboard-dark.png',
      'frontend-dashboard-phone.png',
      'frontend-targets.png',
    ]) {
      assert.ok(existsSync(join(ARTIFACTS, f)), f);
    }
  });
});
