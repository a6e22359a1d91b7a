/**
 * Log writer throughput (issue 5), two parts, every variant measured in the same run:
 *
 * 1. Through a real node:http server: the `combined` format via `accessLog` vs `morgan('combined')`
 *    (writing to a file with fs.createWriteStream, its usual setup), against a server without a
 *    logger. Load comes from a child process (this file with `--load`): CONNECTIONS keep-alive
 *    connections, PIPELINE requests in flight on each. The server's process CPU time per request
 *    (process.cpuUsage: main thread + libuv threads, so morgan's async writes count) minus the
 *    no-logger baseline is the logger's cost; lines/s = 1 / cost. End-to-end requests/s are
 *    reported too (bounded by node:http itself on 2 cores).
 * 2. Raw render + write to a file: `createLog(...).write(record)` for generated records
 *    (bench/generate.ts), unbuffered (one write(2) per line), buffer=64k, gzip level 1 (64K).
 *
 *   node bench/writer.bench.ts                  # BENCH_SECONDS=3 ROUNDS=7 LINES=300000 RUNS=5
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import morgan from 'morgan';
import { compileNginxPreset } from '../src/format/nginx/compile.ts';
import { accessLog } from '../src/http/access-log.ts';
import { createLog } from '../src/writer/log.ts';
import { records } from './generate.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const LINES = Number(process.env.LINES ?? 300_000);
const RUNS = Number(process.env.RUNS ?? 5);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 8);
const PIPELINE = Number(process.env.PIPELINE ?? 16);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// ---------------------------------------------------------------- load generator (child)
async function load(port: number, seconds: number): Promise<void> {
  const req = Buffer.from(
    'GET /api/v1/users?id=42&page=3 HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\nReferer: https://example.com/start\r\n\r\n',
  );
  const batch = Buffer.concat(Array.from({ length: PIPELINE }, () => req));
  let responses = 0;
  let stop = false;
  const conns = await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const s = connect(port, '127.0.0.1');
      s.setNoDelay(true);
      await once(s, 'connect');
      let size = 0;
      let pending: Buffer = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        let buf = pending.length ? Buffer.concat([pending, d]) : d;
        if (size === 0) {
          const end = buf.indexOf('\r\n\r\n');
          if (end === -1) {
            pending = buf;
            return;
          }
          const cl = /content-length: *(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
          size = end + 4 + Number(cl?.[1] ?? 0);
        }
        const n = Math.floor(buf.length / size);
        buf = buf.subarray(n * size);
        pending = Buffer.from(buf);
        responses += n;
        if (!stop && n > 0) s.write(Buffer.concat(Array.from({ length: n }, () => req)));
      });
      s.write(batch);
      return s;
    }),
  );
  const t0 = process.hrtime.bigint();
  const startCount = responses;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${(responses - startCount) / elapsed}\n`);
  for (const c of conns) c.destroy();
}

if (process.argv[2] === '--load') {
  await load(Number(process.argv[3]), Number(process.argv[4]));
  process.exit(0);
}

// ---------------------------------------------------------------- server side (parent)
const dir = mkdtempSync(join(tmpdir(), 'logtally-writer-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const ok = (_req: IncomingMessage, res: ServerResponse) => res.end('ok');

interface Variant {
  name: string;
  make(file: string): { listener: RequestListener; close(): Promise<void> | void };
}

const VARIANTS: Variant[] = [
  { name: 'no logger', make: () => ({ listener: ok, close() {} }) },
  {
    name: "morgan('combined') → fs.WriteStream",
    make: (file) => {
      const stream = createWriteStream(file, { flags: 'a' });
      const mw = morgan('combined', { stream });
      return {
        listener: (req, res) => mw(req, res, () => ok(req, res)),
        close: () => new Promise<void>((r) => stream.end(r)),
      };
    },
  },
  {
    name: 'accessLog combined, unbuffered',
    make: (file) => {
      const log = accessLog({ path: file, format: 'combined' });
      return { listener: log.wrap(ok), close: () => log.close() };
    },
  },
  {
    name: 'accessLog combined, buffer=64k flush=1s',
    make: (file) => {
      const log = accessLog({ path: file, format: 'combined', buffer: '64k', flush: '1s' });
      return { listener: log.wrap(ok), close: () => log.close() };
    },
  },
];

async function measure(v: Variant, round: number): Promise<{ rps: number; cpuUs: number }> {
  const file = join(dir, `http-${round}-${VARIANTS.indexOf(v)}.log`);
  const { listener, close } = v.make(file);
  const server = createServer({ keepAliveTimeout: 60_000 }, listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const child: ChildProcess = spawn(
    process.execPath,
    [new URL(import.meta.url).pathname, '--load', String(port), String(SECONDS)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let served = 0;
  server.on('request', () => {
    served++;
  });
  // Warm-up: the first 20% of the child's run is not measured on the CPU side either.
  await new Promise((r) => setTimeout(r, SECONDS * 200));
  const c0 = process.cpuUsage();
  const s0 = served;
  await once(child, 'exit');
  const cpu = process.cpuUsage(c0);
  const n = served - s0;
  server.closeAllConnections();
  server.close();
  await close();
  return { rps: Number(out.trim()), cpuUs: (cpu.user + cpu.system) / n };
}

console.log(`Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
console.log(
  `\n1. node:http server, combined format, load from a child process (${CONNECTIONS} keep-alive connections × ${PIPELINE} pipelined), ${SECONDS} s × ${ROUNDS} rounds, medians\n`,
);
const results = new Map<string, { rps: number[]; cpu: number[] }>();
for (const v of VARIANTS) await measure(v, -1); // warm-up round (JIT, sockets), not counted
for (let r = 0; r < ROUNDS; r++) {
  for (const v of VARIANTS) {
    const m = await measure(v, r);
    const e = results.get(v.name) ?? { rps: [], cpu: [] };
    e.rps.push(m.rps);
    e.cpu.push(m.cpuUs);
    results.set(v.name, e);
  }
}
const base = median(results.get('no logger')?.cpu ?? [0]);
const cost = (name: string) => median(results.get(name)?.cpu ?? [0]) - base;
console.log('| server | requests/s | server CPU µs/request | logger cost µs/line | logger lines/s |');
console.log('|---|---:|---:|---:|---:|');
for (const v of VARIANTS) {
  const e = results.get(v.name);
  if (!e) continue;
  const c = median(e.cpu);
  const extra = c - base;
  const isBase = v.name === 'no logger';
  console.log(
    `| ${v.name} | ${fmt(median(e.rps))} | ${c.toFixed(2)} | ${isBase ? '—' : extra.toFixed(2)} | ${isBase ? '—' : extra > 0 ? fmt(1e6 / extra) : '∞'} |`,
  );
}
const morganCost = cost("morgan('combined') → fs.WriteStream");
// Each round measured every variant one after another: the ratio within a round is what holds
// on a machine whose speed drifts; its median over the rounds is the figure to quote.
const roundRatio = (name: string, r: number) => {
  const b = results.get('no logger')?.cpu[r] ?? 0;
  const m = (results.get("morgan('combined') → fs.WriteStream")?.cpu[r] ?? 0) - b;
  const x = (results.get(name)?.cpu[r] ?? 0) - b;
  return x > 0 ? m / x : Number.NaN;
};
for (const name of ['accessLog combined, unbuffered', 'accessLog combined, buffer=64k flush=1s']) {
  const per = Array.from({ length: ROUNDS }, (_, r) => roundRatio(name, r)).filter(Number.isFinite);
  console.log(
    `${name}: ${(morganCost / cost(name)).toFixed(2)}× morgan (cost of the medians); per round median ${median(per).toFixed(2)}×, ` +
      `range ${Math.min(...per).toFixed(2)}–${Math.max(...per).toFixed(2)}× over ${per.length} rounds`,
  );
}

// ---------------------------------------------------------------- raw render + write
console.log(`\n2. render + write, combined, ${fmt(LINES)} generated records, median of ${RUNS}\n`);
const fmtCombined = compileNginxPreset('combined', { utcOffset: 0 });
const recs = [...records(LINES)];
const RAW = [
  { name: 'unbuffered (one write per line)', opts: {} },
  { name: 'buffer=64k', opts: { buffer: '64k' } },
  { name: 'gzip level 1 (64K buffer)', opts: { gzip: 1 } },
  { name: 'gzip level 6 (64K buffer)', opts: { gzip: 6 } },
] as const;
console.log('| variant | lines/s | bytes on disk per line |');
console.log('|---|---:|---:|');
for (const v of RAW) {
  const rates: number[] = [];
  let perLine = 0;
  for (let r = 0; r < RUNS; r++) {
    const file = join(dir, `raw-${r}.log`);
    const log = createLog(file, { format: fmtCombined, ...v.opts });
    const t = process.hrtime.bigint();
    for (const rec of recs) log.write(rec);
    log.close();
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    rates.push(LINES / s);
    perLine = statSync(file).size / LINES;
    rmSync(file);
  }
  console.log(`| ${v.name} | ${fmt(median(rates))} | ${perLine.toFixed(1)} |`);
}
// Render alone, for reference.
{
  const rates: number[] = [];
  let sink = 0;
  for (let r = 0; r < RUNS; r++) {
    const t = process.hrtime.bigint();
    for (const rec of recs) sink += fmtCombined.render(rec).length;
    rates.push(LINES / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  console.log(`| render only (no write) | ${fmt(median(rates))} | — |  (sink ${sink})`);
}
