/**
 * Aggregator merge cost: N simulated collectors each hand over a full 50 000-entry snapshot
 * every minute, in the columnar form the aggregator asks for (dictionary deltas per stream: the
 * whole vocabulary in a collector's first minute, no new values after).
 * Measured per snapshot: protobuf decode (as the gRPC client does), dictionary update and the
 * merge into the aggregator's one merged store; per minute: sealing the merged minute (and
 * folding periods). Then RSS after a full GC, and TopN latency on the merged view.
 *
 *   COLLECTORS=50 MINUTES=65 npm run bench:aggregator   (the npm script runs Node as bin/logtally starts the aggregator: its V8 flag and glibc malloc settings)
 * @module
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { SnapshotSchema } from '../src/gen/logtally/v1/logtally_pb.ts';
import { ColumnEncoder, type ColumnsData, decodeColumns } from '../src/rpc/columns.ts';
import { snapshotMessage } from '../src/rpc/server.ts';
import { type Bucket, sealBucket } from '../src/store/bucket.ts';
import { D, DIMENSIONS } from '../src/store/dimensions.ts';
import { Interner } from '../src/store/interner.ts';
import { MergedStore } from '../src/store/merged-store.ts';
import { RemoteDictionary } from '../src/store/remote-dictionary.ts';
import { TupleTable } from '../src/store/tuple-table.ts';

const COLLECTORS = Number(process.env.COLLECTORS ?? 50);
const MINUTES = Number(process.env.MINUTES ?? 65);
const ENTRIES = 50_000;
/** Distinct minutes generated up front (each collector-minute uses one, with its own start). */
const DISTINCT = 20;
const gc = (globalThis as { gc?: () => void }).gc;

// The collectors' side: one vocabulary (a fleet serves the same sites), a bucket per pattern.
const senderInterners = DIMENSIONS.map(() => new Interner());
function bucketFor(seed: number): Bucket {
  const t = new TupleTable(ENTRIES, ENTRIES);
  const k6 = new Uint32Array(D);
  for (let e = 0; e < ENTRIES; e++) {
    const k = (e * 7919 + seed * 15485863) % 400_000;
    const labels = [
      `site${k % 500}.example`,
      `10.${(k >>> 8) & 255}.${k & 255}.0/24`,
      `/item/${k % 40_000}`,
      k % 17 === 0 ? '404' : '200',
      '',
      'GET',
    ];
    labels.forEach((v, d) => {
      const id = (senderInterners[d] as Interner).intern(v);
      (senderInterners[d] as Interner).acquire(id);
      k6[d] = id;
    });
    const n = 1 + (k % 13);
    t.add(k6, 0, n, 100 * n, 0.01);
  }
  return sealBucket(t, 0, 60, ENTRIES, { requests: ENTRIES * 7, bytes: ENTRIES * 700, time: ENTRIES * 0.01 });
}
const buckets = Array.from({ length: DISTINCT }, (_, i) => bucketFor(i));
// Each collector's stream sends every value once: its first minute carries the whole dictionary
// (the worst case, measured apart), later minutes none (steady state with no new values).
const encoder = new ColumnEncoder(senderInterners);
const firstColumns = buckets.map((b) => encoder.encode(b));
const fullDictionary = DIMENSIONS.map((_, d) => {
  const ids: number[] = [];
  const values: string[] = [];
  for (const c of firstColumns) {
    ids.push(...(c.dictionary[d]?.ids ?? []));
    values.push(...(c.dictionary[d]?.values ?? []));
  }
  return { ids, values };
});
const steadyColumns = buckets.map((b) => encoder.encode(b));

