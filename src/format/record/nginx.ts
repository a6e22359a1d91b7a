/**
 * nginx variables ↔ the canonical record.
 * @module
 */
import { upstreamContacts } from '../nginx/upstream.ts';
import type { Fields, FieldValue, RenderValue } from '../types.ts';
import { type RequestRecord, splitRequestLine, type UpstreamContactRecord } from './record.ts';

const str = (v: FieldValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: FieldValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

/** Builds the record from parsed nginx fields. */
export function nginxToRecord(f: Fields): RequestRecord {
  const r: RequestRecord = {};
  const time = num(f.msec) ?? num(f.time_local) ?? num(f.time_iso8601);
  if (time !== undefined) r.time = time;
  const addr = str(f.remote_addr) ?? str(f.realip_remote_addr);
  if (addr !== undefined) r.clientAddr = addr;
  const port = Number(str(f.remote_port));
  if (str(f.remote_port) !== undefined && Number.isInteger(port)) r.clientPort = port;
  const host = str(f.host) ?? str(f.http_host) ?? str(f.server_name);
  if (host !== undefined) r.host = host;
  const req = str(f.request);
  const line = req === undefined ? undefined : splitRequestLine(req);
  const method = str(f.request_method) ?? line?.method;
  if (method !== undefined) r.method = method;
  const args = str(f.args) ?? str(f.query_string);
  const uri =
    str(f.request_uri) ??
    line?.uri ??
    (str(f.uri) !== undefined ? `${str(f.uri)}${args ? `?${args}` : ''}` : str(f.document_uri));
  if (uri !== undefined) r.uri = uri;
  const protocol = str(f.server_protocol) ?? line?.protocol;
  if (protocol !== undefined) r.protocol = protocol;
  const status = num(f.status);
  if (status !== undefined) r.status = status;
  const rl = num(f.request_length);
  if (rl !== undefined) r.requestBytes = rl;
  const bs = num(f.bytes_sent);
  if (bs !== undefined) r.responseBytes = bs;
  const bb = num(f.body_bytes_sent);
  if (bb !== undefined) r.bodyBytes = bb;
  const rt = num(f.request_time);
  if (rt !== undefined) r.duration = rt;
  const ref = str(f.http_referer);
  if (ref !== undefined) r.referer = ref;
  const ua = str(f.http_user_agent);
  if (ua !== undefined) r.userAgent = ua;
  const user = str(f.remote_user);
  if (user !== undefined) r.user = user;
  for (const [k, v] of Object.entries(f)) {
    if (typeof v !== 'string') continue;
    if (k.startsWith('http_')) {
      r.requestHeaders ??= {};
      r.requestHeaders[k.slice(5).replace(/_/g, '-')] = v;
    } else if (k.startsWith('sent_http_')) {
      r.responseHeaders ??= {};
      r.responseHeaders[k.slice(10).replace(/_/g, '-')] = v;
    }
  }
  const contacts = upstreamContacts(f);
  if (contacts.length > 0) r.upstreams = contacts;
  else {
    // The upstream log module's per-contact variables ($upstream_last_* / $upstream_log_*).
    const last = (k: string) => f[`upstream_last_${k}`] ?? f[`upstream_log_${k}`];
    const a = str(last('addr'));
    if (a !== undefined || num(last('status')) !== undefined) {
      const c: UpstreamContactRecord = {
        group: 0,
        addr: a ?? null,
        status: num(last('status')) ?? null,
        connectTime: num(last('connect_time')) ?? null,
        headerTime: num(last('header_time')) ?? null,
        responseTime: num(last('response_time')) ?? null,
        responseLength: num(last('response_length')) ?? null,
        bytesSent: num(last('bytes_sent')) ?? null,
        bytesReceived: num(last('bytes_received')) ?? null,
      };
      r.upstreams = [c];
    }
  }
  return r;
}

function list(
  r: RequestRecord,
  pick: (c: UpstreamContactRecord) => string | number | null,
): (string | number | null)[][] | undefined {
  const ups = r.upstreams;
  if (!ups || ups.length === 0) return undefined;
  const groups: (string | number | null)[][] = [];
  for (const c of ups) {
    let g = groups[c.group];
    if (!g) {
      g = [];
      groups[c.group] = g;
    }
    g.push(pick(c));
  }
  return groups.filter((g) => g !== undefined);
}

/** The value of one nginx variable for a record (undefined: not known, rendered as missing). */
export function nginxFromRecord(r: RequestRecord, name: string): RenderValue {
  const last = r.upstreams?.at(-1);
  switch (name) {
    case 'msec':
    case 'time_local':
    case 'time_iso8601':
      return r.time ?? r.startTime;
    case 'remote_addr':
    case 'realip_remote_addr':
      return r.clientAddr;
    case 'remote_port':
      return r.clientPort === undefined ? undefined : String(r.clientPort);
    case 'host':
    case 'http_host':
    case 'server_name':
      return r.host ?? (name === 'http_host' ? r.requestHeaders?.host : undefined);
    case 'request_method':
      return r.method;
    case 'request_uri':
      return r.uri;
    case 'uri':
    case 'document_uri':
      return r.uri === undefined ? undefined : r.uri.split('?')[0];
    case 'args':
    case 'query_string': {
      const q = r.uri?.indexOf('?') ?? -1;
      return q === -1 ? undefined : r.uri?.slice(q + 1);
    }
    case 'server_protocol':
      return r.protocol;
    case 'request':
      if (r.method === undefined || r.uri === undefined) return undefined;
      return r.protocol ? `${r.method} ${r.uri} ${r.protocol}` : `${r.method} ${r.uri}`;
    case 'status':
      return r.status;
    case 'request_length':
      return r.requestBytes;
    case 'bytes_sent':
      return r.responseBytes;
    case 'body_bytes_sent':
      return r.bodyBytes;
    case 'request_time':
      return r.duration;
    case 'http_referer':
      return r.referer ?? r.requestHeaders?.referer;
    case 'http_user_agent':
      return r.userAgent ?? r.requestHeaders?.['user-agent'];
    case 'remote_user':
      return r.user;
    case 'upstream_addr':
      return list(r, (c) => c.addr);
    case 'upstream_status':
      return list(r, (c) => c.status);
    case 'upstream_connect_time':
      return list(r, (c) => c.connectTime);
    case 'upstream_header_time':
      return list(r, (c) => c.headerTime);
    case 'upstream_response_time':
      return list(r, (c) => c.responseTime);
    case 'upstream_response_length':
      return list(r, (c) => c.responseLength);
    case 'upstream_bytes_sent':
      return list(r, (c) => c.bytesSent);
    case 'upstream_bytes_received':
      return list(r, (c) => c.bytesReceived);
  }
  if (name.startsWith('upstream_last_') || name.startsWith('upstream_log_')) {
    const k = name.slice(name.indexOf('_', 9) + 1);
    const map: Record<string, keyof UpstreamContactRecord> = {
      addr: 'addr',
      status: 'status',
      connect_time: 'connectTime',
      header_time: 'headerTime',
      response_time: 'responseTime',
      response_length: 'responseLength',
      bytes_sent: 'bytesSent',
      bytes_received: 'bytesReceived',
    };
    const key = map[k];
    return key && last ? last[key] : undefined;
  }
  if (name.startsWith('http_')) return r.requestHeaders?.[name.slice(5).replace(/_/g, '-')];
  if (name.startsWith('sent_http_')) return r.responseHeaders?.[name.slice(10).replace(/_/g, '-')];
  return undefined;
}
