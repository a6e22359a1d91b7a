/**
 * `host:port` addresses as the flags take them: `:9090` (all interfaces), `127.0.0.1:9090`,
 * `[::1]:9090`, `localhost:9090`.
 * @module
 */
import { LogtallyError } from '../format/errors.ts';

export interface HostPort {
  /** Empty for "all interfaces". */
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port`; `flag` names the option in errors. */
export function parseHostPort(s: string, flag: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new LogtallyError(
      'ERR_FORMAT_OPTION',
      `${flag}: expected host:port (like :9090 or 127.0.0.1:9090), got "${s}"`,
    );
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

/**
 * A comma-separated list of `host:port` (as `--target`, `--collectors`, `--allow-target` take
 * it): trimmed, empty items skipped, duplicates dropped, each checked; `flag` names the option.
 */
export function parseHostPortList(list: string | undefined, flag: string): string[] {
  const out: string[] = [];
  for (const raw of (list ?? '').split(',')) {
    const t = raw.trim();
    if (t === '') continue;
    parseHostPort(t, flag);
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** The text form of an address, bracketing IPv6 hosts. */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
