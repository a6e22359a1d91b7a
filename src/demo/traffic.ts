/**
 * The demo's traffic model: websites, client prefixes (IPv4 and IPv6), paths and their weights,
 * the episodes (a 429 burst from one prefix, a 5xx minute on one backend, a slow endpoint), and
 * the 24 hours of history rendered into each demo log with the lines' own timestamps.
 * Deterministic: a seeded generator, so two runs show the same shape.
 * @module
 */

import { recordSource, renderRecord } from '../format/record/index.ts';
import type { RequestRecord } from '../format/record/record.ts';
import type { CompiledFormat } from '../format/types.ts';

/** xorshift32: small, fast, seeded. */
export class Random {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s / 0x1_0000_0000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An index in [0, n) with a heavy head (Zipf-like, exponent ~1). */
  zipf(n: number): number {
    return Math.min(n - 1, Math.floor(n ** this.next()) - 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
}

/** The prefix the 429 burst comes from (X-Forwarded-For of the Envoy-fronted API). */
export const BURST_PREFIX = '198.51.100.0/24';
export const BURST_NET = '198.51.100.';

/** Websites behind the gateway (the first one is served by the flaky backend, the second by the slow one). */
export const GATEWAY_SITES = [
  'api.shop.example',
  'search.shop.example',
  'www.shop.example',
  'shop.example',
  'static.shop.example',
  'blog.example.org',
  'news.example.net',
  'docs.example.com',
  'status.example.com',
  'cdn.example.net',
] as const;
/** Websites of the uWSGI app (a Python shop backend, say) and of the Envoy-fronted API. */
export const UWSGI_SITES = ['accounts.example.com', 'billing.example.com', 'admin.example.com'] as const;
export const ENVOY_SITES = ['api.example.io', 'grpc-web.example.io', 'hooks.example.io'] as const;

const PATHS = [
  '/',
  '/index.html',
  '/products',
  '/products/42',
  '/products/7',
  '/cart',
  '/checkout',
  '/login',
  '/api/v1/items',
  '/api/v1/items/9',
  '/api/v1/orders',
  '/search',
  '/static/app.js',
  '/static/app.css',
  '/static/logo.png',
  '/favicon.ico',
  '/robots.txt',
  '/feed.xml',
  '/healthz',
  '/wp-login.php',
] as const;
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'curl/8.11.1',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
  'python-requests/2.32.3',
] as const;
const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'HEAD', 'PUT'] as const;

/**
 * Client addresses of the X-Forwarded-For clients: 120 IPv4 /24s (documentation and
 * benchmarking ranges) and 60 IPv6 /48s in 2001:db8::/32, Zipf-weighted.
 */
export function forwardedClient(r: Random): string {
  const i = r.zipf(180);
  if (i < 120) {
    const nets = ['192.0.2', '203.0.113', '198.18', '198.19'];
    const base = nets[i % 4] as string;
    const net = base.split('.').length === 3 ? `${base}.` : `${base}.${i}.`;
    return `${net}${1 + r.int(250)}`;
  }
  return `2001:db8:${(i - 120).toString(16)}:${r.int(65536).toString(16)}::${(1 + r.int(4000)).toString(16)}`;
}

/** A loopback source address for a gateway client: one of 150 /24s in 127.0.0.0/8. */
export function loopbackClient(r: Random): string {
  const i = r.zipf(150);
  return `127.${1 + (i % 250)}.${Math.floor(i / 2) % 250}.${1 + r.int(250)}`;
}

export interface RequestPlan {
  method: string;
  path: string;
  host: string;
  userAgent: string;
  referer?: string;
}

