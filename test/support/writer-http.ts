/**
 * Test support for the access-log comparison: raw HTTP/1.x exchanges (one request, a
 * keep-alive sequence, a pipelined burst, a client that leaves early) and a server that
 * replays a captured nginx response byte for byte (with a fresh Date of the same length).
 * @module
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';

/** The parsed parts of a raw response. */
export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** Header fields in order, as [name, value]. */
  readonly headers: readonly [string, string][];
  readonly body: Buffer;
}

export function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(head[0] ?? '');
  if (!m) throw new Error(`not a response: ${JSON.stringify(raw.toString('latin1').slice(0, 80))}`);
  const headers = head.slice(1).map((l): [string, string] => {
    const c = l.indexOf(':');
    return [l.slice(0, c), l.slice(c + 1).trim()];
  });
  return { status: Number(m[1]), reason: m[2] ?? '', headers, body: raw.subarray(end + 4) };
}

/** Length of a complete response at the start of `buf` (Content-Length framing), or -1. */
function completeLength(buf: Buffer): number {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return -1;
  const m = /\r\ncontent-length: *(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
  const total = end + 4 + (m ? Number(m[1]) : 0);
  return buf.length >= total ? total : -1;
}

async function open(port: number): Promise<{ s: Socket; data: () => Buffer; more: () => Promise<void> }> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  let buf = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  let ended = false;
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  s.on('end', () => {
    ended = true;
    wake?.();
  });
  const more = () =>
    ended
      ? Promise.reject(new Error('connection ended'))
      : new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('no response within 10 s')), 10_000);
          wake = () => {
            clearTimeout(t);
            wake = undefined;
            resolve();
          };
        });
  return { s, data: () => buf, more };
}

/**
 * Sends the requests one after the other on one connection (each after the previous
 * response is complete) and returns every response.
 */
export async function exchange(port: number, requests: readonly Buffer[]): Promise<Buffer[]> {
  const c = await open(port);
  const out: Buffer[] = [];
  let from = 0;
  try {
    for (const r of requests) {
      c.s.write(r);
      for (;;) {
        const n = completeLength(c.data().subarray(from));
        if (n >= 0) {
          out.push(c.data().subarray(from, from + n));
          from += n;
          break;
        }
        await c.more();
      }
    }
  } finally {
    c.s.destroy();
  }
  return out;
}

/** Sends all requests in one write (pipelining) and returns the responses. */
export async function pipeline(port: number, requests: readonly Buffer[]): Promise<Buffer[]> {
  const c = await open(port);
  c.s.write(Buffer.concat(requests));
  const out: Buffer[] = [];
  let from = 0;
  try {
    while (out.length < requests.length) {
      const n = completeLength(c.data().subarray(from));
      if (n >= 0) {
        out.push(c.data().subarray(from, from + n));
        from += n;
        continue;
      }
      await c.more();
    }
  } finally {
    c.s.destroy();
  }
  return out;
}

/** Sends a request, waits for `arrived` (the server has it), then closes the connection. */
export async function leaveEarly(port: number, request: Buffer, arrived: Promise<unknown>): Promise<void> {
  const c = await open(port);
  c.s.write(request);
  await arrived;
  c.s.destroy();
}

/** The payload of a chunked body. */
function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) return Buffer.concat(out);
    out.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/**
 * Replays `r` on a Node response: same status line, same header fields in order, same body
 * (a chunked body is handed to Node decoded: Node frames it again, as nginx did).
 */
export function replay(res: ServerResponse, r: RawResponse): void {
  res.sendDate = false;
  const headers: string[] = [];
  let chunked = false;
  for (const [k, v] of r.headers) {
    headers.push(k, k.toLowerCase() === 'date' ? new Date().toUTCString() : v);
    if (k.toLowerCase() === 'transfer-encoding' && /chunked/i.test(v)) chunked = true;
  }
  res.writeHead(r.status, r.reason, headers);
  res.end(chunked ? dechunk(r.body) : r.body);
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;
