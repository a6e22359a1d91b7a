/**
 * Format engine throughput on one core: parse and render lines/s for `combined` and `logtail`
 * over a generated 1M-line log (bench/generate.ts, deterministic). Each measurement runs
 * RUNS times (default 5) and reports the median. A naive regular-expression parser of the
 * same layout runs in the same process as a baseline, so the ratio is comparable across
 * machines.
 *
 *   npm run bench                # LINES=1000000 RUNS=5
 *   LINES=200000 RUNS=3 npm run bench
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { LineParseError } from '../src/format/errors.ts';
import { compileNginx } from '../src/format/nginx/compile.ts';
import type { Fields } from '../src/format/nginx/types.ts';
import { BENCH_FORMATS, records } from './generate.ts';
import { measure as measureRuns } from './harness.ts';

const LINES = Number(process.env.LINES ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 5);
const measure = (label: string, count: number, fn: () => number) => measureRuns(label, count, fn, RUNS);

/** A hand-written regex of the combined layout, as a log-analysis script would use. */
const NAIVE_COMBINED = /^(\S+) - (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$/;

const results: Record<string, number> = {};
mkdirSync(new URL('./data/', import.meta.url), { recursive: true });
for (const name of ['logtail', 'combined'] as const) {
  const fmt = compileNginx(BENCH_FORMATS[name], { utcOffset: 0 });
  const file = new URL(`./data/${name}-${LINES}.log`, import.meta.url);
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    const parts: string[] = [];
    for (const rec of records(LINES)) parts.push(fmt.render(rec));
    text = `${parts.join('\n')}\n`;
    writeFileSync(file, text, 'latin1');
  }
  const lines = text.split('\n');
  lines.pop();
  for (const line of lines.slice(0, 1000)) {
    const r = fmt.parse(line);
    if (r instanceof LineParseError) throw new Error(`${name}: generated line does not parse: ${r.message}`);
  }
  results[`${name} parse`] = measure(`${name}: parse (typed fields)`, lines.length, () => {
    let n = 0;
    for (let i = 0; i < lines.length; i++) {
      const r = fmt.parse(lines[i] as string);
      if (!(r instanceof LineParseError)) n++;
    }
    return n;
  });
  results[`${name} split`] = measure(`${name}: split (raw field text)`, lines.length, () => {
    let n = 0;
    for (let i = 0; i < lines.length; i++) {
      const r = fmt.split(lines[i] as string);
      if (!(r instanceof LineParseError)) n++;
    }
    return n;
  });
  if (name === 'combined') {
    results['combined naive regex'] = measure(
      'combined: naive regex baseline (untyped)',
      lines.length,
      () => {
        let n = 0;
        for (let i = 0; i < lines.length; i++) if (NAIVE_COMBINED.exec(lines[i] as string)) n++;
        return n;
      },
    );
  } else {
    results['logtail naive split'] = measure(
      "logtail: naive split('\\t') baseline (untyped)",
      lines.length,
      () => {
        let n = 0;
        for (let i = 0; i < lines.length; i++) if ((lines[i] as string).split('\t').length === 8) n++;
        return n;
      },
    );
  }
  // Records for rendering are parsed by a separate compilation: parse results that are kept
  // alive would teach V8 to pretenure the measured parser's allocations, which a real consumer
  // (records die young) never sees.
  const keep = compileNginx(BENCH_FORMATS[name], { utcOffset: 0 });
  const recs = lines.map((line) => keep.parse(line) as Fields);
  results[`${name} render`] = measure(`${name}: render`, recs.length, () => {
    let n = 0;
    for (let i = 0; i < recs.length; i++) n += fmt.render(recs[i] as Fields).length;
    return n;
  });
}
console.log(
  `\nnode ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, ${LINES} lines, median of ${RUNS}`,
);
console.log(JSON.stringify(results));
