/**
 * From parsed fields to the store's key parts, per dialect, without building the whole
 * canonical record on the hot path for nginx (direct field reads); other dialects go through
 * the canonical record mapping.
 * @module
 */
import { toRecord } from '../format/record/index.ts';
import { splitRequestLine } from '../format/record/record.ts';
import type { CompiledFormat, Fields, FieldValue } from '../format/types.ts';

export interface KeyParts {
  website: string;
  addr: string;
  uri: string;
  status: number;
  upstream: string;
  method: string;
  bytes: number;
  time: number;
  /** The line's own time, epoch seconds; NaN when the format carries none. */
  at: number;
}

export type Extractor = (fields: Fields, out: KeyParts) => boolean;

const str = (v: FieldValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: FieldValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

function lastOfList(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return undefined;
  const group = v.at(-1);
  if (!Array.isArray(group)) return undefined;
  const last = group.at(-1);
  return typeof last === 'string' ? last : undefined;
}

/**
 * Builds the extractor for a format. `website` is the fallback website when the format has no
 * host variable (for example the server_name of the nginx server block that writes the log).
 * Returns false when the line lacks a status or a client address (malformed for counting).
 */
export function makeExtractor(format: CompiledFormat, website = ''): Extractor {
  if (format.dialect === 'nginx') {
    return (f, o) => {
      const status = num(f.status) ?? num(f.upstream_last_status) ?? num(f.upstream_log_status);
      const addr = str(f.remote_addr) ?? str(f.realip_remote_addr);
      if (status === undefined || addr === undefined) return false;
      let uri = str(f.request_uri);
      let method = str(f.request_method);
      if (uri === undefined || method === undefined) {
        const req = str(f.request);
        const line = req === undefined ? undefined : splitRequestLine(req);
        uri ??= line?.uri ?? str(f.uri) ?? str(f.upstream_uri) ?? '';
        method ??= line?.method ?? str(f.upstream_method) ?? '';
      }
      o.website = str(f.host) ?? str(f.http_host) ?? str(f.server_name) ?? website;
      o.addr = addr;
      o.uri = uri;
      o.status = status;
      o.method = method;
      o.upstream = lastOfList(f.upstream_addr) ?? str(f.upstream_last_addr) ?? str(f.upstream_log_addr) ?? '';
      o.bytes = num(f.body_bytes_sent) ?? num(f.bytes_sent) ?? 0;
      o.time =
        num(f.request_time) ?? num(f.upstream_last_response_time) ?? num(f.upstream_log_response_time) ?? 0;
      o.at = num(f.msec) ?? num(f.time_local) ?? num(f.time_iso8601) ?? Number.NaN;
      return true;
    };
  }
  const dialect = format.dialect;
  return (f, o) => {
    const r = toRecord(dialect, f);
    if (r.status === undefined || r.clientAddr === undefined) return false;
    o.website = r.host ?? website;
    o.addr = r.clientAddr;
    o.uri = r.uri ?? '';
    o.status = r.status;
    o.method = r.method ?? '';
    o.upstream = r.upstreams?.at(-1)?.addr ?? '';
    o.bytes = r.bodyBytes ?? r.responseBytes ?? 0;
    o.time = r.duration ?? 0;
    o.at = r.time ?? r.startTime ?? Number.NaN;
    return true;
  };
}
