/**
 * One upstream contact and the `$upstream_*` variables made of a request's contacts: nginx's
 * lists (`, ` between servers of a group, ` : ` between groups after an internal redirect) and
 * the upstream log module's per-contact `$upstream_last_*` values and `*_ts` / `*_msec` instants.
 *
 * Every instant is taken on one monotonic clock (`performance.now()`) and printed as wall-clock
 * seconds (`performance.timeOrigin` + instant) with millisecond resolution; durations are
 * differences of instants, rounded to the millisecond as nginx's `ngx_current_msec` is.
 * @module
 */
import type { UpstreamContactRecord } from '../format/record/record.ts';
import type { RenderValue } from '../format/types.ts';

export class Contact {
  /** `ip:port` of the server, or the group name when no server was live. */
  readonly addr: string;
  readonly method: string;
  readonly scheme: string;
  readonly uri: string;
  /** Upstream status; nginx's synthetic 502 (error) / 504 (timeout) for failures; 0 when none. */
  status = 0;
  /** Connection initiated, or taken from the keep-alive cache. */
  readonly start: number;
  /** TCP connected (new connections). */
  tcp: number | undefined;
  /** TLS handshake began (= TCP connected) — https only. */
  sslStart: number | undefined;
  /** TLS handshake done — https only. */
  sslEnd: number | undefined;
  sendStart: number | undefined;
  sendEnd: number | undefined;
  header: number | undefined;
  end: number | undefined;
  bytesSent = 0;
  bytesReceived = 0;
  responseLength = 0;
  /** True when the connection came from the keep-alive cache. */
  reused = false;
  /** Why the contact failed (Envoy's response flags: UF, UT, UR, UR, UH, DC, UC). */
  failure: 'connect' | 'timeout' | 'reset' | 'invalid' | 'nolive' | 'client' | 'closed' | undefined;
  /** The last contact of a request whose retries ran out (`proxy_next_upstream_tries`/`_timeout`): Envoy's URX. */
  retriesExhausted = false;
  constructor(addr: string, method: string, scheme: string, uri: string, start = performance.now()) {
    this.addr = addr;
    this.method = method;
    this.scheme = scheme;
    this.uri = uri;
    this.start = start;
  }

  /** nginx's `connect_time`: connected (TLS included) − start; 0 for a kept-alive connection. */
  get connectTime(): number | undefined {
    if (this.reused) return this.sendStart !== undefined ? 0 : undefined;
    const done = this.sslEnd ?? this.tcp;
    return done === undefined ? undefined : ms(done - this.start);
  }
  get transportConnectTime(): number | undefined {
    if (this.reused) return this.sendStart !== undefined ? 0 : undefined;
    return this.tcp === undefined ? undefined : ms(this.tcp - this.start);
  }
  get sslTime(): number | undefined {
    return this.sslStart === undefined || this.sendStart === undefined
      ? undefined
      : ms(this.sendStart - this.sslStart);
  }
  get sendTime(): number | undefined {
    return this.sendStart === undefined || this.sendEnd === undefined
      ? undefined
      : ms(this.sendEnd - this.sendStart);
  }
  get headerTime(): number | undefined {
    return this.header === undefined ? undefined : ms(this.header - this.start);
  }
  get responseTime(): number | undefined {
    return this.end === undefined ? undefined : ms(this.end - this.start);
  }
  get readTime(): number | undefined {
    return this.header === undefined || this.end === undefined ? undefined : ms(this.end - this.header);
  }
}

const FLAG: Readonly<Record<NonNullable<Contact['failure']>, string>> = {
  connect: 'UF',
  timeout: 'UT',
  reset: 'UR',
  invalid: 'UR',
  nolive: 'UH',
  client: 'DC',
  closed: 'UC',
};

/** Envoy's `%RESPONSE_FLAGS%` of one contact, or undefined when it has none. */
export function contactFlags(c: Contact): string | undefined {
  const f: string[] = [];
  if (c.failure) f.push(FLAG[c.failure]);
  if (c.retriesExhausted) f.push('URX');
  return f.length ? f.join(',') : undefined;
}

/** The canonical record's upstream contacts (`upstreams[]`) of a request's contacts. */
export function contactRecords(groups: Groups): UpstreamContactRecord[] {
  return groups.flatMap((g, group) =>
    g.map((c) => ({
      group,
      addr: c.addr,
      status: c.status || null,
      connectTime: c.connectTime ?? null,
      headerTime: c.headerTime ?? null,
      responseTime: c.responseTime ?? null,
      responseLength: c.responseLength,
      bytesSent: c.bytesSent,
      bytesReceived: c.bytesReceived,
    })),
  );
}

/** Milliseconds → seconds, at millisecond resolution. */
function ms(d: number): number {
  return Math.max(0, Math.round(d)) / 1000;
}

