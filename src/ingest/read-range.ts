/**
 * Reading a byte range of an open log as lines, outside the tailer: the collector's parallel
 * read of a backlog (its own part and each worker thread's) reads through this one loop.
 * @module
 */
import { read } from 'node:fs';
import { promisify } from 'node:util';
import type { LineBatch } from './line-batch.ts';
import { LineSplitter } from './line-splitter.ts';

const readAt = promisify(read);

export interface ReadRangeOptions {
  /** Longest line kept (longer ones are counted in `overLong` and skipped). */
  readonly maxLineBytes: number;
  /** Receives each batch of complete lines (valid only during the call). */
  readonly deliver: (batch: LineBatch) => void;
  /** Called after each read with the end of the last line delivered. */
  readonly progress?: (lineEnd: number) => void;
  /** Checked before each read: true ends the range there. */
  readonly stopped?: () => boolean;
}

export interface RangeRead {
  /** The end of the last line delivered (`to` when the range was read whole and ends a line). */
  readonly end: number;
  readonly overLong: number;
}

/** Reads `fd`'s bytes `[from, to)` in 1 MiB reads through one splitter (positional reads: `fd` may be shared). */
export async function readRange(
  fd: number,
  from: number,
  to: number,
  o: ReadRangeOptions,
): Promise<RangeRead> {
  const splitter = new LineSplitter({ maxLineBytes: o.maxLineBytes });
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = from;
  while (pos < to && !o.stopped?.()) {
    const { bytesRead } = await readAt(fd, buf, 0, Math.min(buf.length, to - pos), pos);
    if (bytesRead === 0) break;
    splitter.push(buf.subarray(0, bytesRead), o.deliver);
    pos += bytesRead;
    o.progress?.(pos - splitter.partialBytes);
  }
  return { end: pos - splitter.partialBytes, overLong: splitter.overLong };
}
