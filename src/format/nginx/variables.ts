/**
 * The nginx variables logtally knows by name, with the type of their value. The type drives
 * both rendering (how a number or date is written) and parsing (what a field may contain and
 * what it becomes). Unknown variables are plain strings.
 * @see https://nginx.org/en/docs/varindex.html
 * @see ../../../../shared/reference/001_797f3e666ab38e16.txt (the `$upstream_*` variables)
 * @module
 */

/**
 * - `string`: text, escaped per the format's escape mode.
 * - `int`: a non-negative integer (bytes, counts, ports).
 * - `status`: an HTTP status, written with 3 digits (`000` when none was sent).
 * - `seconds`: seconds with millisecond resolution, written with exactly 3 decimals.
 * - `time_local`: `22/Nov/2026:18:55:06 +0000`; typed as epoch seconds.
 * - `time_iso8601`: `2026-11-22T18:55:06+00:00`; typed as epoch seconds.
 * - `list_string`, `list_int`, `list_seconds`: one value per upstream contact, `, ` between
 *   servers of a group and ` : ` between groups; typed as an array of groups.
 */
export type VariableType =
  | 'string'
  | 'int'
  | 'status'
  | 'seconds'
  | 'time_local'
  | 'time_iso8601'
  | 'list_string'
  | 'list_int'
  | 'list_seconds';

export interface VariableInfo {
  readonly name: string;
  readonly type: VariableType;
  /** True when the name is in logtally's table (or matches a known prefix such as `http_`). */
  readonly known: boolean;
}

