/**
 * uWSGI logvars ↔ the canonical record. Field names are the logvar names as written inside
 * `%( )`: `addr`, `uri`, `var.HTTP_USER_AGENT`, …
 * @module
 */
import type { Fields, FieldValue, RenderValue } from '../types.ts';
import type { RequestRecord } from './record.ts';

const str = (v: FieldValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: FieldValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

/** `HTTP_X_FORWARDED_FOR` → `x-forwarded-for`; undefined for CGI variables that are not headers. */
function headerOfVar(name: string): string | undefined {
  return name.startsWith('HTTP_') ? name.slice(5).toLowerCase().replace(/_/g, '-') : undefined;
}

/** Builds the record from parsed uWSGI fields. */
export function uwsgiToRecord(f: Fields): RequestRecord {
  const r: RequestRecord = {};
  const set = <K extends keyof RequestRecord>(k: K, v: RequestRecord[K] | undefined) => {
    if (v !== undefined) r[k] = v;
  };
  set('clientAddr', str(f.addr) ?? str(f['var.REMOTE_ADDR']));
  set('host', str(f.host) ?? str(f['var.HTTP_HOST']));
  set('method', str(f.method) ?? str(f['var.REQUEST_METHOD']));
  set('uri', str(f.uri) ?? str(f['var.REQUEST_URI']));
  set('protocol', str(f.proto) ?? str(f['var.SERVER_PROTOCOL']));
  set('status', num(f.status));
  set('userAgent', str(f.uagent) ?? str(f['var.HTTP_USER_AGENT']));
  set('referer', str(f.referer) ?? str(f['var.HTTP_REFERER']));
  set('user', str(f.user));
  set('responseBytes', num(f.size));
  set('bodyBytes', num(f.rsize));
  const micros = num(f.micros);
  const msecs = num(f.msecs);
  const secs = num(f.secs);
  set('duration', micros !== undefined ? micros / 1e6 : msecs !== undefined ? msecs / 1000 : secs);
  const tmicros = num(f.tmicros);
  const tmsecs = num(f.tmsecs);
  set(
    'startTime',
    tmicros !== undefined
      ? tmicros / 1e6
      : tmsecs !== undefined
        ? tmsecs / 1000
        : (num(f.time) ?? num(f.ltime) ?? num(f.ctime) ?? num(f.ftime)),
  );
  set('time', num(f.epoch));
  for (const [k, v] of Object.entries(f)) {
    if (typeof v !== 'string' || !k.startsWith('var.')) continue;
    const h = headerOfVar(k.slice(4));
    if (h) {
      r.requestHeaders ??= {};
      r.requestHeaders[h] = v;
    }
  }
  return r;
}

/** The value of one uWSGI logvar for a record (undefined: not known, rendered as uWSGI renders unset). */
export function uwsgiFromRecord(r: RequestRecord, name: string): RenderValue {
  switch (name) {
    case 'addr':
      return r.clientAddr;
    case 'host':
      return r.host ?? r.requestHeaders?.host;
    case 'method':
      return r.method;
    case 'uri':
      return r.uri;
    case 'proto':
      return r.protocol;
    case 'status':
      return r.status;
    case 'uagent':
      return r.userAgent ?? r.requestHeaders?.['user-agent'];
    case 'referer':
      return r.referer ?? r.requestHeaders?.referer;
    case 'user':
      return r.user;
    case 'size':
      return r.responseBytes;
    case 'rsize':
      return r.bodyBytes;
    case 'hsize':
      return r.responseBytes !== undefined && r.bodyBytes !== undefined
        ? r.responseBytes - r.bodyBytes
        : undefined;
    case 'micros':
      return r.duration === undefined ? undefined : Math.round(r.duration * 1e6);
    case 'msecs':
      return r.duration === undefined ? undefined : Math.round(r.duration * 1000);
    case 'secs':
      return r.duration;
    case 'time':
    case 'ltime':
    case 'ctime':
    case 'ftime':
      return r.startTime ?? r.time;
    case 'tmsecs':
      return (r.startTime ?? r.time) === undefined
        ? undefined
        : Math.round((r.startTime ?? r.time ?? 0) * 1000);
    case 'tmicros':
      return (r.startTime ?? r.time) === undefined
        ? undefined
        : Math.round((r.startTime ?? r.time ?? 0) * 1e6);
    case 'epoch':
      return r.time ?? r.startTime;
  }
  if (name.startsWith('var.HTTP_')) return r.requestHeaders?.[headerOfVar(name.slice(4)) ?? ''];
  return undefined;
}
