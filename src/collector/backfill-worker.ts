/**
 * A worker thread of ./backfill.ts: counts the lines of one part of a log (`workerData`, a
 * BackfillJob) into a store of its own, as the collector counts them, and posts the store's
 * state, its stats, the line counters, the first reports and the Prometheus counts.
 * @module
 */
import { readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { LineSplitter } from '../ingest/line-splitter.ts';
import { Store } from '../store/store.ts';
import type { BackfillJob, BackfillResult } from './backfill.ts';
import { compileRecipe } from './inputs.ts';
import { countInto, Pipeline, type PipelineReport } from './pipeline.ts';
import { RequestCounts } from './request-counts.ts';

function run(job: BackfillJob): BackfillResult {
  const src = {
    format: compileRecipe(job.recipe),
    name: job.name,
    ...(job.website === undefined ? {} : { website: job.website }),
  };
  // Not folded: each line in one bucket, which `absorb` counts as the collector would have.
  const store = new Store({ ...job.store, fold: false });
  const counts = new RequestCounts();
  const reports: PipelineReport[] = [];
  const pipeline = new Pipeline(
    store,
    (r) => {
      if (reports.length < 10) reports.push(r);
    },
    countInto(counts, store),
  );
  const splitter = new LineSplitter({ maxLineBytes: job.maxLineBytes });
  // The collector's descriptor (threads share them): the file it planned, even if renamed since.
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let pos = job.from; pos < job.to; ) {
    const n = readSync(job.fd, buf, 0, Math.min(buf.length, job.to - pos), pos);
    if (n === 0) return { ok: false, error: `the file ended at byte ${pos} (truncated?)` };
    splitter.push(buf.subarray(0, n), (batch) => pipeline.feed(batch, job.path, src));
    pos += n;
  }
  return {
    ok: true,
    state: store.exportState(),
    stats: store.stats(),
    counters: pipeline.counter(job.path),
    reports,
    counts: counts.export(),
    overLong: splitter.overLong,
  };
}

let result: BackfillResult;
try {
  result = run(workerData as BackfillJob);
} catch (e) {
  result = { ok: false, error: (e as Error).stack ?? String(e) };
}
parentPort?.postMessage(result);
