/**
 * `syslog:server=host[:port][,facility=][,severity=][,tag=][,nohostname]`: one UDP datagram per
 * line, laid out as nginx 1.22 does (`ngx_syslog_add_header`):
 * `<PRI>Mmm dd hh:mm:ss hostname tag: line` — PRI = facility × 8 + severity, the day
 * space-padded, local time, the host name lower-cased, no trailing newline; `nohostname` drops
 * the host name and its space.
 * @see https://nginx.org/en/docs/syslog.html
 * @module
 */
import { createSocket, type Socket } from 'node:dgram';
import { hostname as osHostname } from 'node:os';
import { encodeLine } from '../format/bytes.ts';
import type { SyslogTarget } from '../format/nginx-conf/model.ts';
import { SYSLOG_FACILITIES, SYSLOG_SEVERITIES } from '../format/nginx-conf/syslog.ts';
import type { ErrorReporter, WriterStats } from './diagnostics.ts';
import type { Clock } from './timers.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** nginx's `ngx_cached_syslog_time`: `Nov  2 18:55:06` in local time. */
export function syslogTime(epochMs: number): string {
  const d = new Date(epochMs);
  const day = d.getDate();
  return `${MONTHS[d.getMonth()]} ${day < 10 ? ` ${day}` : day} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** The text before the message: `<190>Nov  2 18:55:06 host nginx: `. */
export function syslogHeader(t: SyslogTarget, epochMs: number, hostname: string): string {
  const pri = SYSLOG_FACILITIES.indexOf(t.facility) * 8 + SYSLOG_SEVERITIES.indexOf(t.severity);
  const host = t.nohostname ? '' : `${hostname} `;
  return `<${pri}>${syslogTime(epochMs)} ${host}${t.tag}: `;
}

/** Datagrams waiting for the socket to connect; more are dropped. */
const MAX_PENDING = 1024;

export interface SyslogSinkOptions {
  readonly target: SyslogTarget;
  readonly raw: string;
  readonly hostname: string | undefined;
  readonly clock: Clock;
  readonly stats: WriterStats;
  readonly errors: ErrorReporter;
}

export class SyslogSink {
  readonly #o: SyslogSinkOptions;
  readonly #hostname: string;
  #socket: Socket | undefined;
  #connected = false;
  #pending: Buffer[] = [];
  #closed = false;
  #headerSecond = Number.NaN;
  #header = '';
  #inflight = 0;
  readonly #sent = (err: Error | null) => {
    this.#inflight--;
    if (this.#closed && this.#inflight === 0) this.#finish();
    if (!err) return;
    this.#o.stats.lines--;
    this.#o.stats.dropped++;
    this.#o.errors.report('send', err, this.#o.raw);
  };

  constructor(o: SyslogSinkOptions) {
    this.#o = o;
    this.#hostname = (o.hostname ?? osHostname()).toLowerCase();
    if (o.target.unix) {
      o.errors.report(
        'open',
        new Error('syslog over a UNIX-domain socket is not supported (Node has no datagram UNIX sockets)'),
        o.target.host,
        'ERR_WRITER_SYSLOG_UNIX',
      );
      return;
    }
    this.#connect();
  }

  #connect(): void {
    const { host, port } = this.#o.target;
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.#socket = s;
    s.unref();
    s.on('error', (e) => {
      this.#o.errors.report('send', e, this.#o.raw);
      // A failed socket is replaced on the next line (nginx reconnects after a send error too).
      if (this.#socket === s) {
        this.#socket = undefined;
        this.#connected = false;
        s.close();
      }
    });
    s.connect(port, host, () => {
      if (this.#socket !== s) return;
      this.#connected = true;
      const q = this.#pending;
      this.#pending = [];
      for (const b of q) this.#send(s, b);
      if (this.#closed && this.#inflight === 0) this.#finish();
    });
  }

  /** Sends one line. Returns false when it was dropped. */
  write(line: string): boolean {
    const stats = this.#o.stats;
    if (this.#closed || this.#o.target.unix) {
      stats.dropped++;
      return false;
    }
    const now = this.#o.clock();
    const sec = Math.floor(now / 1000);
    if (sec !== this.#headerSecond) {
      this.#headerSecond = sec;
      this.#header = syslogHeader(this.#o.target, now, this.#hostname);
    }
    const msg = encodeLine(this.#header + line);
    if (!this.#socket) this.#connect();
    const s = this.#socket as Socket;
    stats.lines++;
    stats.writes++;
    stats.bytes += msg.length;
    if (this.#connected) {
      this.#send(s, msg);
    } else if (this.#pending.length < MAX_PENDING) {
      this.#pending.push(msg);
    } else {
      stats.lines--;
      stats.dropped++;
      this.#o.errors.report(
        'send',
        new Error('syslog socket not connected yet; queue full'),
        this.#o.raw,
        'EAGAIN',
      );
      return false;
    }
    return true;
  }

  #send(s: Socket, msg: Buffer): void {
    this.#inflight++;
    s.send(msg, this.#sent);
  }

  flush(): void {}

  reopen(): void {}

  /** Stops accepting lines; the socket closes once queued datagrams have left. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#inflight === 0 && (this.#connected || !this.#socket)) this.#finish();
  }

  #finish(): void {
    const s = this.#socket;
    this.#socket = undefined;
    this.#connected = false;
    s?.close();
  }
}
