/**
 * A UDP syslog receiver for nginx's `access_log syslog:server=ADDR`. Every datagram is split into
 * lines and parsed by {@link parseSyslogDatagram}; lines that share a header are delivered as one
 * batch with where they came from.
 *
 * Addresses: `:PORT` listens on every address, IPv6 and IPv4 (one dual-stack socket, or IPv4 only
 * where IPv6 is unavailable); `HOST:PORT` with an IPv4 address or a host name; `[V6]:PORT` for an
 * IPv6 address. PORT 0 picks a free port (see the address `start()` resolves to).
 * @module
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import type { LineBatch } from './line-batch.ts';
import { parseSyslogDatagram } from './syslog-frame.ts';

/** Where a batch of lines came from. */
export interface SyslogSource {
  /** Sender address (IPv4-mapped IPv6 addresses are given as IPv4). */
  address: string;
  port: number;
  /** HOSTNAME of the header, when there is one. */
  hostname?: string;
  /** TAG (RFC 3164) or APP-NAME (RFC 5424), when there is one. */
  tag?: string;
}

/** Events of a {@link SyslogListener}. */
export type SyslogEvent =
  | { type: 'malformed'; from: { address: string; port: number }; reason: string; count: number }
  | { type: 'error'; code: string; message: string };

/** Options of {@link createSyslogListener}. */
export interface SyslogListenerOptions {
  /** `:PORT`, `HOST:PORT` or `[V6]:PORT`. */
  address: string;
  /** Receives the lines of one datagram that share a header, as a batch (valid only during the call). */
  onLines(batch: LineBatch, from: SyslogSource): void;
  onEvent?(event: SyslogEvent): void;
  /** Kernel receive buffer wanted, in bytes (capped by net.core.rmem_max). Default 4 MiB. */
  recvBufferBytes?: number;
}

/** Counters of a {@link SyslogListener}. */
export interface SyslogStats {
  datagrams: number;
  bytes: number;
  lines: number;
  /** Frames (lines) that could not be parsed, plus datagrams without any line. */
  malformed: number;
}

/** A UDP syslog listener. */
export interface SyslogListener {
  /** Binds; resolves to the bound address (useful with port 0). */
  start(): Promise<{ address: string; port: number; family: string }>;
  stop(): Promise<void>;
  stats(): SyslogStats;
}

/**
 * Splits `:PORT`, `HOST:PORT`, `[V6]:PORT` (or a bare `PORT`).
 * @example parseListenAddress('[::1]:514') // { host: '::1', port: 514 }
 */
export function parseListenAddress(addr: string): { host: string | null; port: number } {
  let host: string;
  let port: string;
  if (/^\d+$/.test(addr)) {
    host = '';
    port = addr;
  } else if (addr.startsWith('[')) {
    const close = addr.indexOf(']');
    if (close === -1 || addr[close + 1] !== ':') throw new TypeError(`invalid listen address "${addr}"`);
    host = addr.slice(1, close);
    port = addr.slice(close + 2);
    if (!isIPv6(host)) throw new TypeError(`invalid IPv6 address in "${addr}"`);
  } else {
    const colon = addr.lastIndexOf(':');
    if (colon === -1 || addr.indexOf(':') !== colon) {
      throw new TypeError(`invalid listen address "${addr}" (want :PORT, HOST:PORT or [V6]:PORT)`);
    }
    host = addr.slice(0, colon);
    port = addr.slice(colon + 1);
  }
  const p = Number(port);
  if (!/^\d+$/.test(port) || p > 65535) throw new TypeError(`invalid port in listen address "${addr}"`);
  return { host: host === '' ? null : host, port: p };
}

function unmap(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function bind(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

class SyslogListenerImpl implements SyslogListener {
  readonly #opts: SyslogListenerOptions;
  readonly #stats: SyslogStats = { datagrams: 0, bytes: 0, lines: 0, malformed: 0 };
  #socket: Socket | null = null;

  constructor(opts: SyslogListenerOptions) {
    this.#opts = opts;
    parseListenAddress(opts.address); // fail fast on a bad address
  }

  async start(): Promise<{ address: string; port: number; family: string }> {
    if (this.#socket) throw new Error('syslog listener already started');
    const { host, port } = parseListenAddress(this.#opts.address);
    let socket: Socket;
    if (host === null) {
      socket = createSocket({ type: 'udp6', ipv6Only: false });
      try {
        await bind(socket, port, '::');
      } catch (err) {
        socket.close();
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL' && code !== 'EPROTONOSUPPORT') throw err;
        socket = createSocket('udp4');
        await bind(socket, port, '0.0.0.0').catch((e: unknown) => {
          socket.close();
          throw e;
        });
      }
    } else {
      const { address, family } = await lookup(host);
      socket = createSocket(family === 6 ? 'udp6' : 'udp4');
      await bind(socket, port, address).catch((e: unknown) => {
        socket.close();
        throw e;
      });
    }
    try {
      socket.setRecvBufferSize(this.#opts.recvBufferBytes ?? 4 * 1024 * 1024);
    } catch {
      // Best effort: the kernel keeps its default.
    }
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo.address, rinfo.port));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      this.#emit({ type: 'error', code: err.code ?? 'EUNKNOWN', message: err.message }),
    );
    this.#socket = socket;
    const a = socket.address();
    return { address: a.address, port: a.port, family: a.family };
  }

  stop(): Promise<void> {
    const s = this.#socket;
    this.#socket = null;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => s.close(() => resolve()));
  }

  stats(): SyslogStats {
    return { ...this.#stats };
  }

  #onMessage(msg: Buffer, address: string, port: number): void {
    const st = this.#stats;
    st.datagrams++;
    st.bytes += msg.length;
    const d = parseSyslogDatagram(msg);
    st.lines += d.lines;
    const from = unmap(address);
    if (d.malformed > 0) {
      st.malformed += d.malformed;
      this.#emit({
        type: 'malformed',
        from: { address: from, port },
        reason: d.reason ?? 'malformed',
        count: d.malformed,
      });
    }
    for (const b of d.batches) {
      const src: SyslogSource = { address: from, port };
      if (b.hostname !== undefined) src.hostname = b.hostname;
      if (b.tag !== undefined) src.tag = b.tag;
      try {
        this.#opts.onLines(b.lines, src);
      } catch (err) {
        this.#emit({
          type: 'error',
          code: 'ECONSUMER',
          message: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  #emit(e: SyslogEvent): void {
    try {
      this.#opts.onEvent?.(e);
    } catch {
      // A failing event handler must not stop the listener.
    }
  }
}

/**
 * Creates a UDP syslog listener; call `start()` to bind.
 * @example
 * const l = createSyslogListener({ address: ':5514', onLines: (batch, from) => count(batch, from.hostname) });
 * await l.start();
 */
export function createSyslogListener(options: SyslogListenerOptions): SyslogListener {
  return new SyslogListenerImpl(options);
}
