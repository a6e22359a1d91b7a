/**
 * What one request looked like on the wire, measured on its socket: bytes sent (status line +
 * headers + body, chunk framing included, as nginx's `$bytes_sent`), bytes of the request,
 * timings, and whether the client went away first. Values the formats do not use are never
 * computed.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { fromLatin1, rawHeader } from './text.ts';
import { splitTarget } from './uri.ts';

/** Per-connection facts, kept across the requests of a keep-alive connection. */
interface Connection {
  readonly serial: number;
  readonly start: number;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  requests: number;
  /** Requests started and not yet logged. */
  inflight: number;
  /** Set when two requests overlapped (pipelining): socket byte counts are then shared. */
  overlapped: boolean;
  /** socket.bytesRead when the previous request was logged. */
  readMark: number;
  /** The previous request left body bytes unread: they will be read later and are not ours. */
  dirty: boolean;
}

const connections = new WeakMap<Socket, Connection>();
let serial = 0;

function connectionOf(socket: Socket): Connection {
  let c = connections.get(socket);
  if (!c) {
    c = {
      serial: ++serial,
      start: Date.now(),
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      requests: 0,
      inflight: 0,
      overlapped: false,
      readMark: 0,
      dirty: false,
    };
    connections.set(socket, c);
  }
  return c;
}

const NO_CONNECTION: Connection = {
  serial: 0,
  start: 0,
  remoteAddress: undefined,
  remotePort: undefined,
  localAddress: undefined,
  localPort: undefined,
  requests: 0,
  inflight: 0,
  overlapped: false,
  readMark: 0,
  dirty: false,
};

/** Node's serialised response head (status line + headers + CRLF), once it was written. */
function responseHead(res: ServerResponse): string | undefined {
  const h = (res as unknown as { _header?: string | null })._header;
  return typeof h === 'string' ? h : undefined;
}

