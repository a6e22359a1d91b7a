/**
 * Splits a byte stream into lines, fed one chunk at a time.
 *
 * - A line ends at `\n`. The `\n` is not part of the line; one trailing `\r` before it is also
 *   stripped (CRLF files). nginx never ends a line with a raw `\r` (its escaping turns control bytes
 *   into `\xHH`), so stripping loses nothing it writes.
 * - Bytes after the last `\n` are a partial line, kept (copied, since the caller reuses its read
 *   buffer) until the newline arrives. They are never delivered on their own: the owner decides
 *   what to do with them when the stream ends ({@link LineSplitter.reset} returns their size).
 * - A line longer than `maxLineBytes` (not counting `\r\n`/`\n`) is counted in
 *   {@link LineSplitter.overLong} and skipped through its newline. It is never buffered beyond the
 *   cap: once the cap is passed the splitter discards bytes until the next `\n`.
 * - Each line is decoded as {@link decodeBytes} decodes it (lossless: invalid UTF-8 bytes survive).
 * - Fast path: complete lines are decoded straight out of the chunk; nothing is concatenated
 *   unless a line straddles two chunks. Whether the chunk's complete lines are all ASCII is checked
 *   once per chunk with the native `buffer.isAscii`; ASCII lines are then decoded with
 *   `toString('latin1')`, which is exactly what `decodeBytes` does for ASCII input (its own fast
 *   path), without its per-byte check and per-line Buffer view. Other lines go through `decodeBytes`.
 *   Each line is a string of its own, never a slice of a larger one, so keeping a line (or a
 *   field of it) does not keep a whole chunk alive.
 * @module
 */
import { isAscii } from 'node:buffer';
import { decodeBytes } from '../format/bytes.ts';

/** Default cap on one line: 64 KiB. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const NL = 0x0a;
const CR = 0x0d;

/** `decodeBytes` of `b[start, end)`, skipping its per-byte ASCII scan when the line is ASCII. */
function decodeLine(b: Buffer, start: number, end: number): string {
  const line = b.subarray(start, end);
  return isAscii(line) ? b.toString('latin1', start, end) : decodeBytes(line);
}

/** Options of {@link LineSplitter}. */
export interface LineSplitterOptions {
  /** Longest line kept, in bytes, without its terminator. Default 64 KiB. */
  maxLineBytes?: number;
}

/**
 * Incremental line splitter.
 * @example
 * const s = new LineSplitter();
 * const out: string[] = [];
 * s.push(Buffer.from('a\nb'), out); // out = ['a'], partial 'b'
 * s.push(Buffer.from('c\n'), out); // out = ['a', 'bc']
 */
export class LineSplitter {
  /** Longest line kept, in bytes. */
  readonly maxLineBytes: number;
  /** Lines skipped because they were longer than {@link maxLineBytes}. */
  overLong = 0;
  #carry: Buffer | null = null;
  #carryLen = 0;
  #skipping = false;

  constructor(options: LineSplitterOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxLineBytes must be a positive integer`);
    this.maxLineBytes = max;
  }

  /** Bytes of the partial last line held back, waiting for its newline. */
  get partialBytes(): number {
    return this.#carryLen;
  }

  /** True while the rest of an over-long line is being discarded. */
  get skipping(): boolean {
    return this.#skipping;
  }

  /**
   * Feeds one chunk; appends every line it completes to `out`.
   * @returns the number of lines appended.
   */
  push(chunk: Buffer, out: string[]): number {
    const n = chunk.length;
    const max = this.maxLineBytes;
    const before = out.length;
    let start = 0;
    if (this.#skipping) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) return 0;
      this.#skipping = false;
      start = nl + 1;
    }
    if (this.#carryLen > 0 && start < n) {
      const nl = chunk.indexOf(NL, start);
      if (nl === -1) {
        this.#append(chunk, start, n);
        return 0;
      }
      let len = this.#carryLen + (nl - start);
      if (len > max + 1) {
        this.#overLong();
      } else {
        const carry = this.#append(chunk, start, nl);
        if (len > 0 && carry[len - 1] === CR) len--;
        if (len > max) this.overLong++;
        else out.push(decodeLine(carry, 0, len));
        this.#carryLen = 0;
      }
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    const ascii = last > start && isAscii(chunk.subarray(start, last));
    while (start < n) {
      const nl = chunk.indexOf(NL, start);
      if (nl === -1) break;
      let end = nl;
      if (end > start && chunk[end - 1] === CR) end--;
      if (end - start > max) this.overLong++;
      else if (ascii) out.push(chunk.toString('latin1', start, end));
      else out.push(decodeLine(chunk, start, end));
      start = nl + 1;
    }
    if (start < n) this.#append(chunk, start, n);
    return out.length - before;
  }

  /** Discards the partial line (and any over-long line being skipped); returns its size. */
  reset(): number {
    const dropped = this.#carryLen;
    this.#carryLen = 0;
    this.#skipping = false;
    if (this.#carry && this.#carry.length > 64 * 1024) this.#carry = null;
    return dropped;
  }

  /**
   * Discards everything up to and including the next newline: used when reading starts in the
   * middle of a line (tailing from the end of a file whose last line is incomplete).
   */
  skipToNewline(): void {
    this.#carryLen = 0;
    this.#skipping = true;
  }

  /**
   * Appends `chunk[from, to)` to the carried partial line, or switches to skipping when the line
   * outgrows the cap (`max + 1` leaves room for a `\r` before the `\n`).
   */
  #append(chunk: Buffer, from: number, to: number): Buffer {
    const len = this.#carryLen + (to - from);
    if (len > this.maxLineBytes + 1) {
      this.#overLong();
      this.#skipping = true;
      return chunk;
    }
    let carry = this.#carry;
    if (carry === null || carry.length < len) {
      const grown = Buffer.allocUnsafe(
        Math.min(Math.max(len, (carry?.length ?? 0) * 2, 256), this.maxLineBytes + 1),
      );
      if (carry !== null) carry.copy(grown, 0, 0, this.#carryLen);
      carry = grown;
      this.#carry = carry;
    }
    chunk.copy(carry, this.#carryLen, from, to);
    this.#carryLen = len;
    return carry;
  }

  #overLong(): void {
    this.overLong++;
    this.#carryLen = 0;
  }
}
