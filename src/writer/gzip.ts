/**
 * One buffer → one complete, independent gzip member, with the parameters nginx uses
 * (`ngx_http_log_gzip`: window and memory level shrink for small buffers), so a log file is a
 * concatenation of members that `zcat` reads at any moment.
 * @module
 */
import { gzipSync } from 'node:zlib';

/** nginx's `wbits`/`memlevel` choice for `len` input bytes. */
export function gzipParameters(len: number): { windowBits: number; memLevel: number } {
  let windowBits = 15;
  let memLevel = 8;
  while (len < (1 << (windowBits - 1)) - 262) {
    windowBits--;
    memLevel--;
  }
  return { windowBits, memLevel: Math.max(memLevel, 1) };
}

/** Compresses `data` into one gzip member at `level` (1–9). */
export function gzipMember(data: Uint8Array, level: number): Buffer {
  return gzipSync(data, { level, ...gzipParameters(data.length) });
}
