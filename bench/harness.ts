/**
 * What every throughput benchmark shares: the median of several runs, measured in one process.
 * @module
 */

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Runs `fn` `runs` times; each run handles `count` items and returns a sink value (so the work
 * cannot be optimised away). Prints and returns the median rate in items/s.
 */
export function measure(label: string, count: number, fn: () => number, runs: number, width = 44): number {
  const rates: number[] = [];
  let sink = 0;
  for (let r = 0; r < runs; r++) {
    const t = process.hrtime.bigint();
    sink += fn();
    rates.push(count / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  const m = median(rates);
  console.log(
    `${label.padEnd(width)} ${Math.round(m).toLocaleString('en-US').padStart(12)} lines/s  (sink ${sink})`,
  );
  return m;
}
