/**
 * Aggregator merge cost: N simulated collectors each hand over a full 50 000-entry snapshot
 * every minute; measures the CPU per snapshot, RSS, and TopN latency on the merged view.
 * (The aggregator keeps one store per collector today, so RSS grows with the fleet.)
 *
 *   COLLECTORS=10 MINUTES=10 node --expose-gc bench/aggregator.bench.ts
 * @module
 */
import { type Member, MergedBackend } from '../src/aggregator/merged-backend.ts';
import { Store } from '../src/store/store.ts';

const COLLECTORS = Number(process.env.COLLECTORS ?? 10);
const MINUTES = Number(process.env.MINUTES ?? 10);
const ENTRIES = 50_000;
const gc = (globalThis as { gc?: () => void }).gc;

const members: Member[] = Array.from({ length: COLLECTORS }, (_, i) => ({
  address: `c${i}:9090`,
  source: `c${i}`,
  state: 'up',
  lastSnapshot: 0,
  failures: 0,
  store: new Store({ external: true }),
  files: [],
  linesRead: 0,
  parseErrors: 0,
  droppedKeys: 0,
  malformed: 0,
}));
const backend = new MergedBackend('agg', 'bench', members);

function snapshot(c: number, minute: number) {
  const entries = [];
  for (let e = 0; e < ENTRIES; e++) {
    const k = (e * 7919 + minute * 104729 + c * 15485863) % 400_000;
    entries.push({
      labels: [
        `site${k % 500}.example`,
        `10.${(k >>> 8) & 255}.${k & 255}.0/24`,
        `/item/${k % 40_000}`,
        '200',
        '',
        'GET',
      ],
      requests: 1 + (k % 13),
      bytes: 100,
      time: 0.01,
    });
  }
  return entries;
}

const start = 1_795_000_020 - (1_795_000_020 % 300);
const perSnapshot: number[] = [];
for (let m = 0; m < MINUTES; m++) {
  for (let c = 0; c < COLLECTORS; c++) {
    const entries = snapshot(c, m);
    const t = process.hrtime.bigint();
    (members[c] as Member).store.ingestBucket(start + m * 60, 60, entries, {
      requests: ENTRIES,
      bytes: 0,
      time: 0,
    });
    perSnapshot.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}
gc?.();
perSnapshot.sort((a, b) => a - b);
const median = perSnapshot[Math.floor(perSnapshot.length / 2)] as number;
const rss = process.memoryUsage().rss / 1048576;
const q: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  backend.topN({ groupBy: 'website', window: '60m', n: 10, filter: { status: { op: '>=', value: 200 } } });
  q.push(performance.now() - t);
}
q.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    collectors: COLLECTORS,
    minutes: MINUTES,
    snapshotMs: {
      median: +median.toFixed(1),
      p99: +(perSnapshot[Math.floor(perSnapshot.length * 0.99)] as number).toFixed(1),
    },
    cpuPerMinuteMs: +(median * COLLECTORS).toFixed(0),
    rssMB: Math.round(rss),
    topN60mMs: { p50: +(q[10] as number).toFixed(1), p99: +(q[19] as number).toFixed(1) },
  }),
);
