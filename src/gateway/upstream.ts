/**
 * Upstream groups: peers with nginx's smooth weighted round robin, failure accounting
 * (`max_fails`/`fail_timeout`), backup servers, and per-peer connections on undici — one
 * `Client` per connection, so every contact knows exactly which connection it used, whether
 * that connection is new (connect and TLS instants) or taken from the keep-alive cache.
 * @module
 */
import { lookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import { buildConnector, Client } from 'undici';
import type { UpstreamConf } from './config.ts';

/** Instants of one connection (ms, on the monotonic clock). */
export interface ConnectionTimes {
  /** When the connection was initiated. */
  readonly start: number;
  /** TCP connected (= TLS handshake start on https). */
  tcp?: number;
  /** TLS handshake done (https only). */
  tls?: number;
}

/** One upstream connection: an undici Client limited to one socket. */
export class Connection {
  readonly client: Client;
  socket: Socket | undefined;
  times: ConnectionTimes | undefined;
  /** The socket the previous request on this connection used (a different one means a new connection). */
  used: Socket | undefined;
  constructor(origin: string, tls: boolean, connectTimeout: number) {
    const base = buildConnector({ rejectUnauthorized: false, timeout: connectTimeout });
    this.client = new Client(origin, {
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: (opts, cb) => {
        const times: ConnectionTimes = { start: performance.now() };
        this.times = times;
        const s = base(opts, (err, sock) => {
          // undici writes the first request from this callback, before later 'connect' listeners run.
          if (!err) times.tcp ??= performance.now();
          if (!err && tls) times.tls = performance.now();
          (cb as (e: Error | null, s: unknown) => void)(err, sock);
        }) as unknown as Socket;
        this.socket = s;
        s.once('connect', () => {
          times.tcp = performance.now();
        });
        return s as never;
      },
    });
  }
}

export class Peer {
  /** `ip:port` as nginx prints it in `$upstream_addr`. */
  readonly addr: string;
  readonly origin: string;
  readonly tls: boolean;
  readonly weight: number;
  readonly maxFails: number;
  readonly failTimeout: number;
  readonly backup: boolean;
  readonly down: boolean;
  currentWeight = 0;
  effectiveWeight: number;
  fails = 0;
  accessed = 0;
  checked = 0;
  readonly idle: Connection[] = [];
  constructor(
    addr: string,
    tls: boolean,
    o: { weight: number; maxFails: number; failTimeout: number; backup: boolean; down: boolean },
  ) {
    this.addr = addr;
    this.tls = tls;
    this.origin = `${tls ? 'https' : 'http'}://${addr}`;
    this.weight = o.weight;
    this.effectiveWeight = o.weight;
    this.maxFails = o.maxFails;
    this.failTimeout = o.failTimeout;
    this.backup = o.backup;
    this.down = o.down;
  }
}

export class UpstreamGroup {
  readonly name: string;
  readonly primary: readonly Peer[];
  readonly backup: readonly Peer[];
  readonly keepalive: number;
  /** The group's servers counted as tries (nginx: number of peers, backups included). */
  readonly size: number;
  /** Idle keep-alive connections over all servers of the group. */
  #idle = 0;
  constructor(name: string, primary: Peer[], backup: Peer[], keepalive: number) {
    this.name = name;
    this.primary = primary;
    this.backup = backup;
    this.keepalive = keepalive;
    this.size = primary.length + backup.length;
  }

  /**
   * nginx's `ngx_http_upstream_get_peer`: smooth weighted round robin over peers not tried in
   * this request, not `down`, and not failed `max_fails` times within `fail_timeout`; backups
   * when no primary is left. Undefined when none is left ("no live upstreams").
   */
  pick(tried: ReadonlySet<Peer>, now: number): Peer | undefined {
    return this.#pickFrom(this.primary, tried, now) ?? this.#pickFrom(this.backup, tried, now);
  }

  #pickFrom(peers: readonly Peer[], tried: ReadonlySet<Peer>, now: number): Peer | undefined {
    const single = peers.length === 1 && this.size === 1;
    let best: Peer | undefined;
    let total = 0;
    for (const p of peers) {
      if (tried.has(p) || p.down) continue;
      if (!single && p.maxFails > 0 && p.fails >= p.maxFails && now - p.checked <= p.failTimeout) continue;
      p.currentWeight += p.effectiveWeight;
      total += p.effectiveWeight;
      if (p.effectiveWeight < p.weight) p.effectiveWeight++;
      if (!best || p.currentWeight > best.currentWeight) best = p;
    }
    if (!best) return undefined;
    best.currentWeight -= total;
    if (now - best.checked > best.failTimeout) best.checked = now;
    return best;
  }

  /** Whether `pick` would find a server now (without moving the round robin). */
  hasCandidate(tried: ReadonlySet<Peer>, now: number): boolean {
    const single = this.size === 1;
    const live = (p: Peer) =>
      !tried.has(p) &&
      !p.down &&
      (single || !(p.maxFails > 0 && p.fails >= p.maxFails && now - p.checked <= p.failTimeout));
    return this.primary.some(live) || this.backup.some(live);
  }

  /** nginx's `ngx_http_upstream_free_round_robin_peer`. */
  release(p: Peer, failed: boolean, now: number): void {
    if (failed) {
      p.fails++;
      p.accessed = now;
      p.checked = now;
      if (p.maxFails > 0) {
        p.effectiveWeight -= Math.floor(p.weight / p.maxFails);
        if (p.effectiveWeight < 0) p.effectiveWeight = 0;
      }
    } else if (p.accessed < p.checked) {
      p.fails = 0;
    }
  }

  /** A connection to `p`: an idle keep-alive one, or a new one. */
  acquire(p: Peer, connectTimeout: number): Connection {
    for (let c = p.idle.pop(); c; c = p.idle.pop()) {
      this.#idle--;
      if (!c.client.destroyed && !c.client.closed) return c;
    }
    return new Connection(p.origin, p.tls, connectTimeout);
  }

  /**
   * Returns a connection after its request: kept idle when `keepalive` allows — nginx's cache
   * holds at most N idle connections for the whole group — else closed.
   */
  putBack(p: Peer, c: Connection, reusable: boolean): void {
    if (reusable && this.#idle < this.keepalive && !c.client.destroyed && !c.client.closed) {
      p.idle.push(c);
      this.#idle++;
      return;
    }
    c.client.destroy().catch(() => {});
  }

  /** Closes every idle connection. */
  close(): void {
    for (const p of [...this.primary, ...this.backup]) {
      for (const c of p.idle.splice(0)) c.client.destroy().catch(() => {});
    }
    this.#idle = 0;
  }
}

