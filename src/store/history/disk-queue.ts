/**
 * Minutes waiting for a history sink, on disk: one JSON file per write (`MINUTE-SEQ-SOURCE.json`,
 * written to a temporary name and renamed, so a crash leaves whole files only), taken oldest
 * first. Used while the sink is failing and at shutdown, so a sink that is down across a restart
 * loses nothing; beyond `maxBytes` the oldest files are dropped (and counted by the caller).
 * @module
 */
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { MinuteWrite } from './sink.ts';

interface QueuedFile {
  readonly name: string;
  readonly bytes: number;
  readonly minute: number;
  readonly rows: number;
}

const NAME = /^(\d{11})-(\d{16})-([0-9a-f]{12})-(\d+)\.json$/;

export class DiskQueue {
  readonly dir: string;
  readonly maxBytes: number;
  /** Sorted by name: by minute, then seq. */
  #files: QueuedFile[] = [];
  #bytes = 0;
  readonly #onDrop: (minute: number, why: string) => void;

  constructor(dir: string, maxBytes: number, onDrop: (minute: number, why: string) => void) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.#onDrop = onDrop;
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      const m = NAME.exec(name);
      if (!m) {
        // A temporary file of a write a crash interrupted.
        if (name.endsWith('.tmp')) unlinkSync(join(dir, name));
        continue;
      }
      const bytes = statSync(join(dir, name)).size;
      this.#files.push({ name, bytes, minute: Number(m[1]), rows: Number(m[4]) });
      this.#bytes += bytes;
    }
    this.#files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get count(): number {
    return this.#files.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Start of the oldest queued minute (epoch seconds), or 0. */
  get oldest(): number {
    return this.#files[0]?.minute ?? 0;
  }

  push(w: MinuteWrite): void {
    const source = createHash('sha256').update(w.source).digest('hex').slice(0, 12);
    const rows = w.entries.length + 1;
    const name = `${String(w.minute).padStart(11, '0')}-${String(w.seq).padStart(16, '0')}-${source}-${rows}.json`;
    const body = JSON.stringify(w);
    const tmp = join(this.dir, `${name}.tmp`);
    writeFileSync(tmp, body);
    renameSync(tmp, join(this.dir, name));
    const f: QueuedFile = { name, bytes: Buffer.byteLength(body), minute: w.minute, rows };
    let i = this.#files.length;
    while (i > 0 && (this.#files[i - 1] as QueuedFile).name > name) i--;
    if ((this.#files[i - 1] as QueuedFile | undefined)?.name === name) {
      // The same write again (spilled twice): one file.
      this.#bytes -= (this.#files[i - 1] as QueuedFile).bytes;
      this.#files.splice(i - 1, 1, f);
    } else this.#files.splice(i, 0, f);
    this.#bytes += f.bytes;
    while (this.#bytes > this.maxBytes && this.#files.length > 1) {
      const old = this.#files.shift() as QueuedFile;
      this.#bytes -= old.bytes;
      unlinkSync(join(this.dir, old.name));
      this.#onDrop(old.minute, `the queue is over ${this.maxBytes} bytes`);
    }
  }

  /** The oldest writes, up to about `maxRows` rows (at least one); unreadable files are dropped. */
  take(maxRows: number): { names: string[]; writes: MinuteWrite[] } {
    const names: string[] = [];
    const writes: MinuteWrite[] = [];
    let rows = 0;
    for (const f of [...this.#files]) {
      if (writes.length > 0 && rows + f.rows > maxRows) break;
      try {
        writes.push(JSON.parse(readFileSync(join(this.dir, f.name), 'utf8')) as MinuteWrite);
        names.push(f.name);
        rows += f.rows;
      } catch (e) {
        this.remove([f.name]);
        this.#onDrop(f.minute, `${f.name} is unreadable: ${(e as Error).message}`);
      }
    }
    return { names, writes };
  }

  remove(names: readonly string[]): void {
    const gone = new Set(names);
    this.#files = this.#files.filter((f) => {
      if (!gone.has(f.name)) return true;
      this.#bytes -= f.bytes;
      try {
        unlinkSync(join(this.dir, f.name));
      } catch {
        // already gone
      }
      return false;
    });
  }
}

/** `1GB`, `500MB`, `64M`, `2G`, or bytes → bytes. */
export function parseSize(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(k|kb|m|mb|g|gb|t|tb)?\s*$/i.exec(s);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase().replace('b', '');
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit] ?? 1;
  return Math.floor(Number(m[1]) * mult);
}
