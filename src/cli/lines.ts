/**
 * Reads a byte stream as lines, decoding each line losslessly (raw bytes survive, see
 * ../format/bytes.ts). Lines end at `\n`; a final line without one is still delivered.
 * @module
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { decodeBytes } from '../format/bytes.ts';

/** Opens a path (`-` for stdin); `.gz` files are decompressed (concatenated members included). */
export function openInput(path: string): Readable {
  const raw = path === '-' ? process.stdin : createReadStream(path);
  return path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
}

/** Yields decoded lines. */
export async function* readLines(input: Readable): AsyncGenerator<string> {
  let carry: Buffer | null = null;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    carry = null;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl === -1) break;
      yield decodeBytes(buf.subarray(start, nl));
      start = nl + 1;
    }
    if (start < buf.length) carry = Buffer.from(buf.subarray(start));
    buf = Buffer.alloc(0);
  }
  if (carry && carry.length > 0) yield decodeBytes(carry);
}
