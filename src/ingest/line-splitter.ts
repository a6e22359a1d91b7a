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
 * - Lines are not decoded here: each chunk's complete lines go out as one {@link LineBatch} (the
 *   chunk and each line's bounds), with whether they are all ASCII checked once per chunk with the
 *   native `buffer.isAscii`; nothing is copied unless a line straddles two chunks. The consumer
 *   parses the bytes, or decodes a line losslessly with `LineBatch.text`.
 * @module
 */
import { isAscii } from 'node:buffer';
import { LineBatch } from './line-batch.ts';

/** Default cap on one line: 64 KiB. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const NL = 0x0a;
const CR = 0x0d;

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
 * s.push(Buffer.from('a\nb'), (b) => out.push(...b.lines())); // out = ['a'], partial 'b'
 * s.push(Buffer.from('c\n'), (b) => out.push(...b.lines())); // out = ['a', 'bc']
 */
export class LineSplitter {
  /** Longest line kept, in bytes. */
  readonly maxLineBytes: number;
  /** Lines skipped because they were longer than {@link maxLineBytes}. */
  overLong = 0;
  #carry: Buffer | null = null;
  readonly #batch = new LineBatch();
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
   * Feeds one chunk; hands the lines it completes to `deliver` as batches over the bytes (a line
   * that straddled chunks comes first, in a batch of its own over the carried copy). The batches
   * and their bytes are valid only during the call.
   * @returns the number of lines delivered.
   */
  push(chunk: Buffer, deliver: (batch: LineBatch) => void): number {
    const n = chunk.length;
    const max = this.maxLineBytes;
    const batch = this.#batch;
    let delivered = 0;
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
        this.#carryLen = 0;
        if (len > max) this.overLong++;
        else {
          batch.reset(carry, isAscii(carry.subarray(0, len)));
          batch.push(0, len);
          deliver(batch);
          delivered++;
        }
      }
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    batch.reset(chunk, last > start && isAscii(chunk.subarray(start, last)));
    start = this.#lines(chunk, start, batch);
    if (start < n) this.#append(chunk, start, n);
    if (batch.count > 0) {
      delivered += batch.count;
      deliver(batch);
    }
    return delivered;
  }

  /**
   * Adds the complete lines of `chunk` from `start` to the batch; returns where the partial line
   * after them starts. A loop of its own: the code optimized for it is not thrown away at its end.
   */
  #lines(chunk: Buffer, start: number, batch: LineBatch): number {
    const n = chunk.length;
    const max = this.maxLineBytes;
    while (start < n) {
      const nl = chunk.indexOf(NL, start);
      if (nl === -1) break;
      let end = nl;
      if (end > start && chunk[end - 1] === CR) end--;
      if (end - start > max) this.overLong++;
      else batch.push(start, end);
      start = nl + 1;
    }
    return start;
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