/** The per-request record every variable is computed from. */
export class RequestState {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly socket: Socket | null;
  readonly conn: Connection;
  /** Epoch ms when the logger first saw the request. */
  readonly startTime: number;
  readonly #startPerf: number;
  /** The request's sequence number on its connection (1-based). */
  readonly connectionRequests: number;
  /** Epoch ms when the request was logged. */
  endTime = 0;
  /** Seconds from start to log, millisecond resolution. */
  requestTime = 0;
  /** True when the client went away before the response was complete. */
  aborted = false;
  /** Status as logged: 499 for a client that went away before any byte of the response was sent. */
  status = 0;
  /** Bytes of the response handed to the socket: status line, headers, body (with chunk framing). */
  bytesSent = 0;
  /** Bytes of the response head (status line + headers + final CRLF). */
  headerBytes = 0;
  /** Bytes of the request: request line, headers, body as read. */
  requestLength = 0;
  /** Bytes of the request line and headers. */
  requestHeaderBytes = 0;
  /** Decoded body bytes of a chunked request (counted as Node's parser pushes them). */
  chunkedBodyBytes = 0;
  /** True for `Transfer-Encoding: chunked` requests. */
  readonly chunked: boolean;
  #writtenBase = -1;
  #head: string | undefined;
  #sentHeaders: Map<string, string> | undefined;
  #target: { authority: string | undefined; path: string } | undefined;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.req = req;
    this.res = res;
    this.startTime = Date.now();
    this.#startPerf = performance.now();
    const socket = req.socket ?? null;
    this.socket = socket;
    const conn = socket ? connectionOf(socket) : NO_CONNECTION;
    this.conn = conn;
    conn.requests++;
    conn.inflight++;
    if (conn.inflight > 1) conn.overlapped = true;
    this.connectionRequests = conn.requests;
    const te = rawHeader(req, 'transfer-encoding');
    this.chunked = te !== undefined && /chunked/i.test(te);
    if (this.chunked) {
      // Count decoded body bytes where Node's parser hands them over, without consuming anything.
      const push = req.push;
      req.push = (chunk: unknown, encoding?: BufferEncoding) => {
        if (chunk instanceof Uint8Array) this.chunkedBodyBytes += chunk.length;
        return push.call(req, chunk, encoding);
      };
    }
    const s = res.socket;
    if (s && !res.headersSent) this.#writtenBase = s.bytesWritten ?? 0;
    else if (!s) {
      // Pipelined: the response waits for the previous one; count from when it gets the socket.
      res.once('socket', (sock: Socket) => {
        this.#writtenBase = sock.bytesWritten ?? 0;
      });
    }
  }

  /** Freezes the measurements; called once, when the response finished or the client left. */
  finish(aborted: boolean): void {
    this.endTime = Date.now();
    this.requestTime = Math.round(performance.now() - this.#startPerf) / 1000;
    this.aborted = aborted;
    const res = this.res;
    const head = responseHead(res);
    this.#head = head;
    this.headerBytes = head?.length ?? 0;
    const sock = res.socket ?? this.socket;
    const written = sock?.bytesWritten ?? 0;
    if (this.#writtenBase >= 0 && (res.socket || aborted)) {
      this.bytesSent = Math.max(0, written - this.#writtenBase);
    } else if (head !== undefined && !aborted) {
      // The logger ran after the handler had written (or never saw the socket): head + declared body.
      const cl = Number(res.getHeader('content-length') ?? 0);
      this.bytesSent = head.length + (Number.isFinite(cl) ? cl : 0);
    }
    this.status = aborted && this.bytesSent === 0 ? 499 : res.statusCode;
    this.#measureRequest();
  }

  /**
   * `$request_length`: request line, headers and the body bytes the application read — nginx
   * does not count a body it discarded (`return 200` on a POST), and neither does logtally when
   * the handler never read the body. Measured on the socket (exact: header whitespace, chunk
   * framing) unless requests overlapped on the connection (pipelining) or the previous request
   * left its body unread; then computed from the parsed head.
   */
  #measureRequest(): void {
    const req = this.req;
    const conn = this.conn;
    let headerBytes = (req.method?.length ?? 0) + 1 + (req.url?.length ?? 0) + 8 + req.httpVersion.length;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2)
      headerBytes += (raw[i] as string).length + (raw[i + 1] as string).length + 4;
    headerBytes += 2;
    this.requestHeaderBytes = headerBytes;
    const cl = Number(rawHeader(req, 'content-length') ?? 0) || 0;
    const hasBody = cl > 0 || this.chunked;
    const consumed = req.readableDidRead;
    let length = headerBytes + (consumed ? (this.chunked ? this.chunkedBodyBytes : cl) : 0);
    const socket = this.socket;
    if (socket && !conn.overlapped && !conn.dirty) {
      const delta = socket.bytesRead - conn.readMark;
      if (delta > 0) {
        if (!hasBody || consumed) length = delta;
        else if (!this.chunked && req.complete && delta - cl > 0) length = delta - cl;
      }
    }
    if (socket) conn.readMark = socket.bytesRead;
    conn.dirty = !req.complete;
    conn.inflight--;
    if (conn.inflight === 0) conn.overlapped = false;
    this.requestLength = length;
  }

  /** `$content_length`: the header, or for a chunked request the decoded body length (0 if unread, as nginx). */
  get contentLength(): string | undefined {
    const h = rawHeader(this.req, 'content-length');
    if (h !== undefined) return h;
    if (!this.chunked) return undefined;
    return String(this.req.readableDidRead ? this.chunkedBodyBytes : 0);
  }

  /** Response body bytes (chunk framing included). */
  get bodyBytesSent(): number {
    return Math.max(0, this.bytesSent - this.headerBytes);
  }

  /** The request line as received. */
  get requestLine(): string {
    return fromLatin1(`${this.req.method} ${this.req.url} HTTP/${this.req.httpVersion}`);
  }

  /** The target split into authority (absolute form) and path?args, latin1. */
  get target(): { authority: string | undefined; path: string } {
    this.#target ??= splitTarget(this.req.url ?? '');
    return this.#target;
  }

  /** A response header as sent (from the serialised head), by lower-case name. */
  sentHeader(lower: string): string | undefined {
    if (!this.#sentHeaders) {
      const m = new Map<string, string>();
      const head = this.#head;
      if (head !== undefined) {
        const lines = head.split('\r\n');
        for (let i = 1; i < lines.length; i++) {
          const l = lines[i] as string;
          const colon = l.indexOf(':');
          if (colon <= 0) continue;
          const k = l.slice(0, colon).toLowerCase();
          const v = l.slice(colon + 1).trim();
          const prev = m.get(k);
          m.set(k, prev === undefined ? v : `${prev}${k === 'set-cookie' ? '; ' : ', '}${v}`);
        }
      } else {
        for (const [k, v] of Object.entries(this.res.getHeaders())) {
          if (v !== undefined) m.set(k, Array.isArray(v) ? v.join(', ') : String(v));
        }
      }
      this.#sentHeaders = m;
    }
    const v = this.#sentHeaders.get(lower);
    return v === undefined ? undefined : fromLatin1(v);
  }

  /** Number of response header fields sent. */
  get responseHeaderCount(): number {
    const head = this.#head;
    if (head === undefined) return 0;
    return Math.max(0, head.split('\r\n').length - 3);
  }
}
