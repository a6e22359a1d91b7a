/**
 * Reading a large unread part of a log on every core (`--threads`): at start, a file read from its
 * start (`--from-start`) or from a saved position far behind has its unread bytes, up to its last
 * complete line, split at line boundaries into one part per thread. Each worker thread parses and
 * counts its part into a store of its own (./backfill-worker.ts); when every part is done, their
 * counts are merged into the collector's store (`Store.absorb`, through the late-line path: every
 * line in the minute of its own time), with their line counters and Prometheus counts, and the
 * tailer goes on from the end of the parts. Nothing is merged unless every part succeeded (the
 * tailer then reads the file itself), so a crash or a stop before the merge loses nothing: the
 * saved state still says where to read from.
 *
 * Live tailing stays on one thread: a server writes far fewer lines a second than one core counts.
 * @module
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { compilePattern, globFiles } from '../ingest/patterns.ts';
import { FINGERPRINT_BYTES, type FilePosition } from '../ingest/tailer.ts';
import type { Store, StoreOptions, StoreState, StoreStats } from '../store/store.ts';
import type { FileInput } from './inputs.ts';
import type { FormatRecipe, Pipeline, PipelineReport, SourceCounters } from './pipeline.ts';
import type { RequestCounts, RequestCountsData } from './request-counts.ts';

/** What one worker is asked to count. */
export interface BackfillJob {
  path: string;
  from: number;
  to: number;
  recipe: FormatRecipe;
  name: string;
  website?: string;
  store: Pick<StoreOptions, 'v4prefix' | 'v6prefix'>;
  maxLineBytes: number;
}

/** What one worker answers. */
export type BackfillResult =
  | {
      ok: true;
      state: StoreState;
      stats: StoreStats;
      counters: SourceCounters;
      reports: PipelineReport[];
      counts: RequestCountsData;
      overLong: number;
    }
  | { ok: false; error: string };

export interface BackfillOptions {
  readonly files: readonly FileInput[];
  /** The saved positions (undefined: none), as the tailer takes them. */
  readonly resume: readonly FilePosition[] | undefined;
  readonly fromStart: boolean;
  readonly threads: number;
  /** Unread bytes below which a file is left to the tailer. */
  readonly minBytes: number;
  readonly maxLineBytes: number;
  readonly storeOptions: BackfillJob['store'];
  readonly store: Store;
  readonly pipeline: Pipeline;
  readonly counts: RequestCounts;
  readonly log: (line: string) => void;
}

/** Default of `minBytes`: smaller backlogs are read faster than worker threads start. */
export const BACKFILL_MIN_BYTES = 32 * 1024 * 1024;

interface Plan {
  path: string;
  input: FileInput;
  dev: bigint;
  ino: bigint;
  size: number;
  from: number;
  /** After the last complete line. */
  to: number;
}

/** The files matched now by the inputs' patterns (literal paths that exist, globs expanded). */
async function currentFiles(files: readonly FileInput[]): Promise<[string, FileInput][]> {
  const out: [string, FileInput][] = [];
  const seen = new Set<string>();
  for (const f of files) {
    const p = compilePattern(f.pattern, '/');
    const paths = p.kind === 'literal' ? [p.path] : await globFiles(p);
    for (const path of paths) {
      if (seen.has(path)) continue;
      seen.add(path);
      out.push([path, f]);
    }
  }
  return out;
}

/** The first `n` bytes of a file (its fingerprint is a CRC of them). */
function head(fd: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, b, got, n - got, got);
    if (r === 0) break;
    got += r;
  }
  return b.subarray(0, got);
}

/**
 * Where the tailer would start reading a file (as `createTailer` decides with `resume` and
 * `startAt`), or undefined when it would not read its existing bytes or would report a lost
 * position (left to the tailer).
 */
function startOf(
  path: string,
  dev: bigint,
  ino: bigint,
  size: number,
  fd: number,
  o: BackfillOptions,
): number | undefined {
  const saved = o.resume?.find((p) => p.dev === String(dev) && p.ino === String(ino));
  if (saved) {
    if (size < saved.offset) return undefined;
    const h = head(fd, saved.fpLen);
    return h.length === saved.fpLen && crc32(h) === saved.fp ? saved.offset : undefined;
  }
  if (o.resume?.some((p) => p.path === path)) return 0; // new since the positions
  return o.fromStart ? 0 : undefined;
}

/** The offset just after the first `\n` at or after `at` (and before `limit`), or -1. */
function lineEndAfter(fd: number, at: number, limit: number): number {
  const b = Buffer.allocUnsafe(64 * 1024);
  for (let pos = at; pos < limit; ) {
    const n = readSync(fd, b, 0, Math.min(b.length, limit - pos), pos);
    if (n === 0) break;
    const nl = b.subarray(0, n).indexOf(0x0a);
    if (nl !== -1) return pos + nl + 1;
    pos += n;
  }
  return -1;
}

