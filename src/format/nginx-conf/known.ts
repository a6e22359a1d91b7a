/**
 * Whether nginx knows a variable by name, per module. The http table is logtally's own
 * (../nginx/variables.ts); the stream module has a smaller, different set.
 * @module
 */
import { nginxVariable } from '../nginx/variables.ts';
import type { ConfModule } from './model.ts';

/** Variables of ngx_stream_core_module and the common stream modules. */
const STREAM = new Set([
  'binary_remote_addr',
  'bytes_received',
  'bytes_sent',
  'connection',
  'hostname',
  'msec',
  'nginx_version',
  'pid',
  'protocol',
  'proxy_protocol_addr',
  'proxy_protocol_port',
  'proxy_protocol_server_addr',
  'proxy_protocol_server_port',
  'realip_remote_addr',
  'realip_remote_port',
  'remote_addr',
  'remote_port',
  'server_addr',
  'server_port',
  'session_time',
  'status',
  'time_iso8601',
  'time_local',
  'upstream_addr',
  'upstream_bytes_received',
  'upstream_bytes_sent',
  'upstream_connect_time',
  'upstream_first_byte_time',
  'upstream_session_time',
  'ssl_cipher',
  'ssl_ciphers',
  'ssl_client_cert',
  'ssl_client_fingerprint',
  'ssl_client_i_dn',
  'ssl_client_raw_cert',
  'ssl_client_s_dn',
  'ssl_client_serial',
  'ssl_client_v_end',
  'ssl_client_v_remain',
  'ssl_client_v_start',
  'ssl_client_verify',
  'ssl_curve',
  'ssl_curves',
  'ssl_preread_alpn_protocols',
  'ssl_preread_protocol',
  'ssl_preread_server_name',
  'ssl_protocol',
  'ssl_server_name',
  'ssl_session_id',
  'ssl_session_reused',
]);

/** True when nginx's `module` defines the variable (name without `$`, any case). */
export function isKnownVariable(name: string, module: ConfModule): boolean {
  const key = name.toLowerCase();
  if (module === 'stream') return STREAM.has(key) || key.startsWith('proxy_protocol_tlv_');
  return nginxVariable(key).known;
}
