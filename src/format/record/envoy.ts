/**
 * Envoy command operators ↔ the canonical record. Field names are operators as written without
 * `%` and truncation: `START_TIME`, `REQ(:METHOD)`, `REQ(X-ENVOY-ORIGINAL-PATH?:PATH)`, …
 * @module
 */
import type { Fields, FieldValue, RenderValue } from '../types.ts';
import type { RequestRecord } from './record.ts';

const str = (v: FieldValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: FieldValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

/** `REQ(A?B)` → ['a', 'b'] (lower-case names), for REQ, RESP and TRAILER. */
function headerArgs(key: string, op: string): string[] | undefined {
  if (!key.startsWith(`${op}(`) || !key.endsWith(')')) return undefined;
  return key
    .slice(op.length + 1, -1)
    .split('?')
    .map((h) => h.toLowerCase());
}

const URI_HEADERS = ['x-envoy-original-path', ':path'];

/** Splits `1.2.3.4:5678` / `[::1]:5678` into address and port. */
function splitAddress(a: string): { addr: string; port?: number } {
  const m = /^\[(.*)\]:(\d+)$/.exec(a) ?? /^([^:]*):(\d+)$/.exec(a);
  return m ? { addr: m[1] as string, port: Number(m[2]) } : { addr: a };
}

/** What a `REQ(…)` field gives the record. */
export interface EnvoyRequestField {
  /** The record property its text sets (the last such field with a value wins). */
  readonly role: 'method' | 'uri' | 'host' | 'userAgent' | 'referer' | undefined;
  /** The request header (lower case) it also sets, for a field of a header that is not a pseudo-header or path. */
  readonly header: string | undefined;
}

/** What a field (an operator key) gives the record as a request header; undefined when it is no `REQ(…)`. */
export function envoyRequestField(key: string): EnvoyRequestField | undefined {
  const req = headerArgs(key, 'REQ');
  if (!req) return undefined;
  const h = req[0] as string;
  const role =
    h === ':method'
      ? 'method'
      : req.every((x) => URI_HEADERS.includes(x))
        ? 'uri'
        : h === ':authority' || h === 'host'
          ? 'host'
          : h === 'user-agent'
            ? 'userAgent'
            : h === 'referer'
              ? 'referer'
              : undefined;
  return { role, header: !h.startsWith(':') && !URI_HEADERS.includes(h) ? h : undefined };
}

/** Builds the record from parsed Envoy fields. */
export function envoyToRecord(f: Fields): RequestRecord {
  const r: RequestRecord = {};
  const start = num(f.START_TIME);
  if (start !== undefined) r.startTime = start;
  const status = num(f.RESPONSE_CODE);
  if (status !== undefined) r.status = status;
  const proto = str(f.PROTOCOL);
  if (proto !== undefined) r.protocol = proto;
  const rx = num(f.BYTES_RECEIVED);
  if (rx !== undefined) r.requestBytes = rx;
  const tx = num(f.BYTES_SENT);
  if (tx !== undefined) r.bodyBytes = tx;
  const dur = num(f.DURATION);
  if (dur !== undefined) r.duration = dur / 1000;
  const remote = str(f.DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT);
  const remoteFull = str(f.DOWNSTREAM_REMOTE_ADDRESS);
  if (remote !== undefined) r.clientAddr = remote;
  if (remoteFull !== undefined) {
    const { addr, port } = splitAddress(remoteFull);
    r.clientAddr ??= addr;
    if (port !== undefined) r.clientPort = port;
  }
  const dport = num(f.DOWNSTREAM_REMOTE_PORT);
  if (dport !== undefined) r.clientPort = dport;
  for (const [k, v] of Object.entries(f)) {
    if (typeof v !== 'string') continue;
    const req = envoyRequestField(k);
    if (req) {
      if (req.role !== undefined) r[req.role] = v;
      if (req.header !== undefined) {
        r.requestHeaders ??= {};
        r.requestHeaders[req.header] = v;
      }
      continue;
    }
    const resp = headerArgs(k, 'RESP');
    if (resp) {
      r.responseHeaders ??= {};
      r.responseHeaders[resp[0] as string] = v;
    }
  }
  // The default format has no downstream address, only X-Forwarded-For: its first entry is the client.
  const xff = r.requestHeaders?.['x-forwarded-for'];
  if (r.clientAddr === undefined && xff) {
    const first = xff.split(',')[0]?.trim();
    if (first) r.clientAddr = first;
  }
  const flags = str(f.RESPONSE_FLAGS);
  if (flags !== undefined && flags !== '-') r.responseFlags = flags;
  const upstream = str(f.UPSTREAM_HOST);
  if (upstream !== undefined) {
    const svc = Number(r.responseHeaders?.['x-envoy-upstream-service-time']);
    r.upstreams = [
      {
        group: 0,
        addr: upstream,
        status: null,
        connectTime: null,
        headerTime: null,
        responseTime: Number.isFinite(svc) ? svc / 1000 : null,
        responseLength: null,
        bytesSent: null,
        bytesReceived: null,
      },
    ];
  }
  return r;
}

/** The value of one Envoy operator (key as in fields) for a record. */
export function envoyFromRecord(r: RequestRecord, key: string): RenderValue {
  switch (key) {
    case 'START_TIME':
      return r.startTime ?? r.time;
    case 'RESPONSE_CODE':
      return r.status;
    case 'PROTOCOL':
      return r.protocol;
    case 'BYTES_RECEIVED':
      return r.requestBytes;
    case 'BYTES_SENT':
      return r.bodyBytes;
    case 'DURATION':
      return r.duration === undefined ? undefined : Math.round(r.duration * 1000);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
      return r.clientAddr;
    case 'DOWNSTREAM_REMOTE_ADDRESS':
      if (r.clientAddr === undefined) return undefined;
      if (r.clientPort === undefined) return r.clientAddr;
      return r.clientAddr.includes(':')
        ? `[${r.clientAddr}]:${r.clientPort}`
        : `${r.clientAddr}:${r.clientPort}`;
    case 'DOWNSTREAM_REMOTE_PORT':
      return r.clientPort;
    case 'UPSTREAM_HOST':
      return r.upstreams?.at(-1)?.addr ?? undefined;
    case 'RESPONSE_FLAGS':
      return r.responseFlags;
  }
  if (key.startsWith('START_TIME(')) return r.startTime ?? r.time;
  const req = headerArgs(key, 'REQ');
  if (req) {
    for (const h of req) {
      const v =
        h === ':method'
          ? r.method
          : URI_HEADERS.includes(h)
            ? r.uri
            : h === ':authority' || h === 'host'
              ? r.host
              : h === 'user-agent'
                ? (r.userAgent ?? r.requestHeaders?.[h])
                : h === 'referer'
                  ? (r.referer ?? r.requestHeaders?.[h])
                  : r.requestHeaders?.[h];
      if (v !== undefined) return v;
    }
    return undefined;
  }
  const resp = headerArgs(key, 'RESP');
  if (resp) {
    for (const h of resp) {
      const v = r.responseHeaders?.[h];
      if (v !== undefined) return v;
    }
  }
  return undefined;
}
