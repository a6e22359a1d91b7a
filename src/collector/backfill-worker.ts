/**
 * A worker thread of ./backfill.ts: counts the lines of one part of a log (`workerData`, a
 * BackfillJob) into a store of its own, as the collector counts them, and posts the store's
 * state, its stats, the line counters, the first reports and the Prometheus counts.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readRange } from '../ingest/read-range.ts';
import { transferList } from '../store/release.ts';
import { Store } from '../store/store.ts';
import type { BackfillJob, BackfillResult } from './backfill.ts';
import { compileRecipe } from './inputs.ts';
import { countInto, Pipeline, type PipelineReport } from './pipeline.ts';
import { RequestCounts } from './request-counts.ts';

async function run(job: BackfillJob): Promise<BackfillResult> {
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
  // The collector's descriptor (threads share them): the file it planned, even if renamed since.
  const r = await readRange(job.fd, job.from, job.to, {
    maxLineBytes: job.maxLineBytes,
    deliver: (batch) => pipeline.feed(batch, job.path, src),
  });
  if (r.end !== job.to) return { ok: false, error: `the file ended before byte ${job.to} (truncated?)` };
  return {
    ok: true,
    state: store.exportState(),
    stats: store.stats(),
    counters: pipeline.counter(job.path),
    reports,
    counts: counts.export(),
    overLong: r.overLong,
  };
}

run(workerData as BackfillJob).then(
  // The state's buffers are moved, not copied (its store takes them bucket by bucket and gives each
  // back as it goes: `Store.absorb`); this thread ends right after, with nothing left to read them.
  (result) => parentPort?.postMessage(result, result.ok ? transferList(result.state) : []),
  (e: Error) => parentPort?.postMessage({ ok: false, error: e.stack ?? String(e) } satisfies BackfillResult),
);