/** A monotonic instant as wall-clock seconds (millisecond resolution). */
export function wallSeconds(t: number | undefined): number | undefined {
  return t === undefined ? undefined : Math.round(performance.timeOrigin + t) / 1000;
}

type Groups = readonly (readonly Contact[])[];
type Pick = (c: Contact) => string | number | null | undefined;

function list(groups: Groups, pick: Pick): RenderValue {
  if (groups.length === 0) return undefined;
  return groups.map((g) => g.map((c) => pick(c) ?? null));
}

/** The per-contact values, by the module's `$upstream_last_X` name suffix and its list name. */
const PER_CONTACT: Readonly<Record<string, Pick>> = {
  start_ts: (c) => wallSeconds(c.start),
  ssl_start_ts: (c) => wallSeconds(c.sslStart),
  send_start_ts: (c) => wallSeconds(c.sendStart),
  send_end_ts: (c) => wallSeconds(c.sendEnd),
  header_ts: (c) => wallSeconds(c.header),
  end_ts: (c) => wallSeconds(c.end),
  transport_connect_time: (c) => c.transportConnectTime,
  ssl_time: (c) => c.sslTime,
  send_time: (c) => c.sendTime,
  read_time: (c) => c.readTime,
};

/** nginx's own `$upstream_*` list variables (ngx_http_upstream_module). */
const NGINX_LISTS: Readonly<Record<string, Pick>> = {
  upstream_addr: (c) => c.addr,
  upstream_status: (c) => c.status || null,
  // As nginx (1.19+): a time the contact never reached is "-", whatever its status.
  upstream_connect_time: (c) => c.connectTime,
  upstream_header_time: (c) => c.headerTime,
  upstream_response_time: (c) => c.responseTime,
  upstream_queue_time: (c) => (c.end === undefined ? null : 0),
  upstream_bytes_sent: (c) => c.bytesSent,
  upstream_bytes_received: (c) => c.bytesReceived,
  upstream_response_length: (c) => c.responseLength,
};

/** `$upstream_last_*` (and the predefined combined's `$upstream_log_*`) of one contact. */
const LAST: Readonly<Record<string, (c: Contact) => RenderValue>> = {
  addr: (c) => c.addr,
  status: (c) => c.status || undefined,
  connect_time: (c) => c.connectTime,
  header_time: (c) => c.headerTime,
  response_time: (c) => c.responseTime,
  response_length: (c) => c.responseLength,
  bytes_sent: (c) => c.bytesSent,
  bytes_received: (c) => c.bytesReceived,
};

/** Computes one upstream variable from a request's contacts. */
export type UpstreamGetter = (groups: Groups) => RenderValue;

function lastContact(groups: Groups): Contact | undefined {
  const g = groups[groups.length - 1];
  return g?.[g.length - 1];
}

const sum = (f: (c: Contact) => number) => (groups: Groups) => {
  let n = 0;
  for (const g of groups) for (const c of g) n += f(c);
  return n;
};

const OF_LAST: Readonly<Record<string, (c: Contact) => RenderValue>> = {
  method: (c) => c.method,
  scheme: (c) => c.scheme,
  uri: (c) => c.uri,
};

/**
 * The getter of an upstream variable (lower-case name without `$`), resolved once per name, or
 * `undefined` when the name is not an upstream variable this module computes.
 */
export function upstreamGetter(name: string): UpstreamGetter | undefined {
  if (!name.startsWith('upstream_')) return undefined;
  const own = NGINX_LISTS[name];
  if (own) return (groups) => list(groups, own);
  const rest = name.slice(9);
  const ofLast = OF_LAST[rest];
  if (ofLast)
    return (groups) => {
      const c = lastContact(groups);
      return c ? ofLast(c) : undefined;
    };
  switch (rest) {
    case 'tries':
      return (groups) => groups.reduce((n, g) => n + g.length, 0);
    case 'total_response_length':
      return sum((c) => c.responseLength);
    case 'total_bytes_received':
      return sum((c) => c.bytesReceived);
    case 'total_bytes_sent':
      return sum((c) => c.bytesSent);
  }
  const lastName = rest.startsWith('last_')
    ? rest.slice(5)
    : rest.startsWith('log_')
      ? rest.slice(4)
      : undefined;
  const key = (lastName ?? rest).replace(/_msec$/, '_ts');
  if (lastName !== undefined) {
    const f = LAST[key];
    const p = PER_CONTACT[key];
    const one = f ?? (p ? (c: Contact) => p(c) ?? undefined : undefined);
    if (!one) return undefined;
    return (groups) => {
      const c = lastContact(groups);
      return c ? one(c) : undefined;
    };
  }
  const p = PER_CONTACT[key];
  return p ? (groups) => list(groups, p) : undefined;
}
