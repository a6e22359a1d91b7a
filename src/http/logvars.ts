/**
 * uWSGI's user-defined logvars (`uwsgi.set_logvar`) for Node: values attached to one request
 * by any handler, read by every dialect (`%(name)` in uWSGI formats; in nginx and Envoy
 * formats a name no table knows falls back to them, like a `set $name` variable).
 * @see ../../../shared/reference/002_ffba9bc8812e0339.txt
 * @module
 */
import type { IncomingMessage } from 'node:http';

const vars = new WeakMap<IncomingMessage, Map<string, string>>();

/**
 * Sets a logvar on a request (the value is logged as given, escaped by the format's rules).
 * @example setLogvar(req, 'user_id', String(session.userId));
 */
export function setLogvar(req: IncomingMessage, name: string, value: string): void {
  let m = vars.get(req);
  if (!m) {
    m = new Map();
    vars.set(req, m);
  }
  m.set(name, value);
}

/** Reads a logvar set with {@link setLogvar}. */
export function getLogvar(req: IncomingMessage, name: string): string | undefined {
  return vars.get(req)?.get(name);
}
