/**
 * Syslog frames as nginx sends them for `access_log syslog:server=…`, and what we tolerate
 * besides.
 *
 * Accepted, per line of a datagram (a datagram may hold several lines separated by `\n`; one
 * trailing `\r` per line is stripped; empty lines are ignored):
 * - RFC 3164, as nginx writes it (checked against nginx 1.22): `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MSG`,
 *   the day space-padded (`Nov  2`); with `nohostname`: `<PRI>Mmm dd hh:mm:ss TAG: MSG`. A token
 *   ending in `:` right after the timestamp is the TAG (no HOSTNAME); otherwise the first token is
 *   the HOSTNAME and the second, if it ends in `:`, the TAG (`TAG[pid]:` gives TAG). An RFC 3339
 *   timestamp in place of the BSD one is accepted too (rsyslog forwarding). A frame with a PRI but
 *   no recognisable timestamp is taken as PRI + MSG (RFC 3164 §4.3.2).
 * - RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]`; APP-NAME is the tag,
 *   `-` means absent, a UTF-8 BOM before MSG is removed.
 * - Bare lines: a line not starting with `<digit` is a message without header.
 * - In a datagram whose first line has a header, a following line without its own header
 *   (not starting with `<digit`) continues that header: same HOSTNAME and TAG.
 *
 * Malformed (counted, skipped): a PRI that is not 1–3 digits closed by `>` or is above 191, an
 * RFC 5424 header with missing fields or broken STRUCTURED-DATA, a header with an empty MSG, and a
 * datagram with no non-empty line at all.
 * @module
 */
import { isAscii } from 'node:buffer';
import { decodeBytes, latin1 } from '../format/bytes.ts';
import { LineBatch } from './line-batch.ts';

/** One parsed frame. */
export interface SyslogFrame {
  kind: 'rfc3164' | 'rfc5424' | 'bare';
  /** PRI = facility × 8 + severity (absent for bare lines). */
  pri?: number;
  facility?: number;
  severity?: number;
  /** The header timestamp as sent (local time of the sender, year-less for RFC 3164). */
  timestamp?: string;
  hostname?: string;
  tag?: string;
  /** The log line (decoded losslessly). */
  message: string;
}

/** A frame that could not be parsed. */
export interface SyslogMalformed {
  kind: 'malformed';
  reason: string;
}

/** Lines of one datagram that share a header (same hostname and tag). */
export interface SyslogBatch {
  hostname?: string;
  tag?: string;
  /** The messages, as bounds in the datagram's bytes. */
  lines: LineBatch;
}

/** A frame whose message is `buf[start, end)` of the bytes it was parsed from (not decoded). */
type FrameBounds = Omit<SyslogFrame, 'message'> & { start: number; end: number };

/** What {@link parseSyslogDatagram} found. */
export interface SyslogDatagram {
  batches: SyslogBatch[];
  lines: number;
  malformed: number;
  /** Reason of the first malformed frame, if any. */
  reason?: string;
}

