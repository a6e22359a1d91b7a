/**
 * Envoy dialect throughput on one core: parse and render lines/s for Envoy's default format and
 * a `typed_json_format` dictionary, over a generated deterministic log (the request mix of
 * bench/generate.ts, seed 42, mapped onto Envoy operators). The nginx `combined` parser and
 * renderer run in the same process over the same requests, so the ratio is comparable across
 * machines (issue 3's goal: within 1.5× of nginx `combined`). Each measurement runs RUNS times
 * (default 5) and reports the median.
 *
 *   node bench/envoy.bench.ts                 # LINES=1000000 RUNS=5
 *   LINES=200000 RUNS=3 node bench/envoy.bench.ts
 *
 * As in bench/format.bench.ts, records kept alive for the render runs come from a separately
 * compiled parser: retained results would teach V8 to pretenure the measured parser's
 * allocation site, which a real consumer (records die young) never sees.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { compileEnvoyPreset } from '../src/format/envoy/compile.ts';
import { compileEnvoyJson } from '../src/format/envoy/dictionary.ts';
import { LineParseError } from '../src/format/errors.ts';
import { compileNginx } from '../src/format/nginx/compile.ts';
import type { CompiledFormat, Fields } from '../src/format/types.ts';
import { BENCH_FORMATS, prng, records } from './generate.ts';
import { median } from './harness.ts';

const LINES = Number(process.env.LINES ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 5);

/** An Istio-style `typed_json_format`: the default format's operators as typed JSON keys. */
export const BENCH_TYPED_JSON = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
} as const;

/** The requests of bench/generate.ts as Envoy operator values. */
export function* envoyRecords(count: number, seed = 42): Generator<Fields> {
  const rand = prng(seed ^ 0x0e17);
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rand() * 16)];
    return s;
  };
  for (const r of records(count, seed)) {
    const status = r.status as number;
    const duration = Math.round((r.request_time as number) * 1000);
    const upstream = status !== 429 && status !== 403;
    yield {
      START_TIME: r.msec as number,
      'REQ(:METHOD)': r.request_method as string,
      'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': r.request_uri as string,
      PROTOCOL: rand() < 0.3 ? 'HTTP/2' : 'HTTP/1.1',
      RESPONSE_CODE: status,
      RESPONSE_FLAGS: status === 503 ? 'UF,URX' : status === 429 ? 'RL' : status === 504 ? 'UT' : null,
      BYTES_RECEIVED:
        r.request_method === 'POST' || r.request_method === 'PUT' ? Math.floor(rand() * 4000) : 0,
      BYTES_SENT: r.body_bytes_sent as number,
      DURATION: duration,
      'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': upstream ? String(Math.max(0, duration - 1)) : null,
      'REQ(X-FORWARDED-FOR)': r.remote_addr as string,
      'REQ(USER-AGENT)': r.http_user_agent as string,
      'REQ(X-REQUEST-ID)': `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`,
      'REQ(:AUTHORITY)': r.host as string,
      UPSTREAM_HOST: upstream ? `10.0.${Math.floor(rand() * 4)}.${1 + Math.floor(rand() * 30)}:8080` : null,
    };
  }
}

