/**
 * The collector's store at full caps: every fine bucket holds 50 000 keys, every coarse
 * bucket 5 000, the live minute 100 000. Reports peak RSS, RSS and heap after a full GC, and TopN
 * latency (p50/p99) over the 24h and 60m windows with and without filters.
 *
 *   npm run bench:store                       # KEYS=distinct (every key unique: worst case)
 *   KEYS=vocabulary npm run bench:store       # shared vocabularies
 * (The npm script runs Node as bin/logtally starts the collector and the aggregator: with
 * `--max-semi-space-size=8` and glibc's malloc settings in the environment.)
 * @module
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { Store } from '../src/store/store.ts';
import { addDistinct, fillAtFullCaps } from './fill.ts';

const MODE = process.env.KEYS === 'vocabulary' ? 'vocabulary' : 'distinct';
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;

const clock = { t: 1_795_000_000 };
const store = new Store({ now: () => clock.t });
const t0 = performance.now();
const serial = fillAtFullCaps(store, clock, MODE);
const fillSeconds = (performance.now() - t0) / 1000;
gc?.();
gc?.();
const mem = process.memoryUsage();
const st = store.stats();
console.log(`keys: ${MODE}; filled in ${fillSeconds.toFixed(1)} s (${serial.toLocaleString('en-US')} adds)`);
console.log(
  `buckets fine ${st.fineBuckets}, coarse ${st.coarseBuckets}, live keys ${st.liveKeys}, dropped ${st.droppedKeys}`,
);
console.log(`interned: ${JSON.stringify(st.internedValues)}`);
console.log(
  `heap spaces (committed MB): ${getHeapSpaceStatistics()
    .filter((x) => x.space_size > 1 << 20)
    .map((x) => `${x.space_name} ${(x.space_size / 1048576).toFixed(0)}`)
    .join(', ')}`,
);
console.log(
  `interners: ${mb(store.interners.reduce((n, it) => n + it.memory, 0))} (arena, index, per-id arrays)`,
);
/** The process's peak resident set (VmHWM), not only what is left after a forced GC. */
const peakRss = () =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'latin1'))?.[1] ?? 0) * 1024;
console.log(
  `RSS after GC ${mb(mem.rss)}, peak RSS ${mb(peakRss())}, heap used ${mb(mem.heapUsed)} of ${mb(mem.heapTotal)}, array buffers ${mb(mem.arrayBuffers)}, external ${mb(mem.external)}`,
);

/**
 * The first run (compiling the query code, allocating its scratch arrays: once per process) on
 * its own, then p50 and p99 of the following runs.
 */
function latency(label: string, fn: () => unknown, runs = 60): void {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  const first = xs.shift() as number;
  xs.sort((a, b) => a - b);
  const p = (q: number) => (xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number).toFixed(1);
  console.log(
    `${label.padEnd(48)} first ${first.toFixed(0).padStart(4)} ms  p50 ${p(0.5)} ms  p99 ${p(0.99)} ms`,
  );
}

latency('TopN 24h by website, no filter', () => store.topN({ groupBy: 'website', window: '24h', n: 10 }));
latency('TopN 24h by uri, no filter', () => store.topN({ groupBy: 'uri', window: '24h', n: 10 }));
latency('TopN 24h by prefix, website + status>=400', () =>
  store.topN({
    groupBy: 'prefix',
    window: '24h',
    n: 10,
    filter: { website: 'site7.example.com', status: { op: '>=', value: 400 } },
  }),
);
latency('TopN 24h by uri, uri regex (plain text)', () =>
  store.topN({ groupBy: 'uri', window: '24h', n: 10, filter: { uriRe: '^/p/1' } }),
);
latency('TopN 24h by uri, uri regex (RE2)', () =>
  store.topN({ groupBy: 'uri', window: '24h', n: 10, filter: { uriRe: '^/p/1[0-9]*7$' } }),
);
latency('TopN 60m by website, no filter', () => store.topN({ groupBy: 'website', window: '60m', n: 10 }), 20);
latency('Trend 24h, website filter', () => store.trend('24h', { website: 'site7.example.com' }), 20);
console.log(`peak RSS after the queries ${mb(peakRss())}`);

// The seal of a full minute (100 000 distinct keys: half cut, into coarser keys and residuals),
// minute after minute until a five-minute fold has been timed too.
const seals: string[] = [];
let serialNext = serial;
for (let m = 0; m < 6; m++) {
  for (let i = 0; i < 100_000; i++, serialNext++) addDistinct(store, serialNext);
  const before = store.stats().coarseBuckets;
  clock.t += 60;
  const t = performance.now();
  store.tick();
  const folded = store.stats().coarseBuckets !== before || clock.t % 300 < 60;
  seals.push(`${(performance.now() - t).toFixed(0)} ms${folded ? ' (with the five-minute fold)' : ''}`);
}
console.log(`seal of a full minute: ${seals.join(', ')}`);
