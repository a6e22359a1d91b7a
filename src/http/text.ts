/**
 * Node hands the request line and header values over as latin1 strings (one char per byte).
 * logtally strings are UTF-8 with raw bytes as U+DC80–U+DCFF; these helpers convert, and read
 * headers from `rawHeaders` the way nginx's `$http_*` does.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { decodeBytes } from '../format/bytes.ts';

const NON_ASCII = /[^\x00-\x7f]/;

/** A latin1 string from Node (bytes) → a logtally string. */
export function fromLatin1(s: string): string {
  return NON_ASCII.test(s) ? decodeBytes(Buffer.from(s, 'latin1')) : s;
}

/**
 * A request header by lower-case name, from the raw headers: several fields are joined with
 * `, ` (`; ` for Cookie), as nginx ≥ 1.23 does; undefined when absent.
 */
export function rawHeader(req: IncomingMessage, lower: string): string | undefined {
  const raw = req.rawHeaders;
  let out: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== lower.length || name.toLowerCase() !== lower) continue;
    const v = raw[i + 1] as string;
    out = out === undefined ? v : `${out}${lower === 'cookie' ? '; ' : ', '}${v}`;
  }
  return out;
}

/** `rawHeader` converted to a logtally string. */
export function header(req: IncomingMessage, lower: string): string | undefined {
  const v = rawHeader(req, lower);
  return v === undefined ? undefined : fromLatin1(v);
}

/** nginx's variable suffix → header name: `user_agent` → `user-agent`. */
export function headerName(varSuffix: string): string {
  return varSuffix.toLowerCase().replace(/_/g, '-');
}
