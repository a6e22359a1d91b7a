/**
 * nginx variables computed from Node's request and response.
 * @see https://nginx.org/en/docs/http/ngx_http_core_module.html#variables
 * @see https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format
 * @module
 */
import { randomFillSync } from 'node:crypto';
import { hostname } from 'node:os';
import type { Getter, VariableContext } from './getter.ts';
import type { RequestState } from './state.ts';
import { fromLatin1, header, headerName, rawHeader } from './text.ts';
import { argValue, basicUser, cookieValue, normalizeHost, normalizeUri } from './uri.ts';

const HOSTNAME = hostname().toLowerCase();

const ids = Buffer.alloc(4096);
let idPos = ids.length;
/** `$request_id`: 16 random bytes as 32 hex digits. */
export function requestId(): string {
  if (idPos + 16 > ids.length) {
    randomFillSync(ids);
    idPos = 0;
  }
  idPos += 16;
  return ids.toString('hex', idPos - 16, idPos);
}

function pathAndArgs(s: RequestState): { path: string; args: string | undefined } {
  const p = s.target.path;
  const q = p.indexOf('?');
  // An empty query (`/p?`) is "not found" for nginx, as no query.
  if (q === -1) return { path: p, args: undefined };
  return { path: p.slice(0, q), args: q === p.length - 1 ? undefined : p.slice(q + 1) };
}

const args = (s: RequestState) => {
  const a = pathAndArgs(s).args;
  return a === undefined ? undefined : fromLatin1(a);
};

/** `$host`: the request line's host, else the Host header, else the server name. */
export function nginxHost(s: RequestState, ctx: VariableContext): string {
  const a = s.target.authority;
  if (a !== undefined) return fromLatin1(normalizeHost(a.slice(a.lastIndexOf('@') + 1)));
  const h = rawHeader(s.req, 'host');
  return h === undefined ? ctx.serverName : fromLatin1(normalizeHost(h));
}

const FIXED: Record<string, Getter> = {
  remote_addr: (s) => s.conn.remoteAddress,
  remote_port: (s) => (s.conn.remotePort === undefined ? undefined : String(s.conn.remotePort)),
  remote_user: (s) => {
    const u = basicUser(rawHeader(s.req, 'authorization'));
    return u === undefined ? undefined : fromLatin1(u);
  },
  realip_remote_addr: (s) => s.conn.remoteAddress,
  realip_remote_port: (s) => (s.conn.remotePort === undefined ? undefined : String(s.conn.remotePort)),
  request: (s) => s.requestLine,
  request_method: (s) => s.req.method,
  request_uri: (s) => fromLatin1(s.target.path),
  uri: (s) => fromLatin1(normalizeUri(pathAndArgs(s).path)),
  document_uri: (s) => fromLatin1(normalizeUri(pathAndArgs(s).path)),
  args,
  query_string: args,
  is_args: (s) => (pathAndArgs(s).args === undefined ? '' : '?'),
  server_protocol: (s) => `HTTP/${s.req.httpVersion}`,
  status: (s) => s.status,
  body_bytes_sent: (s) => s.bodyBytesSent,
  bytes_sent: (s) => s.bytesSent,
  request_length: (s) => s.requestLength,
  request_time: (s) => s.requestTime,
  request_completion: (s) => (s.aborted ? '' : 'OK'),
  time_local: (s) => s.endTime / 1000,
  time_iso8601: (s) => s.endTime / 1000,
  msec: (s) => s.endTime / 1000,
  host: nginxHost,
  hostname: () => HOSTNAME,
  server_name: (_s, ctx) => ctx.serverName,
  scheme: (s) => ((s.socket as { encrypted?: boolean } | null)?.encrypted ? 'https' : 'http'),
  https: (s) => ((s.socket as { encrypted?: boolean } | null)?.encrypted ? 'on' : ''),
  server_addr: (s) => s.conn.localAddress,
  server_port: (s) => (s.conn.localPort === undefined ? undefined : String(s.conn.localPort)),
  connection: (s) => s.conn.serial,
  connection_requests: (s) => s.connectionRequests,
  connection_time: (s) => (s.endTime - s.conn.start) / 1000,
  pid: () => process.pid,
  request_id: requestId,
  content_length: (s) => s.contentLength,
  content_type: (s) => header(s.req, 'content-type'),
  pipe: (s) => (s.conn.overlapped ? 'p' : '.'),
};

/**
 * Response-header variables nginx computes from its state rather than from the header sent;
 * at log time nginx has already cleared `r->keepalive`, so `$sent_http_connection` is `close`
 * (`upgrade` for 101) and `$sent_http_keep_alive` not found — even on keep-alive responses.
 */
const SENT_SPECIAL: Record<string, Getter> = {
  sent_http_connection: (s) => (s.status === 101 ? 'upgrade' : 'close'),
  sent_http_keep_alive: () => undefined,
};

const PREFIXES: [string, (suffix: string) => Getter][] = [
  [
    'sent_http_',
    (suffix) => {
      const name = headerName(suffix);
      return (s) => s.sentHeader(name);
    },
  ],
  [
    'http_',
    (suffix) => {
      const name = headerName(suffix);
      return (s) => header(s.req, name);
    },
  ],
  [
    'cookie_',
    (name) => (s) => {
      const c = rawHeader(s.req, 'cookie');
      const v = c === undefined ? undefined : cookieValue(c, name);
      return v === undefined ? undefined : fromLatin1(v);
    },
  ],
  [
    'arg_',
    (name) => (s) => {
      const a = pathAndArgs(s).args;
      const v = a === undefined ? undefined : argValue(a, name);
      return v === undefined ? undefined : fromLatin1(v);
    },
  ],
];

/** The getter of an nginx variable (name case-insensitive), or undefined when Node has no meaning for it. */
export function nginxGetter(name: string): Getter | undefined {
  const key = name.toLowerCase();
  if (Object.hasOwn(FIXED, key)) return FIXED[key];
  if (Object.hasOwn(SENT_SPECIAL, key)) return SENT_SPECIAL[key];
  for (const [prefix, make] of PREFIXES) {
    if (key.length > prefix.length && key.startsWith(prefix)) return make(name.slice(prefix.length));
  }
  return undefined;
}