export function planRequest(r: Random, sites: readonly string[]): RequestPlan {
  const host = sites[r.zipf(sites.length)] as string;
  let path = PATHS[r.zipf(PATHS.length)] as string;
  if (path === '/search') path = `/search?q=${r.pick(['shoes', 'red+hat', 'laptop', 'tea'])}`;
  if (path === '/api/v1/items') path += `?page=${1 + r.int(5)}`;
  const method = path.startsWith('/static') ? 'GET' : r.pick(METHODS);
  return {
    method,
    path,
    host,
    userAgent: r.pick(AGENTS),
    ...(r.next() < 0.3 ? { referer: `https://${host}/` } : {}),
  };
}

/** Requests per minute of the daily shape at `t` (epoch seconds): low at night, peak in the afternoon. */
export function dailyRate(t: number, peak: number): number {
  const hour = (t / 3600) % 24;
  return peak * (0.25 + 0.75 * (0.5 - 0.5 * Math.cos(((hour - 3) / 24) * 2 * Math.PI)));
}

/** What the demo's logs are written in, for the history. */
export interface HistoryLogs {
  /** The gateway's access log (nginx, combined with the host first and the upstream lists). */
  readonly access: CompiledFormat;
  /** The gateway's upstream log (nginx upstream_log_format, one line per contact). */
  readonly upstream: CompiledFormat;
  readonly uwsgi: CompiledFormat;
  readonly envoy: CompiledFormat;
}

export interface HistoryOptions {
  /** The end of the history (exclusive), epoch seconds: the start of the current minute. */
  readonly end: number;
  /** How far back, seconds (24 h). */
  readonly span: number;
  /** Upstream addresses of the gateway: [normal1, normal2, flaky, slow]. */
  readonly upstreams: readonly string[];
  readonly seed?: number;
}

export interface HistoryText {
  access: string;
  upstream: string;
  uwsgi: string;
  envoy: string;
  lines: number;
}

/**
 * The last `span` seconds of traffic as log text, each line with its own timestamp, in time
 * order: the daily shape, and past episodes (a 5xx quarter hour 3 h ago, a 429 burst 5 h ago,
 * a slow hour 9 h ago) so the 6h and 24h windows have something to find.
 */
