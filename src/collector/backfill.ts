/**
 * Reading a large unread part of a log on every core (`--threads N`): at start, a file read from
 * its start (`--from-start`) or from a saved position far behind has its unread bytes, up to its
 * last complete line, split at line boundaries into N parts. The collector's own thread reads the
 * first part into its store, as the tailer would (asynchronously: it keeps answering); N - 1
 * worker threads count the others into stores of their own (./backfill-worker.ts), reading the
 * same open file (so a rotation meanwhile cannot swap it). When all are done their counts are
 * merged into the collector's store at once (`Store.absorb`, through the late-line path: every
 * line in the minute of its own time), with their line counters and Prometheus counts, and the
 * tailer goes on from the end of the last part.
 *
 * The position of each file (`positions()`) always matches the counts: during the first part the
 * end of its last line counted, then the end of the parts once merged. A checkpoint at any moment
 * is exact; a worker that fails (or a stop) leaves the rest of the file to the tailer.
 *
 * Live tailing stays on one thread: a server writes far fewer lines a second than one core counts.
 * @module
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { LineBatch } from '../ingest/line-batch.ts';
import { compilePattern, globFiles } from '../ingest/patterns.ts';
import { readRange } from '../ingest/read-range.ts';
import { FINGERPRINT_BYTES, type FilePosition, filePosition, verifyPosition } from '../ingest/tailer.ts';
import { ownState, type Store, type StoreOptions, type StoreState, type StoreStats } from '../store/store.ts';
import type { FileInput } from './inputs.ts';
import type { FormatRecipe, Pipeline, PipelineReport, SourceCounters } from './pipeline.ts';
import type { RequestCounts, RequestCountsData } from './request-counts.ts';

/** What one worker is asked to count. */
export interface BackfillJob {
  /** The file, open in the collector (worker threads share its descriptors). */
  fd: number;
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
  /** Counts the collector's own lines (the tailer's path: batches of one file). */
  readonly feed: (batch: LineBatch, path: string, input: FileInput) => void;
  readonly log: (line: string) => void;
}

/** A parallel read in progress. */
export interface Backfill {
  /** Whether there is anything to read in parallel (else `done` is resolved). */
  readonly active: boolean;
  /** Resolves with the positions the tailer starts from, once done (or stopped). */
  readonly done: Promise<readonly FilePosition[] | undefined>;
  /** The positions that match the counts now (for a checkpoint during the read). */
  positions(): readonly FilePosition[] | undefined;
  /** Stops reading (workers terminated, nothing more merged); `done` then resolves. */
  stop(): Promise<void>;
}

/** Default of `minBytes`: smaller backlogs are read faster than worker threads start. */
export const BACKFILL_MIN_BYTES = 32 * 1024 * 1024;

interface Plan {
  fd: number;
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
    const h = head(fd, saved.fpLen);
    return verifyPosition(saved, h, h.length, size) === 'ok' ? saved.offset : undefined;
  }
  if (o.resume?.some((p) => p.path === path)) return 0; // new since the positions
  return o.fromStart ? 0 : undefined;
}

/** The byte at `at` (-1 past the end). */
function byteAt(fd: number, at: number): number {
  const b = Buffer.alloc(1);
  return readSync(fd, b, 0, 1, at) === 1 ? (b[0] as number) : -1;
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

/** Runs one worker; `workers` holds it while it runs (to terminate it on stop). */
function runWorker(job: BackfillJob, workers: Set<Worker>): Promise<BackfillResult> {
  const url = new URL(
    import.meta.url.endsWith('.ts') ? './backfill-worker.ts' : './backfill-worker.js',
    import.meta.url,
  );
  return new Promise((resolve) => {
    const w = new Worker(url, { workerData: job });
    workers.add(w);
    let done = false;
    const finish = (r: BackfillResult) => {
      if (done) return;
      done = true;
      workers.delete(w);
      resolve(r);
    };
    w.once('message', finish);
    w.once('error', (e) => finish({ ok: false, error: e.message }));
    w.once('exit', (code) => finish({ ok: false, error: `worker exited with code ${code}` }));
  });
}

/** Finds the files worth reading in parallel; their descriptors stay open (closed by the caller). */
async function plan(o: BackfillOptions): Promise<Plan[]> {
  const plans: Plan[] = [];
  const seen = new Set<string>();
  for (const [path, input] of await currentFiles(o.files)) {
    if (input.source.recipe === undefined) continue;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      continue; // the tailer reports it
    }
    let keep = false;
    try {
      const st = fstatSync(fd, { bigint: true });
      // Two names of one file (hard links) are one file, as for the tailer.
      const id = `${st.dev}:${st.ino}`;
      if (!st.isFile() || seen.has(id)) continue;
      seen.add(id);
      const size = Number(st.size);
      let from = startOf(path, st.dev, st.ino, size, fd, o);
      if (from === undefined || size - from < o.minBytes) continue;
      // A saved position inside a line (an over-long line was being skipped): on from the next line.
      if (from > 0 && byteAt(fd, from - 1) !== 0x0a) from = lineEndAfter(fd, from, size);
      if (from === -1) continue;
      const to = lastLineEnd(fd, from, size);
      if (to - from < o.minBytes) continue;
      plans.push({ fd, path, input, dev: st.dev, ino: st.ino, size, from, to });
      keep = true;
    } catch {
      // The tailer reads it and reports what is wrong.
    } finally {
      if (!keep) closeSync(fd);
    }
  }
  return plans;
}