const members = Array.from({ length: COLLECTORS }, (_, i) => `c${i}:9090`);
const start = 1_795_000_200;
const store = new MergedStore({ now: () => (start + MINUTES * 60) * 1000 });
const dictionaries = members.map(() => new RemoteDictionary(store.interners));
const perSnapshot: number[] = [];
const perMinute: number[] = [];
const sealMs: number[] = [];
let wireBytes = 0;
let measuredCpu = 0;
const cpuPerMinute: number[] = [];
for (let m = 0; m < MINUTES; m++) {
  // The collectors' side (unmeasured): a message as it arrives on the wire.
  const wire = (c: number) => {
    const b = buckets[(c + m * 7) % DISTINCT] as Bucket;
    return toBinary(
      SnapshotSchema,
      snapshotMessage({
        source: `c${c}`,
        start: start + m * 60,
        span: 60,
        entries: [],
        totalRequests: b.totalRequests,
        totalBytes: b.totalBytes,
        totalTime: b.totalTime,
        columns: {
          ...(steadyColumns[(c + m * 7) % DISTINCT] as ColumnsData),
          ...(m === 0 ? { dictionary: fullDictionary } : {}),
        },
      }),
    );
  };
  let minute = 0;
  const cpuBefore = measuredCpu;
  for (let c = 0; c < COLLECTORS; c++) {
    const bytes = wire(c);
    if (m === MINUTES - 1) wireBytes += bytes.byteLength;
    const cpu = process.cpuUsage();
    const t = process.hrtime.bigint();
    const s = fromBinary(SnapshotSchema, bytes);
    const dict = dictionaries[c] as RemoteDictionary;
    if (!s.columns) throw new Error('no columns');
    dict.apply(s.columns.dictionary);
    store.addColumns(
      members[c] as string,
      dict,
      s.start,
      s.span,
      decodeColumns(s.columns, (n) => store.columnBuffers(n)),
      {
        requests: s.totalCount,
        bytes: s.totalBytes,
        time: s.totalTime,
      },
    );
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    const used = process.cpuUsage(cpu);
    measuredCpu += (used.user + used.system) / 1000;
    perSnapshot.push(ms);
    minute += ms;
  }
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  store.seal(members);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const used = process.cpuUsage(cpu);
  measuredCpu += (used.user + used.system) / 1000;
  sealMs.push(ms);
  perMinute.push(minute + ms);
  cpuPerMinute.push(measuredCpu - cpuBefore);
}
gc?.();
const mem = process.memoryUsage();
const rss = mem.rss / 1048576;
const q = (window: '60m' | '24h') => {
  const out: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    store.topN({ groupBy: 'uri', window, n: 10, filter: { status: { op: '>=', value: 200 } } });
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
};
const q60 = q('60m');
const q24 = q('24h');
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
const p99 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.99)] as number;
// Steady state: minutes after the first (the first carries every dictionary value once).
const steady = perMinute.slice(1);
console.log(
  JSON.stringify({
    collectors: COLLECTORS,
    minutes: MINUTES,
    wireMBPerSnapshot: +(wireBytes / COLLECTORS / 1048576).toFixed(2),
    snapshotMs: { median: +median(perSnapshot).toFixed(1), p99: +p99(perSnapshot).toFixed(1) },
    sealMs: { median: +median(sealMs).toFixed(1), p99: +p99(sealMs).toFixed(1) },
    wallPerMinuteMs: {
      first: Math.round(perMinute[0] as number),
      median: Math.round(median(steady)),
      p99: Math.round(p99(steady)),
    },
    cpuPerMinuteMs: {
      first: Math.round(cpuPerMinute[0] as number),
      median: Math.round(median(cpuPerMinute.slice(1))),
      mean: Math.round(measuredCpu / MINUTES),
    },
    rssMB: Math.round(rss),
    heapMB: Math.round(mem.heapUsed / 1048576),
    arrayBuffersMB: Math.round(mem.arrayBuffers / 1048576),
    topN60mMs: { p50: +(q60[10] as number).toFixed(1), p99: +(q60[19] as number).toFixed(1) },
    topN24hMs: { p50: +(q24[10] as number).toFixed(1), p99: +(q24[19] as number).toFixed(1) },
  }),
);
