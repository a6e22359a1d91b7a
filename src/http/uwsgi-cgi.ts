/**
 * CGI/WSGI request variables for uWSGI's `%(var.NAME)`: `REQUEST_METHOD`, `REQUEST_URI`,
 * `PATH_INFO` (decoded), `QUERY_STRING`, `SERVER_PROTOCOL`, `REMOTE_ADDR`, `REMOTE_PORT`,
 * `REMOTE_USER`, `SERVER_NAME`, `SERVER_PORT`, `CONTENT_TYPE`, `CONTENT_LENGTH`, `HTTPS`,
 * `SCRIPT_NAME` (empty) and `HTTP_*` for request headers.
 * @module
 */
import type { RenderValue } from '../format/types.ts';
import type { Getter } from './getter.ts';
import type { RequestState } from './state.ts';
import { fromLatin1, header, rawHeader } from './text.ts';
import { basicUser, normalizeUri } from './uri.ts';

export type { Getter } from './getter.ts';

export const remoteAddr: Getter = (s) => s.conn.remoteAddress;

export function basicUserOf(s: RequestState): string | undefined {
  const u = basicUser(rawHeader(s.req, 'authorization'));
  return u === undefined ? undefined : fromLatin1(u);
}

/** One CGI variable, undefined when the request has none. */
export function uwsgiVar(s: RequestState, name: string): RenderValue {
  const path = s.target.path;
  const q = path.indexOf('?');
  switch (name) {
    case 'REQUEST_METHOD':
      return s.req.method;
    case 'REQUEST_URI':
      return fromLatin1(path);
    case 'PATH_INFO':
      return fromLatin1(normalizeUri(q === -1 ? path : path.slice(0, q)));
    case 'QUERY_STRING':
      return q === -1 ? '' : fromLatin1(path.slice(q + 1));
    case 'SERVER_PROTOCOL':
      return `HTTP/${s.req.httpVersion}`;
    case 'REMOTE_ADDR':
      return s.conn.remoteAddress;
    case 'REMOTE_PORT':
      return s.conn.remotePort === undefined ? undefined : String(s.conn.remotePort);
    case 'REMOTE_USER':
      return basicUserOf(s);
    case 'SERVER_NAME':
      return s.conn.localAddress;
    case 'SERVER_PORT':
      return s.conn.localPort === undefined ? undefined : String(s.conn.localPort);
    case 'CONTENT_TYPE':
      return header(s.req, 'content-type');
    case 'CONTENT_LENGTH':
      return header(s.req, 'content-length');
    case 'HTTPS':
      return (s.socket as { encrypted?: boolean } | null)?.encrypted ? 'on' : undefined;
    case 'SCRIPT_NAME':
      return '';
    default:
      if (name.startsWith('HTTP_')) return header(s.req, name.slice(5).toLowerCase().replace(/_/g, '-'));
      return undefined;
  }
}
