/**
 * nginx's request-target rules: `$request_uri`, `$uri` (decoded, slashes merged, dot segments
 * resolved), `$args`, `$arg_NAME`, `$host`, `$cookie_NAME` and the basic-auth `$remote_user`.
 * Inputs and outputs are latin1 byte strings unless said otherwise.
 * @see https://nginx.org/en/docs/http/ngx_http_core_module.html#variables
 * @module
 */

/** Splits an absolute-form target (`http://Host:80/p?q`) into its authority and origin-form rest. */
export function splitTarget(url: string): { authority: string | undefined; path: string } {
  if (url.charCodeAt(0) === 0x2f /* / */ || url === '*') return { authority: undefined, path: url };
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(.*)$/.exec(url);
  if (!m) return { authority: undefined, path: url };
  const rest = m[2] as string;
  return { authority: m[1], path: rest === '' ? '/' : rest };
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * `$uri` from the path of the target (without `?args`): `%XX` decoded, `//` merged, `.` and
 * `..` segments resolved (never above the root). Returns a latin1 byte string.
 */
export function normalizeUri(path: string): string {
  let decoded = '';
  if (path.indexOf('%') === -1) {
    decoded = path;
  } else {
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c === 0x25 && i + 2 < path.length) {
        const h = hex(path.charCodeAt(i + 1));
        const l = hex(path.charCodeAt(i + 2));
        if (h >= 0 && l >= 0) {
          decoded += String.fromCharCode((h << 4) | l);
          i += 2;
          continue;
        }
      }
      decoded += path[i];
    }
  }
  if (!/\/\/|\/\.\.?(\/|$)/.test(decoded)) return decoded;
  const out: string[] = [];
  const parts = decoded.split('/');
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i] as string;
    const last = i === parts.length - 1;
    if (p === '' && !last) continue; // merge_slashes
    if (p === '.') {
      if (last) out.push('');
      continue;
    }
    if (p === '..') {
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(p);
  }
  return `/${out.join('/')}`;
}

/** nginx `ngx_http_arg`: the raw value of the first `name=` in the args, name case-insensitive. */
export function argValue(args: string, name: string): string | undefined {
  const lower = name.toLowerCase();
  let from = 0;
  while (from <= args.length) {
    let end = args.indexOf('&', from);
    if (end === -1) end = args.length;
    const eq = args.indexOf('=', from);
    if (eq !== -1 && eq < end && eq - from === lower.length && args.slice(from, eq).toLowerCase() === lower) {
      return args.slice(eq + 1, end);
    }
    from = end + 1;
  }
  return undefined;
}

/** A cookie's raw value from the Cookie header(s). */
export function cookieValue(cookie: string, name: string): string | undefined {
  for (const part of cookie.split(';')) {
    const p = part.trimStart();
    const eq = p.indexOf('=');
    if (eq === name.length && p.slice(0, eq).toLowerCase() === name.toLowerCase()) return p.slice(eq + 1);
  }
  return undefined;
}

/** nginx's host normalisation: lower-case, port removed, one trailing dot removed. */
export function normalizeHost(h: string): string {
  let host = h;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    host = close === -1 ? host : host.slice(0, close + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host.toLowerCase();
}

/** The user of `Authorization: Basic …` (nginx `ngx_http_auth_basic_user`), undefined otherwise. */
export function basicUser(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const m = /^basic +(\S+)\s*$/i.exec(authorization);
  if (!m) return undefined;
  const b64 = m[1] as string;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return undefined;
  const decoded = Buffer.from(b64, 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(0, colon);
}
