/**
 * Collector ingest throughput on one core: tail → parse → count, reading a generated log from
 * its start (bench/generate.ts, deterministic), for the `logtail` and `combined` layouts, with
 * GoAccess (`apt-get install goaccess`) parsing the same `combined` file in the same run.
 *
 *   LINES=5000000 node bench/collector.bench.ts
 * @module
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { CollectorMetrics } from '../src/collector/metrics.ts';
import { Pipeline } from '../src/collector/pipeline.ts';
import { compileNginx } from '../src/format/nginx/compile.ts';
import { createTailer } from '../src/ingest/tailer.ts';
import { Store } from '../src/store/store.ts';
import { BENCH_FORMATS, records } from './generate.ts';

const LINES = Number(process.env.LINES ?? 5_000_000);
const dataDir = new URL('./data/', import.meta.url);
mkdirSync(dataDir, { recursive: true });

function ensureLog(name: keyof typeof BENCH_FORMATS): string {
  const path = new URL(`./data/${name}-${LINES}.log`, import.meta.url).pathname;
  if (existsSync(path)) return path;
  const fmt = compileNginx(BENCH_FORMATS[name], { utcOffset: 0 });
  // Written in chunks: 5M lines are more than one JavaScript string can hold.
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  let chunk = '';
  for (const rec of records(LINES)) {
    chunk += `${fmt.render(rec)}\n`;
    if (chunk.length > 1 << 22) {
      writeSync(fd, Buffer.from(chunk, 'latin1'));
      chunk = '';
    }
  }
  writeSync(fd, Buffer.from(chunk, 'latin1'));
  closeSync(fd);
  renameSync(tmp, path);
  return path;
}

async function ingest(name: keyof typeof BENCH_FORMATS, path: string): Promise<number> {
  const store = new Store();
  // As in the collector program: Prometheus counters and histograms are fed for every line.
  const metrics = new CollectorMetrics({
    linesRead: () => 0,
    parseErrors: () => 0,
    malformed: () => 0,
    droppedKeys: () => 0,
    syslogDatagrams: () => 0,
    syslogLines: () => 0,
    filesTailed: () => 1,
    linesTooOld: () => 0,
    stateSaveFailures: () => 0,
    stateLastSaved: () => 0,
  });
  const pipeline = new Pipeline(
    store,
    () => {},
    (k) => metrics.observe(k.website, k.method, k.status, k.bytes, k.time, k.upstream),
  );
  const source = { format: compileNginx(BENCH_FORMATS[name]), name };
  const t0 = process.hrtime.bigint();
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const tailer = createTailer({
    patterns: [path],
    startAt: 'beginning',
    onLines(lines, file) {
      pipeline.feed(lines, file, source);
      if (pipeline.linesRead >= LINES) done();
    },
  });
  await tailer.start();
  await finished;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await tailer.stop();
  if (pipeline.parseErrors > 0) throw new Error(`${name}: ${pipeline.parseErrors} parse errors`);
  const st = store.stats();
  console.log(
    `${name.padEnd(9)} ${(LINES / seconds).toFixed(0).padStart(10)} lines/s  (${seconds.toFixed(2)} s, ${(statSync(path).size / seconds / 1048576).toFixed(0)} MB/s, malformed ${st.malformed}, live keys ${st.liveKeys})`,
  );
  return LINES / seconds;
}

function goaccess(path: string): number | undefined {
  const probe = spawnSync('goaccess', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log('goaccess: not installed (apt-get install goaccess)');
    return undefined;
  }
  const out = new URL('./data/goaccess.json', import.meta.url).pathname;
  const t0 = process.hrtime.bigint();
  const r = spawnSync('goaccess', [path, '--log-format=COMBINED', '-o', out, '--no-progress'], {
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`goaccess failed: ${r.stderr}`);
  console.log(
    `goaccess  ${(LINES / seconds).toFixed(0).padStart(10)} lines/s  (${seconds.toFixed(2)} s, ${probe.stdout.split('\n')[0]})`,
  );
  return LINES / seconds;
}

const logtail = ensureLog('logtail');
const combined = ensureLog('combined');
console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, ${LINES} lines`);
const results: Record<string, number> = {};
results.logtail = await ingest('logtail', logtail);
results.combined = await ingest('combined', combined);
const ga = goaccess(combined);
if (ga !== undefined) {
  results.goaccess = ga;
  console.log(`combined vs goaccess: ${((results.combined as number) / ga).toFixed(2)}x`);
}
console.log(JSON.stringify(results));
