/**
 * The demo's small applications, in the demo process: four backends behind the gateway (two
 * ordinary ones, one flaky, one slow), a second app that logs in a uWSGI layout and a third that
 * logs in Envoy's default format (both with logtally's writer, `accessLog`), and the traffic
 * generator. Clients of the gateway connect from loopback source addresses (127.a.b.c: a real
 * peer address per client, which the gateway logs as `$remote_addr`); the two apps take the client
 * from X-Forwarded-For, as an app behind a proxy does (Envoy derives `DOWNSTREAM_REMOTE_ADDRESS`
 * from it with `xff_num_trusted_hops`; the default format logs the header itself; uWSGI's
 * `REMOTE_ADDR` is what the proxy in front passes on).
 * @module
 */
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { compileFormat } from '../format/registry.ts';
import type { CompiledFormat } from '../format/types.ts';
import { type AccessLogHandler, accessLog } from '../http/access-log.ts';
import {
  BURST_NET,
  bodyFor,
  ENVOY_SITES,
  forwardedClient,
  GATEWAY_SITES,
  loopbackClient,
  planRequest,
  Random,
  statusFor,
  UWSGI_SITES,
} from './traffic.ts';

/** The uWSGI app's logformat: Apache combined with the host and the response time in ms. */
export const UWSGI_FORMAT =
  '%(addr) - %(user) [%(ltime)] "%(method) %(uri) %(proto)" %(status) %(size) "%(referer)" "%(uagent)" %(host) %(msecs)ms';

export function uwsgiFormat(): CompiledFormat {
  return compileFormat({ dialect: 'uwsgi', format: UWSGI_FORMAT });
}

export function envoyFormat(): CompiledFormat {
  return compileFormat({ dialect: 'envoy', format: 'envoy-default' });
}

/**
 * The live episodes, by seconds since the demo started (a 5-minute cycle): the 429 burst
 * [2, 45), the flaky backend's 502 minute [5, 65), the slow endpoint [10, 70).
 */
export class Episodes {
  readonly #t0: number;
  constructor(t0 = Date.now()) {
    this.#t0 = t0;
  }
  #at(): number {
    return ((Date.now() - this.#t0) / 1000) % 300;
  }
  get burst(): boolean {
    const s = this.#at();
    return s >= 2 && s < 45;
  }
  get fiveXX(): boolean {
    const s = this.#at();
    return s >= 5 && s < 65;
  }
  get slow(): boolean {
    const s = this.#at();
    return s >= 10 && s < 70;
  }
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function answer(res: ServerResponse, status: number, bytes: number): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(bytes) });
  res.end(bytes > 0 ? Buffer.alloc(bytes, 0x2e) : undefined);
}

function drain(req: IncomingMessage, then: () => void): void {
  req.resume();
  req.once('end', then);
}

export type BackendKind = 'normal' | 'flaky' | 'slow';

/** A backend: ordinary statuses; the flaky one answers 502 during the 5xx episode, the slow one takes 1–2 s in the slow episode. */
export function backend(kind: BackendKind, episodes: Episodes, seed: number): Server {
  const r = new Random(seed);
  return createServer((req, res) => {
    drain(req, () => {
      const path = req.url ?? '/';
      if (kind === 'flaky' && episodes.fiveXX) return answer(res, 502, 157);
      const status = statusFor(r, path);
      const body = req.method === 'HEAD' ? 0 : bodyFor(r, path, status);
      const delay = kind === 'slow' ? (episodes.slow ? 1000 + r.int(1000) : 80 + r.int(150)) : r.int(15);
      setTimeout(() => answer(res, status, body), delay).unref();
    });
  });
}