/** Reads the cached log, or writes it from `gen` (one rendered record per line). */
function logLines(name: string, fmt: CompiledFormat, gen: () => Iterable<Fields>): string[] {
  mkdirSync(new URL('./data/', import.meta.url), { recursive: true });
  const file = new URL(`./data/${name}-${LINES}.log`, import.meta.url);
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    const parts: string[] = [];
    for (const rec of gen()) parts.push(fmt.render(rec));
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

interface BenchSet {
  readonly label: string;
  readonly make: () => CompiledFormat;
  readonly lines: readonly string[];
  readonly parse: number[];
  readonly render: number[];
}

let sink = 0;

function timed(count: number, fn: () => number): number {
  const t = process.hrtime.bigint();
  sink += fn();
  return count / (Number(process.hrtime.bigint() - t) / 1e9);
}

function parseRun(s: BenchSet, fmt: CompiledFormat): void {
  const lines = s.lines;
  s.parse.push(
    timed(lines.length, () => {
      let n = 0;
      for (let i = 0; i < lines.length; i++)
        if (!(fmt.parse(lines[i] as string) instanceof LineParseError)) n++;
      return n;
    }),
  );
}

function renderRun(s: BenchSet, fmt: CompiledFormat, recs: readonly Fields[]): void {
  s.render.push(
    timed(recs.length, () => {
      let n = 0;
      for (let i = 0; i < recs.length; i++) n += fmt.render(recs[i] as Fields).length;
      return n;
    }),
  );
}

/**
 * Measures one Envoy set against nginx `combined`, interleaved round by round so that a change
 * in machine load hits both alike. Only these two logs are in memory.
 */
function pair(label: string, file: string, make: () => CompiledFormat): [BenchSet, BenchSet] {
  const nginxMake = () => compileNginx(BENCH_FORMATS.combined, { utcOffset: 0 });
  const sets: [BenchSet, BenchSet] = [
    {
      label: 'nginx combined',
      make: nginxMake,
      lines: logLines('combined', nginxMake(), () => records(LINES)),
      parse: [],
      render: [],
    },
    { label, make, lines: logLines(file, make(), () => envoyRecords(LINES)), parse: [], render: [] },
  ];
  const fmts = sets.map((s) => s.make());
  for (let r = 0; r < RUNS; r++) {
    for (let i = 0; i < sets.length; i++) parseRun(sets[i] as BenchSet, fmts[i] as CompiledFormat);
  }
  // Records for rendering come from separate compilations (see the module documentation).
  const recs = sets.map((s) => {
    const keep = s.make();
    return s.lines.map((line) => keep.parse(line) as Fields);
  });
  for (let r = 0; r < RUNS; r++) {
    for (let i = 0; i < sets.length; i++) {
      renderRun(sets[i] as BenchSet, fmts[i] as CompiledFormat, recs[i] as Fields[]);
    }
  }
  return sets;
}

const pairs = [
  pair('envoy default', 'envoy-default', () => compileEnvoyPreset('envoy-default')),
  pair('envoy typed_json', 'envoy-typed_json', () => compileEnvoyJson(BENCH_TYPED_JSON, { typed: true })),
];
const fmtRate = (x: number) => Math.round(x).toLocaleString('en-US').padStart(12);
const results: Record<string, number> = {};
console.log(
  `${'layout'.padEnd(18)} ${'parse lines/s'.padStart(14)} ${'render lines/s'.padStart(14)}   vs nginx combined in the same rounds`,
);
for (const [base, s] of pairs) {
  for (const x of [base, s]) {
    const p = median(x.parse);
    const r = median(x.render);
    let note = '';
    if (x === s) {
      const pr = median(s.parse.map((v, i) => (base.parse[i] as number) / v));
      const rr = median(s.render.map((v, i) => (base.render[i] as number) / v));
      results[`${s.label} parse ratio`] = pr;
      results[`${s.label} render ratio`] = rr;
      note = `parse ${pr.toFixed(2)}×, render ${rr.toFixed(2)}× (median of per-round ratios)`;
    } else {
      results[`${x.label} parse (with ${s.label})`] = p;
      results[`${x.label} render (with ${s.label})`] = r;
    }
    if (x === s) {
      results[`${x.label} parse`] = p;
      results[`${x.label} render`] = r;
    }
    console.log(`${x.label.padEnd(18)} ${fmtRate(p)}   ${fmtRate(r)}   ${note}`);
  }
}
console.log(
  `\nnode ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, ${LINES} lines, median of ${RUNS} (sink ${sink})`,
);
console.log(JSON.stringify(results));
