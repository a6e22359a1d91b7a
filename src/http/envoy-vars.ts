/**
 * Envoy command operators that have a meaning for a Node server, computed from the request and
 * response. Names are accepted with or without `%`, with arguments (`REQ(X-FOO?X-BAR)`) and a
 * `:Z` truncation suffix (truncation itself is the dialect's job). Durations are whole
 * milliseconds; `RESPONSE_CODE` is 0 and `RESPONSE_FLAGS` `DC` when the client went away
 * before any byte of the response; `START_TIME` is a Date for the dialect to format.
 * Operators about upstreams, routes or metadata have no meaning here and are not set.
 * @see ../../../shared/reference/003_99840bf44b1c28b9.txt
 * @module
 */
import { hostname } from 'node:os';
import type { Getter } from './getter.ts';
import { nginxHost } from './nginx-vars.ts';
import type { RequestState } from './state.ts';
import { fromLatin1, header } from './text.ts';

const HOSTNAME = hostname();

function withPort(addr: string | undefined, port: number | undefined): string | undefined {
  if (addr === undefined) return undefined;
  const a = addr.includes(':') ? `[${addr}]` : addr;
  return port === undefined ? a : `${a}:${port}`;
}

type TlsSocket = {
  encrypted?: boolean;
  servername?: string | false;
  getProtocol?(): string | null;
  getCipher?(): { name: string };
};
const tls = (s: RequestState) => s.socket as TlsSocket | null;

function pseudo(s: RequestState, name: string): string | undefined {
  switch (name) {
    case ':method':
      return s.req.method;
    case ':path':
      return fromLatin1(s.target.path);
    case ':authority':
      return (
        header(s.req, 'host') ??
        (s.target.authority === undefined ? undefined : fromLatin1(s.target.authority))
      );
    case ':scheme':
      return tls(s)?.encrypted ? 'https' : 'http';
    case ':protocol':
      return undefined;
    default:
      return undefined;
  }
}

function reqHeader(s: RequestState, name: string): string | undefined {
  const n = name.toLowerCase();
  return n.startsWith(':') ? pseudo(s, n) : header(s.req, n);
}

function respHeader(s: RequestState, name: string): string | undefined {
  const n = name.toLowerCase();
  if (n === ':status') return s.status === 0 ? undefined : String(s.status);
  return s.sentHeader(n);
}

const responded = (s: RequestState) => !(s.aborted && s.bytesSent === 0);

const FIXED: Record<string, Getter> = {
  START_TIME: (s) => new Date(s.startTime),
  PROTOCOL: (s) => `HTTP/${s.req.httpVersion}`,
  RESPONSE_CODE: (s) => (responded(s) ? s.res.statusCode : 0),
  RESPONSE_FLAGS: (s) => (s.aborted ? 'DC' : undefined),
  RESPONSE_CODE_DETAILS: (s) => (s.aborted ? 'downstream_remote_disconnect' : undefined),
  BYTES_RECEIVED: (s) => Math.max(0, s.requestLength - s.requestHeaderBytes),
  BYTES_SENT: (s) => s.bodyBytesSent,
  REQUEST_HEADERS_BYTES: (s) => s.requestHeaderBytes,
  RESPONSE_HEADERS_BYTES: (s) => s.headerBytes,
  DURATION: (s) => Math.round(s.requestTime * 1000),
  DOWNSTREAM_REMOTE_ADDRESS: (s) => withPort(s.conn.remoteAddress, s.conn.remotePort),
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (s) => s.conn.remoteAddress,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: (s) => withPort(s.conn.remoteAddress, s.conn.remotePort),
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: (s) => s.conn.remoteAddress,
  DOWNSTREAM_REMOTE_PORT: (s) => s.conn.remotePort,
  DOWNSTREAM_LOCAL_ADDRESS: (s) => withPort(s.conn.localAddress, s.conn.localPort),
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (s) => s.conn.localAddress,
  DOWNSTREAM_LOCAL_PORT: (s) => s.conn.localPort,
  REQUESTED_SERVER_NAME: (s) => tls(s)?.servername || undefined,
  DOWNSTREAM_TLS_VERSION: (s) => tls(s)?.getProtocol?.() ?? undefined,
  DOWNSTREAM_TLS_CIPHER: (s) => tls(s)?.getCipher?.()?.name,
  HOSTNAME: () => HOSTNAME,
  CONNECTION_ID: (s) => s.conn.serial,
  HOST: (s, ctx) => nginxHost(s, ctx),
};

/** Parses `%REQ(X?Y):10%`, `REQ(X?Y)` or `DURATION` into the operator and its arguments. */
function parseOperator(name: string): { op: string; args: string[] } {
  let n = name;
  if (n.startsWith('%') && n.endsWith('%') && n.length > 1) n = n.slice(1, -1);
  const open = n.indexOf('(');
  if (open === -1) {
    const colon = n.indexOf(':');
    return { op: colon === -1 ? n : n.slice(0, colon), args: [] };
  }
  const close = n.lastIndexOf(')');
  const inner = n.slice(open + 1, close === -1 ? undefined : close);
  return { op: n.slice(0, open), args: inner.split('?') };
}

/** The getter of an Envoy command operator, or undefined when it has no meaning here. */
export function envoyGetter(name: string): Getter | undefined {
  const { op, args } = parseOperator(name);
  if (op === 'REQ' || op === 'RESP') {
    const [a, b] = args;
    if (a === undefined) return undefined;
    const get = op === 'REQ' ? reqHeader : respHeader;
    return (s) => get(s, a) ?? (b === undefined ? undefined : get(s, b));
  }
  return Object.hasOwn(FIXED, op) ? FIXED[op] : undefined;
}