/** Splits `host[:port]`; the port defaults to 80 (443 for https). */
function hostPort(address: string, tls: boolean): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (v6) return { host: v6[1] as string, port: Number(v6[2] ?? (tls ? 443 : 80)) };
  const i = address.lastIndexOf(':');
  if (i === -1) return { host: address, port: tls ? 443 : 80 };
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

async function addresses(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  const found = await lookup(host, { all: true, order: 'ipv4first' });
  return found.map((a) => a.address);
}

function addrText(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Builds a group from an `upstream` block, resolving host names as nginx does at start-up
 * (every address of a name becomes a peer).
 * @throws Error `host not found in upstream "x"`.
 */
export async function groupFromConf(u: UpstreamConf, tls: boolean): Promise<UpstreamGroup> {
  const primary: Peer[] = [];
  const backup: Peer[] = [];
  for (const s of u.servers) {
    const { host, port } = hostPort(s.address, false);
    let ips: string[];
    try {
      ips = await addresses(host);
    } catch {
      throw new Error(`host not found in upstream "${s.address}" in ${s.file}:${s.line}`);
    }
    for (const ip of ips) {
      const p = new Peer(addrText(ip, port), tls, s);
      (s.backup ? backup : primary).push(p);
    }
  }
  return new UpstreamGroup(u.name, primary, backup, u.keepalive);
}

/** An implicit group for `proxy_pass http://host:port` (no `upstream` block). */
export async function groupFromAddress(address: string, tls: boolean): Promise<UpstreamGroup> {
  const { host, port } = hostPort(address, tls);
  let ips: string[];
  try {
    ips = await addresses(host);
  } catch {
    throw new Error(`host not found in upstream "${address}"`);
  }
  const peers = ips.map(
    (ip) =>
      new Peer(addrText(ip, port), tls, {
        weight: 1,
        maxFails: 1,
        failTimeout: 10_000,
        backup: false,
        down: false,
      }),
  );
  return new UpstreamGroup(address, peers, [], 0);
}