export function generateHistory(f: HistoryLogs, o: HistoryOptions): HistoryText {
  const r = new Random(o.seed ?? 42);
  const out: HistoryText = { access: '', upstream: '', uwsgi: '', envoy: '', lines: 0 };
  const parts: Record<'access' | 'upstream' | 'uwsgi' | 'envoy', string[]> = {
    access: [],
    upstream: [],
    uwsgi: [],
    envoy: [],
  };
  const [up1, up2, flaky, slow] = o.upstreams as [string, string, string, string];
  const start = Math.floor((o.end - o.span) / 60) * 60;
  for (let minute = start; minute < o.end; minute += 60) {
    const ago = o.end - minute;
    const fiveXX = ago > 3 * 3600 - 900 && ago <= 3 * 3600;
    const burst = ago > 5 * 3600 - 600 && ago <= 5 * 3600;
    const slowHour = ago > 9 * 3600 - 3600 && ago <= 9 * 3600;
    const times = (n: number) =>
      Array.from({ length: Math.round(n) }, () => minute + r.int(60_000) / 1000).sort((a, b) => a - b);
    // The gateway.
    for (const t of times(dailyRate(minute, 14))) {
      const p = planRequest(r, GATEWAY_SITES);
      const client = loopbackClient(r);
      let upstream = r.next() < 0.5 ? up1 : up2;
      if (p.host === GATEWAY_SITES[0]) upstream = flaky;
      if (p.host === GATEWAY_SITES[1]) upstream = slow;
      const failed = upstream === flaky && fiveXX;
      const status = failed ? 502 : statusFor(r, p.path);
      const rt =
        upstream === slow ? (slowHour ? 1.2 + r.next() : 0.15 + r.next() * 0.2) : 0.002 + r.next() * 0.03;
      const body = bodyFor(r, p.path, status);
      const contact = {
        group: 0,
        addr: upstream,
        status,
        connectTime: 0,
        headerTime: rt,
        responseTime: rt,
        responseLength: body,
        bytesSent: 120 + p.path.length,
        bytesReceived: body + 180,
      };
      const rec: RequestRecord = {
        time: t,
        clientAddr: client,
        host: p.host,
        method: p.method,
        uri: p.path,
        protocol: 'HTTP/1.1',
        status,
        bodyBytes: body,
        duration: rt + 0.001,
        userAgent: p.userAgent,
        ...(p.referer ? { referer: p.referer } : {}),
        upstreams: [contact],
      };
      parts.access.push(renderRecord(f.access, rec));
      // $upstream_method and $upstream_uri are the contact's request: the client's, here.
      const src = recordSource('nginx', rec);
      parts.upstream.push(
        f.upstream.render((name) =>
          name === 'upstream_method' ? p.method : name === 'upstream_uri' ? p.path : src(name),
        ),
      );
    }
    // The uWSGI app.
    for (const t of times(dailyRate(minute, 5))) {
      const p = planRequest(r, UWSGI_SITES);
      const status = statusFor(r, p.path);
      const size = bodyFor(r, p.path, status);
      parts.uwsgi.push(
        renderRecord(f.uwsgi, {
          time: t,
          startTime: t,
          clientAddr: forwardedClient(r),
          host: p.host,
          method: p.method,
          uri: p.path,
          protocol: 'HTTP/1.1',
          status,
          bodyBytes: size,
          responseBytes: size,
          duration: 0.003 + r.next() * 0.05,
          userAgent: p.userAgent,
          ...(p.referer ? { referer: p.referer } : {}),
        }),
      );
    }
    // The Envoy-fronted API (the 429 burst came from one prefix).
    const envoyTimes = times(dailyRate(minute, 5) + (burst ? 60 : 0));
    for (const t of envoyTimes) {
      const p = planRequest(r, ENVOY_SITES);
      const fromBurst = burst && r.next() < 0.9;
      const client = fromBurst ? `${BURST_NET}${1 + r.int(250)}` : forwardedClient(r);
      const status = fromBurst ? 429 : statusFor(r, p.path);
      parts.envoy.push(
        renderRecord(f.envoy, {
          time: t,
          startTime: t,
          host: p.host,
          method: p.method,
          uri: p.path,
          protocol: 'HTTP/1.1',
          status,
          requestBytes: 0,
          responseBytes: bodyFor(r, p.path, status),
          bodyBytes: bodyFor(r, p.path, status),
          duration: 0.002 + r.next() * 0.02,
          userAgent: p.userAgent,
          requestHeaders: { 'x-forwarded-for': client, 'x-request-id': requestId(r) },
          ...(status === 429 ? { responseFlags: 'RL' } : {}),
        }),
      );
    }
  }
  out.access = join(parts.access);
  out.upstream = join(parts.upstream);
  out.uwsgi = join(parts.uwsgi);
  out.envoy = join(parts.envoy);
  out.lines = parts.access.length + parts.upstream.length + parts.uwsgi.length + parts.envoy.length;
  return out;
}

function join(lines: string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** A status for an ordinary request: mostly 200, some redirects, 404s for probes, rare 500s. */
export function statusFor(r: Random, path: string): number {
  if (path === '/wp-login.php') return 404;
  const x = r.next();
  if (x < 0.82) return 200;
  if (x < 0.88) return 304;
  if (x < 0.92) return 301;
  if (x < 0.985) return 404;
  return 500;
}

export function bodyFor(r: Random, path: string, status: number): number {
  if (status === 304 || status === 301) return 0;
  if (status >= 400) return 150 + r.int(50);
  if (path.endsWith('.png')) return 20_000 + r.int(30_000);
  if (path.endsWith('.js')) return 80_000 + r.int(40_000);
  return 500 + r.int(12_000);
}

function requestId(r: Random): string {
  const h = () => r.int(0x1_0000).toString(16).padStart(4, '0');
  return `${h()}${h()}-${h()}-4${h().slice(1)}-a${h().slice(1)}-${h()}${h()}${h()}`;
}
