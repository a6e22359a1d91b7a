/**
 * Rendered lines → bytes. Lines carry raw bytes as lone surrogates U+DC80–U+DCFF (see
 * src/format/bytes.ts); those lines go through `encodeLine`, every other line is plain UTF-8.
 * @module
 */
import { encodeLine } from '../format/bytes.ts';

const LONE = /[\ud800-\udfff]/;

/** True when `line` holds surrogates and must be encoded with `encodeLine`. */
export function needsByteEncoding(line: string): boolean {
  return LONE.test(line);
}

/** `line` + `\n` as bytes. */
export function lineBytes(line: string): Buffer {
  return encodeLine(`${line}\n`);
}

/**
 * Copies `line` + `\n` into `buf` at `pos` when it fits; returns the new position, or -1 when
 * it does not fit (nothing is written then).
 */
export function appendLine(buf: Buffer, pos: number, line: string): number {
  const room = buf.length - pos;
  if (LONE.test(line)) {
    const b = encodeLine(line);
    if (b.length + 1 > room) return -1;
    b.copy(buf, pos);
    buf[pos + b.length] = 0x0a;
    return pos + b.length + 1;
  }
  // UTF-16 code unit → at most 3 UTF-8 bytes; only measure exactly when it might not fit.
  if (line.length * 3 + 1 > room && Buffer.byteLength(line, 'utf8') + 1 > room) return -1;
  const n = buf.write(line, pos, 'utf8');
  buf[pos + n] = 0x0a;
  return pos + n + 1;
}
