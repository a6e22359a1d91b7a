/**
 * A batch of lines as the ingest layer delivers them: the bytes they were read into and each
 * line's start and end, with no string per line. A consumer parses straight from the bytes (the
 * collector's projection) and decodes a line only when it needs its text ({@link LineBatch.text},
 * lossless as ../format/bytes.ts decodes). The bytes are the reader's buffer: valid only during
 * the call that delivers the batch, which must not keep them.
 * @module
 */
import { isAscii } from 'node:buffer';
import { decodeBytes } from '../format/bytes.ts';

const NO_BYTES = Buffer.alloc(0);

export class LineBatch {
  /** The bytes holding the lines. */
  bytes: Buffer = NO_BYTES;
  /** Line `i` is `bytes[bounds[2i], bounds[2i + 1])`, without its `\n` (or `\r\n`). */
  bounds: Int32Array;
  /** Room for `lines` lines before the bounds grow (a syslog datagram holds one or a few). */
  constructor(lines = 256) {
    this.bounds = new Int32Array(2 * lines);
  }
  /** Number of lines. */
  count = 0;
  /** Every line is ASCII (checked once for the batch). */
  ascii = false;

  /** Starts a new batch over `bytes` (no lines yet). */
  reset(bytes: Buffer, ascii: boolean): this {
    this.bytes = bytes;
    this.count = 0;
    this.ascii = ascii;
    return this;
  }

  push(start: number, end: number): void {
    const i = this.count * 2;
    if (i + 2 > this.bounds.length) {
      const grown = new Int32Array(this.bounds.length * 2);
      grown.set(this.bounds);
      this.bounds = grown;
    }
    this.bounds[i] = start;
    this.bounds[i + 1] = end;
    this.count++;
  }

  start(i: number): number {
    return this.bounds[2 * i] as number;
  }

  end(i: number): number {
    return this.bounds[2 * i + 1] as number;
  }

  /** The text of line `i` (lossless: invalid UTF-8 bytes survive as ../format/bytes.ts says). */
  text(i: number): string {
    const s = this.bounds[2 * i] as number;
    const e = this.bounds[2 * i + 1] as number;
    const b = this.bytes;
    if (this.ascii) return b.toString('latin1', s, e);
    const line = b.subarray(s, e);
    return isAscii(line) ? b.toString('latin1', s, e) : decodeBytes(line);
  }

  /** Every line's text (tests, tools; the collector parses the bytes). */
  lines(): string[] {
    const out: string[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.text(i);
    return out;
  }
}
