/**
 * `syslog:` log targets, parsed and checked as nginx's `ngx_syslog_process_conf` does.
 * @see https://nginx.org/en/docs/syslog.html
 * @module
 */

import type { SyslogTarget } from './model.ts';
import { atoi } from './units.ts';

/** Facility names in nginx's order (the index is the syslog facility number). */
export const SYSLOG_FACILITIES: readonly string[] = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'intern',
  'lpr',
  'news',
  'uucp',
  'clock',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'cron',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];

/** Severity names in nginx's order (the index is the syslog severity number). */
export const SYSLOG_SEVERITIES: readonly string[] = [
  'emerg',
  'alert',
  'crit',
  'error',
  'warn',
  'notice',
  'info',
  'debug',
];

const DEFAULT_PORT = 514;

/** `ngx_parse_url` for a syslog server: `host[:port]`, `[v6][:port]` or `unix:/path`. */
function parseServer(url: string): { host: string; port: number; unix: boolean } | string {
  if (url.startsWith('unix:')) {
    const path = url.slice(5);
    if (path === '') return 'no path in the unix domain socket';
    return { host: path, port: 0, unix: true };
  }
  let host: string;
  let rest: string;
  if (url.startsWith('[')) {
    const close = url.indexOf(']');
    if (close === -1) return 'invalid host';
    host = url.slice(1, close);
    rest = url.slice(close + 1);
    if (host === '' || !/^[0-9A-Fa-f:.]+$/.test(host) || !host.includes(':')) return 'invalid IPv6 address';
    if (rest !== '' && !rest.startsWith(':')) return 'invalid host';
  } else {
    const colon = url.indexOf(':');
    host = colon === -1 ? url : url.slice(0, colon);
    rest = colon === -1 ? '' : url.slice(colon);
    if (host === '') return 'no host';
  }
  if (host.includes('/') || rest.includes('/')) return 'invalid host';
  if (rest === '') return { host, port: DEFAULT_PORT, unix: false };
  const port = atoi(rest.slice(1));
  if (port === undefined || port < 1 || port > 65535) return 'invalid port';
  return { host, port, unix: false };
}

/**
 * Parses the first argument of a log directive that starts with `syslog:`.
 * @returns the target, or nginx's error message.
 * @example parseSyslogTarget('syslog:server=[::1]:5514,tag=web')
 */
export function parseSyslogTarget(raw: string): SyslogTarget | string {
  let server: { host: string; port: number; unix: boolean } | undefined;
  let serverText = '';
  let facility: string | undefined;
  let severity: string | undefined;
  let tag: string | undefined;
  let nohostname = false;

  for (const p of raw.slice('syslog:'.length).split(',')) {
    if (p.startsWith('server=')) {
      if (server) return 'duplicate syslog "server"';
      serverText = p.slice(7);
      const parsed = parseServer(serverText);
      if (typeof parsed === 'string') return `${parsed} in syslog server "${serverText}"`;
      server = parsed;
    } else if (p.startsWith('facility=')) {
      if (facility !== undefined) return 'duplicate syslog "facility"';
      facility = p.slice(9);
      if (!SYSLOG_FACILITIES.includes(facility)) return `unknown syslog facility "${facility}"`;
    } else if (p.startsWith('severity=')) {
      if (severity !== undefined) return 'duplicate syslog "severity"';
      severity = p.slice(9);
      if (!SYSLOG_SEVERITIES.includes(severity)) return `unknown syslog severity "${severity}"`;
    } else if (p.startsWith('tag=')) {
      if (tag !== undefined) return 'duplicate syslog "tag"';
      tag = p.slice(4);
      if (tag.length > 32) return 'syslog tag length exceeds 32';
      if (!/^[0-9A-Za-z_]*$/.test(tag)) {
        return 'syslog "tag" only allows alphanumeric characters and underscore';
      }
    } else if (p === 'nohostname') {
      nohostname = true;
    } else {
      return `unknown syslog parameter "${p}"`;
    }
  }
  if (!server) return 'no syslog server specified';
  return {
    server: serverText,
    host: server.host,
    port: server.port,
    unix: server.unix,
    facility: facility ?? 'local7',
    severity: severity ?? 'info',
    tag: tag ?? 'nginx',
    nohostname,
  };
}