/**
 * Finds the large unread parts and starts counting them in parallel (see the module doc). Without
 * such a file, or with `threads` < 2, the backfill is not `active` and `done` is `resume`.
 */
export async function startBackfill(o: BackfillOptions): Promise<Backfill> {
  const positions = o.resume === undefined ? undefined : [...o.resume];
  let current: FilePosition[] | undefined = positions;
  const workers = new Set<Worker>();
  let stopping = false;
  const setPosition = (p: Plan, offset: number, fp: Buffer) => {
    current ??= [];
    const pos = filePosition(p.path, p.dev, p.ino, offset, fp);
    const at = current.findIndex((q) => q.dev === pos.dev && q.ino === pos.ino);
    if (at === -1) current.push(pos);
    else current[at] = pos;
  };

  /** Reads `[from, to)` of the plan's file here, as the tailer would; returns the end of the last line counted. */
  const readHere = async (p: Plan, from: number, to: number, fp: Buffer): Promise<number> => {
    // The planned descriptor: the same file even if it was renamed since.
    const r = await readRange(p.fd, from, to, {
      maxLineBytes: o.maxLineBytes,
      deliver: (batch) => o.feed(batch, p.path, p.input),
      progress: (end) => setPosition(p, end, fp),
      stopped: () => stopping,
    });
    if (r.overLong > 0) o.log(`${p.path}: ${r.overLong} line(s) longer than ${o.maxLineBytes} bytes skipped`);
    return r.end;
  };

  const plans = o.threads < 2 ? [] : await plan(o);
  const run = async (): Promise<readonly FilePosition[] | undefined> => {
    try {
      for (const p of plans) {
        if (stopping) break;
        const ranges = split(p.fd, p.from, p.to, o.threads);
        const fp = head(p.fd, Math.min(p.size, FINGERPRINT_BYTES));
        const t0 = performance.now();
        o.log(
          `${p.path}: reading bytes ${p.from}–${p.to} (${((p.to - p.from) / 1048576).toFixed(0)} MB) in ${ranges.length} parts on ${ranges.length} threads`,
        );
        const src = p.input.source;
        const linesBefore = o.pipeline.counter(p.path).lines;
        const results = Promise.all(
          ranges.slice(1).map(([from, to]) =>
            runWorker(
              {
                fd: p.fd,
                path: p.path,
                from,
                to,
                recipe: src.recipe as FormatRecipe,
                name: src.name,
                ...(src.website === undefined ? {} : { website: src.website }),
                store: o.storeOptions,
                maxLineBytes: o.maxLineBytes,
              },
              workers,
            ),
          ),
        );
        const [first] = ranges as [[number, number]];
        const end = await readHere(p, first[0], first[1], fp);
        const done = await results;
        const failed = done.find((r) => !r.ok);
        if (stopping || end !== first[1] || (failed && !failed.ok)) {
          if (!stopping)
            o.log(
              `${p.path}: parallel read failed (${failed && !failed.ok ? failed.error : 'the file changed'}); the rest is read on one thread`,
            );
          continue;
        }
        const t1 = performance.now();
        done.forEach((r, k) => {
          if (!r.ok) return;
          // Moved here from the worker (its buffers transferred): the store gives them back as it takes them.
          o.store.absorb(ownState(r.state), r.stats);
          o.pipeline.absorb(p.path, r.counters);
          o.counts.absorb(r.counts);
          for (const rep of r.reports)
            o.log(`${p.path}: line ${rep.line} of the part from byte ${ranges[k + 1]?.[0]}: ${rep.message}`);
          if (r.overLong > 0)
            o.log(`${p.path}: ${r.overLong} line(s) longer than ${o.maxLineBytes} bytes skipped`);
        });
        setPosition(p, p.to, fp);
        const lines = o.pipeline.counter(p.path).lines - linesBefore;
        const sec = (performance.now() - t0) / 1000;
        o.log(
          `${p.path}: ${lines} line(s) counted in ${sec.toFixed(1)} s (${Math.round(lines / sec)} lines/s; merging the parts ${((performance.now() - t1) / 1000).toFixed(2)} s)`,
        );
      }
    } finally {
      for (const p of plans) closeSync(p.fd);
    }
    return current;
  };
  const done = plans.length === 0 ? Promise.resolve(positions) : run();
  return {
    active: plans.length > 0,
    done,
    positions: () => current,
    async stop() {
      stopping = true;
      await Promise.all([...workers].map((w) => w.terminate()));
      await done.catch(() => undefined);
    },
  };
}