/** A per-prefix token bucket: `rate` requests per second, `burst` at once. */
class RateLimit {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly rate: number;
  readonly burst: number;
  constructor(rate: number, burst: number) {
    this.rate = rate;
    this.burst = burst;
  }
  allow(key: string): boolean {
    const now = Date.now() / 1000;
    const b = this.#buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.rate);
    b.at = now;
    this.#buckets.set(key, b);
    if (this.#buckets.size > 10_000) this.#buckets.clear();
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

function forwardedFor(req: IncomingMessage): string {
  const h = req.headers['x-forwarded-for'];
  const first = (Array.isArray(h) ? h[0] : h)?.split(',')[0]?.trim();
  return first || (req.socket.remoteAddress ?? '-');
}

function prefixKey(addr: string): string {
  return addr.includes(':') ? addr.split(':').slice(0, 3).join(':') : addr.split('.').slice(0, 3).join('.');
}

export interface App {
  readonly server: Server;
  readonly log: AccessLogHandler;
}

/** The second app: logs in a uWSGI layout (client from X-Forwarded-For, as uWSGI's REMOTE_ADDR behind a proxy). */
export function uwsgiApp(path: string, seed: number): App {
  const r = new Random(seed);
  const log = accessLog({
    path,
    format: uwsgiFormat(),
    buffer: '32k',
    flush: '1s',
    variables: { addr: (ctx) => forwardedFor(ctx.req) },
  });
  const server = createServer(
    log.wrap((req, res) => {
      drain(req, () => {
        const status = statusFor(r, req.url ?? '/');
        setTimeout(() => answer(res, status, bodyFor(r, req.url ?? '/', status)), 3 + r.int(40)).unref();
      });
    }),
  );
  return { server, log };
}

/** The third app: an API behind a local rate limit (5 requests/s per client /24 or /48: 429, flag RL), logging in Envoy's default format. */
export function envoyApp(path: string, seed: number): App {
  const r = new Random(seed);
  const limit = new RateLimit(5, 10);
  const log = accessLog({
    path,
    format: envoyFormat(),
    buffer: '32k',
    flush: '1s',
    variables: {
      RESPONSE_FLAGS: (ctx) => (ctx.aborted ? 'DC' : ctx.res.statusCode === 429 ? 'RL' : undefined),
    },
  });
  const server = createServer(
    log.wrap((req, res) => {
      drain(req, () => {
        if (!limit.allow(prefixKey(forwardedFor(req)))) return answer(res, 429, 18);
        const status = statusFor(r, req.url ?? '/');
        setTimeout(() => answer(res, status, bodyFor(r, req.url ?? '/', status)), 2 + r.int(20)).unref();
      });
    }),
  );
  return { server, log };
}

export { listen };

export interface GeneratorTargets {
  readonly gateway: number;
  readonly uwsgi: number;
  readonly envoy: number;
}

/** Requests per second of the generator. */
export const RATES = { gateway: 12, uwsgi: 4, envoy: 4, burst: 30 } as const;

/**
 * The traffic generator: a steady mix to the three front doors, plus the 429 burst from
 * BURST_PREFIX during its episode. Returns a stop function that resolves when requests in flight
 * have ended.
 */
export function startTraffic(t: GeneratorTargets, episodes: Episodes, seed: number): () => Promise<void> {
  const r = new Random(seed);
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 32 });
  const inflight = new Set<Promise<void>>();
  let stopped = false;

  const send = (
    port: number,
    host: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    localAddress?: string,
  ) => {
    if (stopped || inflight.size > 400) return;
    const p = new Promise<void>((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: { host, ...headers },
          ...(localAddress ? { localAddress, agent: false } : { agent: keepAlive }),
          timeout: 15_000,
        },
        (res) => {
          res.resume();
          res.once('end', resolve);
          res.once('error', () => resolve());
        },
      );
      req.once('error', () => resolve());
      req.once('timeout', () => req.destroy());
      req.end();
    });
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  };

  const tick = 100;
  const owed = { gateway: 0, uwsgi: 0, envoy: 0, burst: 0 };
  const timer = setInterval(() => {
    owed.gateway += (RATES.gateway * tick) / 1000;
    owed.uwsgi += (RATES.uwsgi * tick) / 1000;
    owed.envoy += (RATES.envoy * tick) / 1000;
    if (episodes.burst) owed.burst += (RATES.burst * tick) / 1000;
    for (; owed.gateway >= 1; owed.gateway--) {
      const p = planRequest(r, GATEWAY_SITES);
      const h: Record<string, string> = { 'user-agent': p.userAgent };
      if (p.referer) h.referer = p.referer;
      send(t.gateway, p.host, p.method, p.path, h, loopbackClient(r));
    }
    for (; owed.uwsgi >= 1; owed.uwsgi--) {
      const p = planRequest(r, UWSGI_SITES);
      send(t.uwsgi, p.host, p.method, p.path, {
        'user-agent': p.userAgent,
        'x-forwarded-for': forwardedClient(r),
      });
    }
    for (; owed.envoy >= 1; owed.envoy--) {
      const p = planRequest(r, ENVOY_SITES);
      send(t.envoy, p.host, p.method, p.path, {
        'user-agent': p.userAgent,
        'x-forwarded-for': forwardedClient(r),
      });
    }
    for (; owed.burst >= 1; owed.burst--) {
      send(t.envoy, ENVOY_SITES[0], 'POST', '/api/v1/orders', {
        'user-agent': 'python-requests/2.32.3',
        'x-forwarded-for': `${BURST_NET}${1 + r.int(250)}`,
      });
    }
  }, tick);

  return async () => {
    stopped = true;
    clearInterval(timer);
    await Promise.all([...inflight]);
    keepAlive.destroy();
  };
}