const T: Record<string, VariableType> = {
  // ngx_http_core_module
  arg_: 'string',
  args: 'string',
  binary_remote_addr: 'string',
  body_bytes_sent: 'int',
  bytes_sent: 'int',
  connection: 'int',
  connection_requests: 'int',
  connection_time: 'seconds',
  content_length: 'string',
  content_type: 'string',
  cookie_: 'string',
  document_root: 'string',
  document_uri: 'string',
  host: 'string',
  hostname: 'string',
  http_: 'string',
  https: 'string',
  is_args: 'string',
  limit_rate: 'string',
  msec: 'seconds',
  nginx_version: 'string',
  pid: 'int',
  pipe: 'string',
  proxy_protocol_addr: 'string',
  proxy_protocol_port: 'string',
  proxy_protocol_server_addr: 'string',
  proxy_protocol_server_port: 'string',
  query_string: 'string',
  realpath_root: 'string',
  remote_addr: 'string',
  remote_port: 'string',
  remote_user: 'string',
  request: 'string',
  request_body: 'string',
  request_body_file: 'string',
  request_completion: 'string',
  request_filename: 'string',
  request_id: 'string',
  request_length: 'int',
  request_method: 'string',
  request_time: 'seconds',
  request_uri: 'string',
  scheme: 'string',
  sent_http_: 'string',
  sent_trailer_: 'string',
  server_addr: 'string',
  server_name: 'string',
  server_port: 'string',
  server_protocol: 'string',
  status: 'status',
  tcpinfo_rtt: 'int',
  tcpinfo_rttvar: 'int',
  tcpinfo_snd_cwnd: 'int',
  tcpinfo_rcv_space: 'int',
  time_iso8601: 'time_iso8601',
  time_local: 'time_local',
  uri: 'string',
  // other common modules
  gzip_ratio: 'string',
  realip_remote_addr: 'string',
  realip_remote_port: 'string',
  ssl_cipher: 'string',
  ssl_client_verify: 'string',
  ssl_protocol: 'string',
  ssl_server_name: 'string',
  ssl_session_id: 'string',
  ssl_session_reused: 'string',
  proxy_host: 'string',
  proxy_port: 'string',
  proxy_add_x_forwarded_for: 'string',
  // ngx_http_upstream_module
  upstream_addr: 'list_string',
  upstream_bytes_received: 'list_int',
  upstream_bytes_sent: 'list_int',
  upstream_cache_status: 'string',
  upstream_connect_time: 'list_seconds',
  upstream_cookie_: 'string',
  upstream_header_time: 'list_seconds',
  upstream_http_: 'string',
  upstream_queue_time: 'list_seconds',
  upstream_response_length: 'list_int',
  upstream_response_time: 'list_seconds',
  upstream_status: 'list_int',
  upstream_trailer_: 'string',
  // ngx_http_upstream_log_module (reference 001)
  upstream_method: 'string',
  upstream_scheme: 'string',
  upstream_uri: 'string',
  upstream_last_addr: 'string',
  upstream_last_status: 'status',
  upstream_start_ts: 'list_seconds',
  upstream_last_start_ts: 'seconds',
  upstream_ssl_start_ts: 'list_seconds',
  upstream_last_ssl_start_ts: 'seconds',
  upstream_send_start_ts: 'list_seconds',
  upstream_last_send_start_ts: 'seconds',
  upstream_send_end_ts: 'list_seconds',
  upstream_last_send_end_ts: 'seconds',
  upstream_header_ts: 'list_seconds',
  upstream_last_header_ts: 'seconds',
  upstream_end_ts: 'list_seconds',
  upstream_last_end_ts: 'seconds',
  upstream_last_connect_time: 'seconds',
  upstream_transport_connect_time: 'list_seconds',
  upstream_last_transport_connect_time: 'seconds',
  upstream_ssl_time: 'list_seconds',
  upstream_last_ssl_time: 'seconds',
  upstream_send_time: 'list_seconds',
  upstream_last_send_time: 'seconds',
  upstream_read_time: 'list_seconds',
  upstream_last_read_time: 'seconds',
  upstream_last_header_time: 'seconds',
  upstream_last_response_time: 'seconds',
  upstream_last_response_length: 'int',
  upstream_last_bytes_received: 'int',
  upstream_last_bytes_sent: 'int',
  // the module's newer release: `*_ts` renamed `*_msec`, and request-wide totals
  upstream_start_msec: 'list_seconds',
  upstream_last_start_msec: 'seconds',
  upstream_ssl_start_msec: 'list_seconds',
  upstream_last_ssl_start_msec: 'seconds',
  upstream_send_start_msec: 'list_seconds',
  upstream_last_send_start_msec: 'seconds',
  upstream_send_end_msec: 'list_seconds',
  upstream_last_send_end_msec: 'seconds',
  upstream_header_msec: 'list_seconds',
  upstream_last_header_msec: 'seconds',
  upstream_end_msec: 'list_seconds',
  upstream_last_end_msec: 'seconds',
  upstream_tries: 'int',
  upstream_total_response_length: 'int',
  upstream_total_bytes_received: 'int',
  upstream_total_bytes_sent: 'int',
  // the same module's predefined `combined` upstream format uses `$upstream_log_*`
  upstream_log_addr: 'string',
  upstream_log_status: 'status',
  upstream_log_response_length: 'int',
  upstream_log_bytes_sent: 'int',
  upstream_log_bytes_received: 'int',
  upstream_log_connect_time: 'seconds',
  upstream_log_header_time: 'seconds',
  upstream_log_response_time: 'seconds',
};

/** Prefix variables (`$http_user_agent`, `$arg_q`, …), longest first so `upstream_http_` wins over `http_`. */
const PREFIXES = Object.keys(T)
  .filter((k) => k.endsWith('_'))
  .sort((a, b) => b.length - a.length);

const cache = new Map<string, VariableInfo>();

/** Looks a variable up by name (case-insensitive, as nginx does). Never fails: unknown names are strings. */
export function nginxVariable(name: string): VariableInfo {
  const key = name.toLowerCase();
  let info = cache.get(key);
  if (info) return info;
  let type = Object.hasOwn(T, key) && !key.endsWith('_') ? T[key] : undefined;
  if (type === undefined) {
    for (const p of PREFIXES) {
      if (key.length > p.length && key.startsWith(p)) {
        type = T[p];
        break;
      }
    }
  }
  info = { name: key, type: type ?? 'string', known: type !== undefined };
  cache.set(key, info);
  return info;
}

/** Every variable name in the table; prefix variables end with `_`. */
export function knownNginxVariables(): string[] {
  return Object.keys(T);
}
