/**
 * The dashboard under load: a collector store at full caps (shared vocabularies, as in
 * bench/store.bench.ts) served over gRPC from this process, `logtally frontend` in a child
 * process, and Debian's `wrk` requesting the 24h page with two filters.
 *
 *   npm run bench:frontend          # DURATION=15 CONNECTIONS=4
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { StoreBackend } from '../src/collector/store-backend.ts';
import { startRpcServer } from '../src/rpc/server.ts';
import { Store } from '../src/store/store.ts';
import { freePort } from '../test/support/nginx.ts';
import { fillAtFullCaps } from './fill.ts';

const DURATION = Number(process.env.DURATION ?? 15);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 4);

if (spawnSync('wrk', ['--version']).error) {
  console.log('wrk is not installed (apt-get install wrk)');
  process.exit(0);
}

const clock = { t: 1_795_000_000 };
const store = new Store({ now: () => clock.t });
const t0 = performance.now();
fillAtFullCaps(store, clock, 'vocabulary');
console.log(
  `store at full caps in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(store.stats())}`,
);

const ingest = { files: () => [], linesRead: 0, parseErrors: 0, syslogDatagrams: 0, syslogLines: 0 };
const rpc = await startRpcServer('127.0.0.1:0', new StoreBackend(store, 'bench', 'bench', ingest));
const port = await freePort();
const bin = fileURLToPath(new URL('../bin/logtally', import.meta.url));
const frontend = spawn(
  process.execPath,
  [
    bin,
    'frontend',
    '--listen',
    `127.0.0.1:${port}`,
    '--target',
    `127.0.0.1:${rpc.address.port}`,
    '--refresh',
    '0',
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const url = `http://127.0.0.1:${port}/?w=24h&by=uri&f_website=site7.example.com&f_status=%3E%3D400`;
for (let i = 0; ; i++) {
  try {
    const r = await fetch(url);
    if (r.ok) break;
  } catch {}
  if (i > 200) throw new Error('frontend did not start');
  await new Promise((r) => setTimeout(r, 50));
}
// wrk runs asynchronously: this process serves the gRPC side and must keep its event loop free.
const wrk = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${DURATION}s`, '--latency', url], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
wrk.stdout.on('data', (d: Buffer) => {
  out += d.toString();
});
await once(wrk, 'exit');
console.log(out);
const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
const p99 = /99%\s+([\d.]+\w+)/.exec(out)?.[1];
console.log(JSON.stringify({ url, connections: CONNECTIONS, requestsPerSecond: Number(rps), p99 }));
frontend.kill('SIGTERM');
await once(frontend, 'exit');
await rpc.close();
