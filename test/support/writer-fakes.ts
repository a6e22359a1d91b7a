/**
 * Test support for the writer: fake timers and clock (no sleeping), temp directories, and a
 * walker that splits a gzip file into its members.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import type { WriterTimers } from '../../src/writer/timers.ts';

export interface FakeTime {
  readonly timers: WriterTimers;
  readonly clock: () => number;
  /** Moves time forward, running due timers in order. */
  advance(ms: number): void;
  /** Number of pending timers. */
  pending(): number;
}

export function fakeTime(start = 1_795_373_706_000): FakeTime {
  let now = start;
  let seq = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  return {
    clock: () => now,
    timers: {
      setTimeout(fn, ms) {
        const id = ++seq;
        due.set(id, { at: now + ms, fn });
        return id;
      },
      clearTimeout(h) {
        due.delete(h as number);
      },
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const e of due) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
        if (!next) break;
        due.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
    pending: () => due.size,
  };
}

export function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'logtally-writer-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export interface GzipMembers {
  /** Decompressed content of each complete member. */
  readonly members: Buffer[];
  /** Bytes after the last complete member (a member cut short), 0 when the file ends cleanly. */
  readonly trailing: number;
  /** Byte length of the complete members. */
  readonly completeBytes: number;
}

/** Splits a file of concatenated gzip members; each member is checked (CRC and length) by gunzip. */
export function gzipMembers(file: Buffer): GzipMembers {
  const members: Buffer[] = [];
  let off = 0;
  while (off < file.length) {
    if (file.length - off < 18 || file[off] !== 0x1f || file[off + 1] !== 0x8b) break;
    // nginx/zlib members have a plain 10-byte header (no FEXTRA/FNAME/FCOMMENT).
    let end: number;
    try {
      const r = inflateRawSync(file.subarray(off + 10), { info: true }) as unknown as {
        engine: { bytesWritten: number };
      };
      end = off + 10 + r.engine.bytesWritten + 8;
    } catch {
      break;
    }
    if (end > file.length) break;
    try {
      members.push(gunzipSync(file.subarray(off, end)));
    } catch {
      break;
    }
    off = end;
  }
  return { members, trailing: file.length - off, completeBytes: off };
}