const SP = 0x20;
const LT = 0x3c;
const GT = 0x3e;
const COLON = 0x3a;
const NL = 0x0a;
const CR = 0x0d;
const MONTHS = new Set(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']);

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function indexOfByte(b: Uint8Array, byte: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (b[i] === byte) return i;
  return -1;
}

/** `Mmm dd hh:mm:ss` at `i` (15 bytes), day space- or zero-padded. */
function isBsdTimestamp(b: Uint8Array, i: number, n: number): boolean {
  if (i + 15 > n) return false;
  if (!MONTHS.has(latin1(b, i, i + 3)) || b[i + 3] !== SP) return false;
  const d0 = b[i + 4];
  if (!(d0 === SP || isDigit(d0)) || !isDigit(b[i + 5]) || b[i + 6] !== SP) return false;
  return (
    isDigit(b[i + 7]) &&
    isDigit(b[i + 8]) &&
    b[i + 9] === COLON &&
    isDigit(b[i + 10]) &&
    isDigit(b[i + 11]) &&
    b[i + 12] === COLON &&
    isDigit(b[i + 13]) &&
    isDigit(b[i + 14])
  );
}

/** `YYYY-MM-DDT…` up to the next space. Returns the end index or -1. */
function rfc3339End(b: Uint8Array, i: number, n: number): number {
  if (i + 11 > n) return -1;
  for (const k of [0, 1, 2, 3, 5, 6, 8, 9]) if (!isDigit(b[i + k])) return -1;
  if (b[i + 4] !== 0x2d || b[i + 7] !== 0x2d || b[i + 10] !== 0x54) return -1;
  return indexOfByte(b, SP, i, n);
}

/** `nginx[123]` → `nginx`. */
function tagName(b: Uint8Array, from: number, to: number): string {
  const bracket = indexOfByte(b, 0x5b, from, to);
  return latin1(b, from, bracket === -1 ? to : bracket);
}

function malformed(reason: string): SyslogMalformed {
  return { kind: 'malformed', reason };
}

/**
 * Parses one syslog line (one frame, without its `\n`).
 * @example
 * parseSyslogFrame(Buffer.from('<190>Nov  2 17:37:36 web1 nginx: GET /'))
 * // { kind: 'rfc3164', pri: 190, facility: 23, severity: 6, timestamp: 'Nov  2 17:37:36',
 * //   hostname: 'web1', tag: 'nginx', message: 'GET /' }
 */
export function parseSyslogFrame(buf: Uint8Array): SyslogFrame | SyslogMalformed {
  const f = frameBounds(buf);
  if (f.kind === 'malformed') return f;
  const { start, end, ...frame } = f;
  return { ...frame, message: decodeBytes(buf.subarray(start, end)) };
}

/** As {@link parseSyslogFrame}, with the message's bounds instead of its text. */
function frameBounds(buf: Uint8Array): FrameBounds | SyslogMalformed {
  let n = buf.length;
  while (n > 0 && (buf[n - 1] === NL || buf[n - 1] === CR)) n--;
  if (n === 0) return malformed('empty frame');
  if (buf[0] !== LT || !isDigit(buf[1])) return { kind: 'bare', start: 0, end: n };
  let i = 1;
  let pri = 0;
  while (i < n && i <= 4 && isDigit(buf[i])) pri = pri * 10 + ((buf[i++] as number) - 0x30);
  if (buf[i] !== GT || i > 4) return malformed('PRI is not 1-3 digits closed by ">"');
  if (pri > 191) return malformed(`PRI ${pri} is above 191`);
  i++;
  const head = { pri, facility: pri >> 3, severity: pri & 7 };
  if (isDigit(buf[i]) && (buf[i + 1] === SP || (isDigit(buf[i + 1]) && buf[i + 2] === SP))) {
    return parse5424(buf, buf[i + 1] === SP ? i + 2 : i + 3, n, head);
  }
  let timestamp: string | undefined;
  if (isBsdTimestamp(buf, i, n) && buf[i + 15] === SP) {
    timestamp = latin1(buf, i, i + 15);
    i += 16;
  } else {
    const end = rfc3339End(buf, i, n);
    if (end !== -1) {
      timestamp = latin1(buf, i, end);
      i = end + 1;
    } else {
      // No timestamp: the rest is the message (RFC 3164 §4.3.2).
      if (i >= n) return malformed('empty message');
      return { kind: 'rfc3164', ...head, start: i, end: n };
    }
  }
  let hostname: string | undefined;
  let tag: string | undefined;
  const sp1 = indexOfByte(buf, SP, i, n);
  if (sp1 === -1) return malformed('no message after the header');
  if (sp1 > i && buf[sp1 - 1] === COLON) {
    tag = tagName(buf, i, sp1 - 1);
    i = sp1 + 1;
  } else {
    hostname = latin1(buf, i, sp1);
    i = sp1 + 1;
    const sp2 = indexOfByte(buf, SP, i, n);
    if (sp2 > i && buf[sp2 - 1] === COLON) {
      tag = tagName(buf, i, sp2 - 1);
      i = sp2 + 1;
    } else if (sp2 === -1 && n > i && buf[n - 1] === COLON) {
      return malformed('empty message');
    }
  }
  if (i >= n) return malformed('empty message');
  const frame: FrameBounds = { kind: 'rfc3164', ...head, timestamp, start: i, end: n };
  if (hostname !== undefined && hostname !== '') frame.hostname = hostname;
  if (tag !== undefined && tag !== '') frame.tag = tag;
  return frame;
}

function parse5424(
  b: Uint8Array,
  i: number,
  n: number,
  head: { pri: number; facility: number; severity: number },
): FrameBounds | SyslogMalformed {
  const fields: string[] = [];
  for (let k = 0; k < 5; k++) {
    const sp = indexOfByte(b, SP, i, n);
    if (sp === -1 || sp === i) return malformed('RFC 5424 header is missing fields');
    fields.push(latin1(b, i, sp));
    i = sp + 1;
  }
  if (b[i] === 0x2d) {
    i++;
  } else if (b[i] === 0x5b) {
    // STRUCTURED-DATA: one or more [id param="value"...]; `\]`, `\"` and `\\` escape inside values.
    while (b[i] === 0x5b) {
      let quoted = false;
      i++;
      for (;;) {
        if (i >= n) return malformed('unterminated STRUCTURED-DATA');
        const c = b[i];
        if (quoted && c === 0x5c) i += 2;
        else {
          if (c === 0x22) quoted = !quoted;
          i++;
          if (c === 0x5d && !quoted) break;
        }
      }
    }
  } else {
    return malformed('RFC 5424 STRUCTURED-DATA is neither "-" nor "[...]"');
  }
  if (i < n && b[i] !== SP) return malformed('no space after STRUCTURED-DATA');
  i++;
  if (b[i] === 0xef && b[i + 1] === 0xbb && b[i + 2] === 0xbf) i += 3;
  if (i >= n) return malformed('empty message');
  const [timestamp, hostname, app] = fields as [string, string, string, string, string];
  const frame: FrameBounds = { kind: 'rfc5424', ...head, start: i, end: n };
  if (timestamp !== '-') frame.timestamp = timestamp;
  if (hostname !== '-') frame.hostname = hostname;
  if (app !== '-') frame.tag = app;
  return frame;
}

/**
 * Splits one datagram into lines and parses them (see the module doc for the rules).
 * @example
 * parseSyslogDatagram(Buffer.from('<190>Nov  2 17:37:36 web1 nginx: a\nb\n'))
 * // { batches: [{ hostname: 'web1', tag: 'nginx', lines: LineBatch ['a', 'b'] }], lines: 2, malformed: 0 }
 */
export function parseSyslogDatagram(buf: Buffer): SyslogDatagram {
  const out: SyslogDatagram = { batches: [], lines: 0, malformed: 0 };
  let batch: SyslogBatch | null = null;
  let hasHeader = false;
  let any = false;
  const n = buf.length;
  const ascii = isAscii(buf);
  let start = 0;
  while (start < n) {
    let nl = buf.indexOf(NL, start);
    if (nl === -1) nl = n;
    let end = nl;
    if (end > start && buf[end - 1] === CR) end--;
    const from = start;
    start = nl + 1;
    if (end === from) continue;
    any = true;
    if (hasHeader && batch && !(buf[from] === LT && isDigit(buf[from + 1]))) {
      batch.lines.push(from, end);
      out.lines++;
      continue;
    }
    const f = frameBounds(buf.subarray(from, end));
    if (f.kind === 'malformed') {
      out.malformed++;
      out.reason ??= f.reason;
      continue;
    }
    hasHeader = true;
    if (!batch || batch.hostname !== f.hostname || batch.tag !== f.tag) {
      batch = { lines: new LineBatch(2).reset(buf, ascii) };
      if (f.hostname !== undefined) batch.hostname = f.hostname;
      if (f.tag !== undefined) batch.tag = f.tag;
      out.batches.push(batch);
    }
    batch.lines.push(from + f.start, from + f.end);
    out.lines++;
  }
  if (!any) {
    out.malformed++;
    out.reason ??= 'empty datagram';
  }
  return out;
}