/** The offset just after the last `\n` before `size` (and after `from`), or `from`. */
function lastLineEnd(fd: number, from: number, size: number): number {
  const b = Buffer.allocUnsafe(64 * 1024);
  for (let end = size; end > from; ) {
    const start = Math.max(from, end - b.length);
    const n = readSync(fd, b, 0, end - start, start);
    const nl = b.subarray(0, n).lastIndexOf(0x0a);
    if (nl !== -1) return start + nl + 1;
    end = start;
  }
  return from;
}

/** Splits `[from, to)` at line ends into at most `parts` ranges. */
function split(fd: number, from: number, to: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  let start = from;
  for (let k = 1; k < parts && start < to; k++) {
    const cut = lineEndAfter(fd, Math.max(start, from + Math.floor(((to - from) * k) / parts)), to);
    if (cut === -1 || cut >= to) break;
    if (cut > start) out.push([start, cut]);
    start = cut;
  }
  if (start < to) out.push([start, to]);
  return out;
}

function runWorker(job: BackfillJob): Promise<BackfillResult> {
  const url = new URL(
    import.meta.url.endsWith('.ts') ? './backfill-worker.ts' : './backfill-worker.js',
    import.meta.url,
  );
  return new Promise((resolve) => {
    const w = new Worker(url, { workerData: job });
    let done = false;
    w.once('message', (r: BackfillResult) => {
      done = true;
      resolve(r);
    });
    w.once('error', (e) => {
      done = true;
      resolve({ ok: false, error: e.message });
    });
    w.once('exit', (code) => {
      if (!done) resolve({ ok: false, error: `worker exited with code ${code}` });
    });
  });
}

/**
 * Counts the unread part of every large file in parallel (see the module doc) and returns the
 * positions the tailer starts from: `resume` with each file read here at the end of its parts.
 * Returns `resume` unchanged when no file qualifies or `threads` < 2.
 */
export async function backfill(o: BackfillOptions): Promise<readonly FilePosition[] | undefined> {
  if (o.threads < 2) return o.resume;
  const plans: Plan[] = [];
  for (const [path, input] of await currentFiles(o.files)) {
    if (input.source.recipe === undefined) continue;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      continue; // the tailer reports it
    }
    try {
      const st = statSync(path, { bigint: true });
      if (!st.isFile()) continue;
      const size = Number(st.size);
      const from = startOf(path, st.dev, st.ino, size, fd, o);
      if (from === undefined || size - from < o.minBytes) continue;
      const to = lastLineEnd(fd, from, size);
      if (to - from < o.minBytes) continue;
      plans.push({ path, input, dev: st.dev, ino: st.ino, size, from, to });
    } finally {
      closeSync(fd);
    }
  }
  if (plans.length === 0) return o.resume;
  const positions = [...(o.resume ?? [])];
  for (const p of plans) {
    const fd = openSync(p.path, 'r');
    let ranges: [number, number][];
    let fingerprint: Buffer;
    try {
      ranges = split(fd, p.from, p.to, o.threads);
      fingerprint = head(fd, Math.min(p.size, FINGERPRINT_BYTES));
    } finally {
      closeSync(fd);
    }
    const t0 = performance.now();
    o.log(
      `${p.path}: reading bytes ${p.from}–${p.to} (${((p.to - p.from) / 1048576).toFixed(0)} MB) in ${ranges.length} parts on ${ranges.length} threads`,
    );
    const src = p.input.source;
    const results = await Promise.all(
      ranges.map(([from, to]) =>
        runWorker({
          path: p.path,
          from,
          to,
          recipe: src.recipe as FormatRecipe,
          name: src.name,
          ...(src.website === undefined ? {} : { website: src.website }),
          store: o.storeOptions,
          maxLineBytes: o.maxLineBytes,
        }),
      ),
    );
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) {
      o.log(`${p.path}: parallel read failed (${failed.error}); reading it on one thread`);
      continue;
    }
    let lines = 0;
    results.forEach((r, k) => {
      if (!r.ok) return;
      o.store.absorb(r.state, r.stats);
      o.pipeline.absorb(p.path, r.counters);
      o.counts.absorb(r.counts);
      lines += r.counters.lines;
      for (const rep of r.reports)
        o.log(`${p.path}: line ${rep.line} of the part from byte ${ranges[k]?.[0]}: ${rep.message}`);
      if (r.overLong > 0)
        o.log(`${p.path}: ${r.overLong} line(s) longer than ${o.maxLineBytes} bytes skipped`);
    });
    const at = positions.findIndex((q) => q.dev === String(p.dev) && q.ino === String(p.ino));
    const pos: FilePosition = {
      path: p.path,
      dev: String(p.dev),
      ino: String(p.ino),
      offset: p.to,
      fpLen: fingerprint.length,
      fp: crc32(fingerprint),
    };
    if (at === -1) positions.push(pos);
    else positions[at] = pos;
    const s = (performance.now() - t0) / 1000;
    o.log(`${p.path}: ${lines} line(s) counted in ${s.toFixed(1)} s (${Math.round(lines / s)} lines/s)`);
  }
  return positions;
}
