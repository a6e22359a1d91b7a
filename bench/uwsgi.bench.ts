/**
 * uWSGI dialect throughput on one core: parse and render lines/s for the `uwsgi-default`
 * (uWSGI's built-in request line) and `apache-combined` presets over a generated 1M-line log
 * (the records of bench/generate.ts, deterministic), with the nginx `combined` parser on the same
 * requests in the same run, so the ratio is comparable across machines. Each measurement runs
 * RUNS times (default 5) and reports the median. The built-in line has 20 fields (14 of them
 * integers) against the 8 of `combined` and 10 of `apache-combined`, so the ratio per field is
 * printed too.
 *
 *   node bench/uwsgi.bench.ts                 # LINES=1000000 RUNS=5
 *   LINES=200000 RUNS=3 node bench/uwsgi.bench.ts
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { LineParseError } from '../src/format/errors.ts';
import { compileNginx } from '../src/format/nginx/compile.ts';
import { NGINX_COMBINED } from '../src/format/nginx/presets.ts';
import type { CompiledFormat, Fields } from '../src/format/types.ts';
import { compileUwsgiPreset } from '../src/format/uwsgi/compile.ts';
import { records } from './generate.ts';
import { measure as measureRuns } from './harness.ts';

const LINES = Number(process.env.LINES ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 5);
const measure = (label: string, count: number, fn: () => number) => measureRuns(label, count, fn, RUNS);

/** The generator's request records, with the uWSGI logvar names filled in too. */
function* requests(count: number): Generator<Fields> {
  let i = 0;
  for (const r of records(count)) {
    i++;
    const hsize = 150 + (i % 90);
    const rsize = r.body_bytes_sent as number;
    yield {
      ...r,
      // uWSGI names
      addr: r.remote_addr ?? null,
      user: null,
      ltime: r.time_local ?? null,
      ctime: r.time_local ?? null,
      method: r.request_method ?? null,
      uri: r.request_uri ?? null,
      proto: 'HTTP/1.1',
      size: hsize + rsize,
      hsize,
      rsize,
      referer: r.http_referer ?? null,
      uagent: r.http_user_agent ?? null,
      pid: 4242,
      app: 0,
      app_req: i,
      req: i,
      vars: 20 + (i % 9),
      pktsize: 300 + (i % 700),
      msecs: Math.floor((r.request_time as number) * 1000),
      via: null,
      headers: 3 + (i % 4),
      switches: 1,
      core: 0,
    };
  }
}

function loadLines(name: string, fmt: CompiledFormat): string[] {
  mkdirSync(new URL('./data/', import.meta.url), { recursive: true });
  const file = new URL(`./data/${name}-${LINES}.log`, import.meta.url);
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    const parts: string[] = [];
    for (const rec of requests(LINES)) parts.push(fmt.render(rec));
    text = `${parts.join('\n')}\n`;
    writeFileSync(file, text, 'latin1');
  }
  const lines = text.split('\n');
  lines.pop();
  for (const line of lines.slice(0, 1000)) {
    const r = fmt.parse(line);
    if (r instanceof LineParseError) throw new Error(`${name}: generated line does not parse: ${r.message}`);
  }
  return lines;
}

const LAYOUTS: Record<string, () => CompiledFormat> = {
  'nginx combined': () => compileNginx(NGINX_COMBINED, { utcOffset: 0 }),
  'uwsgi apache-combined': () => compileUwsgiPreset('apache-combined', { utcOffset: 0 }),
  'uwsgi uwsgi-default': () => compileUwsgiPreset('uwsgi-default', { utcOffset: 0 }),
};
const FILES: Record<string, string> = {
  // The same file as bench/format.bench.ts's `combined` (same records, same format).
  'nginx combined': 'combined',
  'uwsgi apache-combined': 'uwsgi-apache-combined',
  'uwsgi uwsgi-default': 'uwsgi-default',
};

const results: Record<string, number> = {};
for (const [name, make] of Object.entries(LAYOUTS)) {
  const fmt = make();
  const lines = loadLines(FILES[name] as string, fmt);
  results[`${name} parse`] = measure(`${name}: parse (typed fields)`, lines.length, () => {
    let n = 0;
    for (let i = 0; i < lines.length; i++) {
      const r = fmt.parse(lines[i] as string);
      if (!(r instanceof LineParseError)) n++;
    }
    return n;
  });
  // Records for rendering are parsed by a separate compilation: parse results that are kept
  // alive would teach V8 to pretenure the measured parser's allocations (see bench/RESULTS.md).
  const keep = make();
  const recs = lines.map((line) => keep.parse(line) as Fields);
  results[`${name} render`] = measure(`${name}: render`, recs.length, () => {
    let n = 0;
    for (let i = 0; i < recs.length; i++) n += fmt.render(recs[i] as Fields).length;
    return n;
  });
}
const base = results['nginx combined parse'] as number;
console.log('');
const FIELDS: Record<string, number> = {
  'nginx combined': 8,
  'uwsgi apache-combined': 10,
  'uwsgi uwsgi-default': 20,
};
for (const name of ['uwsgi apache-combined', 'uwsgi uwsgi-default']) {
  const p = results[`${name} parse`] as number;
  const perField = (base / p) * ((FIELDS['nginx combined'] as number) / (FIELDS[name] as number));
  console.log(
    `${name}: parse takes ${(base / p).toFixed(2)}× the time of nginx combined per line (goal ≤ 1.5×), ` +
      `${perField.toFixed(2)}× per field`,
  );
}
console.log(
  `\nnode ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, ${LINES} lines, median of ${RUNS}`,
);
console.log(JSON.stringify(results));
