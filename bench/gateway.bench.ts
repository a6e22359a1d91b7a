/**
 * The gateway under load, against Debian's nginx, in one run (issue: "requests/s and p99 through
 * the gateway with access + upstream logging (buffered) vs the gateway with `access_log off;
 * upstream_log off;` vs Debian nginx proxying to the same backend with the same logs; 1 KB and
 * 64 KB responses; keep-alive").
 *
 * - Backend: a second nginx (`worker_processes 1`, sendfile, open_file_cache) serving two static
 *   files, 1 KB and 64 KB. Chosen over a Node server because it costs a fraction of a proxy's CPU
 *   per request: on a 2-core machine the load generator, the backend and the proxy share the
 *   cores, and a cheap backend leaves the most CPU (and the comparison) to the proxies.
 * - Proxies, on 127.0.0.1 only: `logtally gateway -c FILE` (through bin/logtally) with access +
 *   upstream logs (`buffer=64k flush=1s`), the same with `access_log off; upstream_log off;`, and
 *   nginx (`worker_processes 1`, master process on) with the same http block and the same
 *   `access_log` (nginx has no upstream_log module: it writes the access log only). nginx also
 *   gets what it needs to keep upstream connections alive (`proxy_http_version 1.1;
 *   proxy_set_header Connection "";` — the gateway refuses these by name and always speaks
 *   HTTP/1.1 with keep-alive) and `keepalive_requests 1000000` on both sides (the gateway never
 *   closes a keep-alive connection after N requests).
 * - Load: `wrk -t1 -cCONNECTIONS -dDURATION --latency` (keep-alive), a WARMUP-second run first
 *   for each proxy and size; then RUNS rounds, the proxies interleaved (their order rotated each
 *   round); medians reported.
 * - Measured per run: requests/s and p99 (wrk), CPU seconds of the proxy process (utime + stime
 *   from /proc/PID/stat: every thread of the Node process, and its main thread apart; nginx's
 *   worker), the backend's and wrk's CPU, the machine's busy cores (/proc/stat) and what other
 *   processes used (machine minus ours: a run disturbed by other work is repeated), peak RSS
 *   (VmHWM) after each size; and correctness: the lines each run added to the access (and
 *   upstream) log after the flush, against wrk's request count (each line's status and size
 *   checked), non-2xx responses and socket errors; at the end, the stop (signal → exit) and the
 *   lines written only then.
 *
 *   npm run bench:gateway              # DURATION=10 RUNS=3 CONNECTIONS=32 WARMUP=2 SIZES=1k,64k
 *   PROFILE=1 npm run bench:gateway    # instead: --cpu-prof of the gateway with and without logs under
 *                                      # wrk: top functions, and what logging adds per request
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForListening } from '../test/support/listening.ts';
import { findNginx, freePort } from '../test/support/nginx.ts';
import { median } from './harness.ts';

const DURATION = Number(process.env.DURATION ?? 10);
const RUNS = Number(process.env.RUNS ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const WARMUP = Number(process.env.WARMUP ?? 2);
const PROFILE = process.env.PROFILE === '1';
const TOP = Number(process.env.TOP ?? 15);
/**
 * A run during which other processes used more than OTHER_MAX cores is repeated: RETRIES times at
 * most, REPEATS times in the whole benchmark (which bounds its duration).
 */
const OTHER_MAX = Number(process.env.OTHER_MAX ?? 0.15);
const RETRIES = Number(process.env.RETRIES ?? 2);
const REPEATS = Number(process.env.REPEATS ?? 6);
/** Before each run, wait (QUIET_WAIT seconds at most in the whole benchmark) until other processes use less than OTHER_MAX. */
const QUIET_WAIT = Number(process.env.QUIET_WAIT ?? 90);

const BIN = fileURLToPath(new URL('../bin/logtally', import.meta.url));
const ALL_SIZES = [
  { name: '1 KB', file: '1k.bin', bytes: 1024 },
  { name: '64 KB', file: '64k.bin', bytes: 65_536 },
] as const;
type Size = (typeof ALL_SIZES)[number];
/** `SIZES=1k` or `SIZES=64k` runs one of them. */
const SIZES: readonly Size[] = ALL_SIZES.filter((s) =>
  (process.env.SIZES ?? '1k,64k').split(',').includes(s.file.replace('.bin', '')),
);
const TICK = 100; // USER_HZ: /proc times are in 1/100 s on Linux

const nginxBin = findNginx();
if (!nginxBin) {
  console.log('nginx is not installed (apt-get install nginx)');
  process.exit(0);
}
if (spawnSync('wrk', ['--version']).error) {
  console.log('wrk is not installed (apt-get install wrk)');
  process.exit(0);
}
const NGINX = nginxBin;
const nginxVersion = spawnSync(NGINX, ['-v'], { encoding: 'utf8' })
  .stderr.trim()
  .replace(/^nginx version: /, '');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0) =>
  n
    .toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    .replace(/,/g, ' ');

// ---------------------------------------------------------------- /proc

/** utime + stime of a process (all its threads), or of one of its threads, in seconds. */
function cpuSeconds(pid: number, thread?: number): number {
  const stat = readFileSync(
    thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
    'utf8',
  );
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

/** Peak resident set (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/**
 * CPU ticks of the whole machine: `busy` (everything but idle and iowait) and `tasks` (user, nice,
 * system, steal: what processes are charged; interrupts and softirqs — loopback TCP — are not).
 */
function machineTicks(): { busy: number; tasks: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const tasks = user + nice + system + steal;
  return { busy: tasks + irq + softirq, tasks };
}

/** nginx's worker: the (single) child of the master. */
async function workerOf(master: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const kids = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim();
    if (kids) return Number(kids.split(/\s+/)[0]);
    await sleep(25);
  }
  throw new Error(`nginx ${master} started no worker`);
}

// ---------------------------------------------------------------- processes

interface Child {
  readonly process: ChildProcess;
  output(): string;
}

function start(cmd: string, args: readonly string[]): Child {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return { process: child, output: () => err };
}

/** Signals a child and waits for its exit (SIGKILL after 15 s); returns how it ended and how long it took. */
async function stopChild(c: ChildProcess, signal: NodeJS.Signals): Promise<string> {
  if (c.exitCode !== null || c.signalCode !== null)
    return `had already exited (${c.exitCode ?? c.signalCode})`;
  const exited = once(c, 'exit');
  const t0 = performance.now();
  c.kill(signal);
  let killed = false;
  const t = setTimeout(() => {
    killed = true;
    c.kill('SIGKILL');
  }, 15_000);
  await exited;
  clearTimeout(t);
  const ms = (performance.now() - t0).toFixed(0);
  return killed
    ? `did not exit within 15 s of ${signal}: killed`
    : `exited ${c.exitCode ?? c.signalCode} ${ms} ms after ${signal}`;
}

const MAIN = (dir: string) => `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/run.pid;
events { worker_connections 4096; }
`;

const NGINX_MAIN = (dir: string) => `user root;
${MAIN(dir)}error_log ${dir}/error.log warn;
`;

const NGINX_TEMP = (dir: string) => `  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
`;

async function startNginx(
  dir: string,
  conf: string,
  port: number,
): Promise<{ master: Child; worker: number }> {
  await writeFile(join(dir, 'nginx.conf'), conf);
  const master = start(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')]);
  await waitForListening('nginx', master.process, port, master.output, 10_000);
  return { master, worker: await workerOf(master.process.pid as number) };
}

async function startGateway(conf: string, nodeArgs: readonly string[] = []): Promise<Child> {
  const gw = start(process.execPath, [...nodeArgs, BIN, 'gateway', '-c', conf]);
  const deadline = Date.now() + 20_000;
  while (!gw.output().includes('gateway: listening on')) {
    if (gw.process.exitCode !== null || gw.process.signalCode !== null)
      throw new Error(`gateway exited: ${gw.output()}`);
    if (Date.now() > deadline) {
      gw.process.kill('SIGKILL');
      throw new Error(`gateway did not start: ${gw.output()}`);
    }
    await sleep(25);
  }
  return gw;
}

// ---------------------------------------------------------------- configurations

const LOG_FORMAT = `  log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                  '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
                  '$upstream_addr $upstream_status $upstream_response_time';
`;
const UPSTREAM_LOG_FORMAT = `  upstream_log_format up '$remote_addr $upstream_last_addr [$time_local] "$upstream_method $upstream_uri" $upstream_last_status $upstream_last_response_length $upstream_last_bytes_sent $upstream_last_bytes_received $upstream_last_connect_time $upstream_last_header_time $upstream_last_response_time';
`;

interface HttpBlock {
  readonly port: number;
  readonly backend: number;
  readonly access?: string;
  readonly upstream?: string;
  readonly logsOff?: boolean;
  /** nginx only: upstream keep-alive (HTTP/1.1, no `Connection: close`) and no keepalive_requests limit. */
  readonly nginx?: boolean;
}

/** The http block every proxy runs (nginx with its keep-alive additions). */
function httpBlock(h: HttpBlock): string {
  const n = h.nginx ?? false;
  return `${LOG_FORMAT}${h.upstream !== undefined ? UPSTREAM_LOG_FORMAT : ''}${
    h.logsOff
      ? '  access_log off;\n  upstream_log off;\n'
      : `  access_log ${h.access} main buffer=64k flush=1s;\n${
          h.upstream !== undefined ? `  upstream_log ${h.upstream} up buffer=64k flush=1s;\n` : ''
        }`
  }${n ? '  keepalive_requests 1000000;\n' : ''}  upstream backend {
    server 127.0.0.1:${h.backend};
    keepalive 32;${n ? '\n    keepalive_requests 1000000;' : ''}
  }
  server {
    listen 127.0.0.1:${h.port};
    location / {
      proxy_pass http://backend;${n ? '\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";' : ''}
    }
  }
`;
}

// ---------------------------------------------------------------- logs

/** A log file read incrementally: lines, and lines that are not `200` with the expected size. */
class LogFile {
  readonly name: string;
  readonly path: string;
  #offset = 0;
  lines = 0;
  constructor(name: string, path: string) {
    this.name = name;
    this.path = path;
  }

  /** Reads what was appended; returns the new complete lines and those not `200 <bytes>`. */
  async read(bytes: number): Promise<{ lines: number; bad: number; statuses: Map<string, number> }> {
    const statuses = new Map<string, number>();
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(this.path, 'r');
    } catch {
      return { lines: 0, bad: 0, statuses };
    }
    try {
      const { size } = await fh.stat();
      if (size <= this.#offset) return { lines: 0, bad: 0, statuses };
      const buf = Buffer.alloc(size - this.#offset);
      await fh.read(buf, 0, buf.length, this.#offset);
      const end = buf.lastIndexOf(10);
      if (end === -1) return { lines: 0, bad: 0, statuses };
      this.#offset += end + 1;
      const text = buf.toString('latin1', 0, end);
      let lines = 0;
      let bad = 0;
      const want = ` 200 ${bytes} `;
      for (const line of text.split('\n')) {
        lines++;
        // Both formats: `"METHOD URI…" STATUS SIZE ` — status and body size follow the quoted request.
        const q = line.indexOf('" ');
        if (q === -1 || !line.startsWith(want, q + 1)) {
          bad++;
          const k = /^" (\S+ \S+)/.exec(line.slice(q))?.[1] ?? 'unparsed';
          statuses.set(k, (statuses.get(k) ?? 0) + 1);
        }
      }
      this.lines += lines;
      return { lines, bad, statuses };
    } finally {
      await fh.close();
    }
  }
}

/** Waits for the buffered logs to be flushed (flush=1s): until no file grows for 400 ms, after at least 1.2 s. */
async function settleLogs(logs: readonly LogFile[], bytes: number) {
  const out = logs.map(() => ({ lines: 0, bad: 0, statuses: new Map<string, number>() }));
  const t0 = Date.now();
  await sleep(1200);
  for (;;) {
    let grew = false;
    for (const [i, l] of logs.entries()) {
      const r = await l.read(bytes);
      const o = out[i] as (typeof out)[number];
      if (r.lines) grew = true;
      o.lines += r.lines;
      o.bad += r.bad;
      for (const [k, v] of r.statuses) o.statuses.set(k, (o.statuses.get(k) ?? 0) + v);
    }
    if ((!grew && Date.now() - t0 > 1600) || Date.now() - t0 > 6000) return out;
    await sleep(400);
  }
}

// ---------------------------------------------------------------- wrk

interface WrkResult {
  readonly rps: number;
  readonly requests: number;
  readonly p99ms: number;
  readonly non2xx: number;
  readonly socketErrors: number;
  /** CPU seconds wrk used. */
  readonly cpu: number;
  readonly raw: string;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

async function wrk(url: string, seconds: number): Promise<WrkResult> {
  // Through bash, whose `times` reports the CPU its child (wrk) used.
  const child = spawn(
    'bash',
    [
      '-c',
      'wrk "$@"; s=$?; times >&2; exit $s',
      'wrk',
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      '--latency',
      url,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`wrk exited with ${code}: ${out}${err}`);
  const t = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(err);
  const cpu = t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]) : Number.NaN;
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p99ms: toMs(/\s99%\s+([\d.]+\w+)/.exec(out)?.[1] ?? ''),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: se ? se.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    cpu,
    raw: out,
  };
}

// ---------------------------------------------------------------- the run

interface Proxy {
  readonly name: string;
  readonly port: number;
  /** The process whose CPU and memory are the proxy's. */
  readonly pid: number;
  readonly logs: readonly LogFile[];
  readonly child: Child;
  readonly stopSignal: NodeJS.Signals;
}

interface Summary {
  readonly rps: number;
  readonly p99ms: number;
  readonly cpu: number;
  readonly cores: number;
  readonly mainCpu: number;
  readonly perCpu: number;
  readonly backendCpu: number;
  readonly busyCores: number;
  readonly idleRssMb: number;
  readonly rssMb: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly socketErrors: number;
}

interface LogCount {
  readonly name: string;
  /** Lines this run added to the log (after the flush). */
  readonly lines: number;
  /** Lines that are not `200 <full size>`: requests in flight when wrk stopped (499, cut bodies). */
  readonly bad: number;
  readonly statuses: Map<string, number>;
}

interface Run {
  readonly proxy: string;
  readonly size: string;
  readonly rps: number;
  readonly requests: number;
  readonly p99ms: number;
  readonly wall: number;
  readonly cpu: number;
  /** CPU of the main thread alone (the rest of a Node process's CPU: GC and libuv threads). */
  readonly mainCpu: number;
  readonly backendCpu: number;
  readonly busyCores: number;
  readonly wrkCpu: number;
  /** CPU the machine's processes used beyond the proxy, the backend, wrk and this process, in cores. */
  readonly otherCores: number;
  readonly non2xx: number;
  readonly socketErrors: number;
  readonly logLines: readonly LogCount[];
}

/**
 * What a log must hold after a run: a `200 <size>` line for every request wrk completed (the
 * proxy logs a request when it has written the response, before wrk reads it), plus one line for
 * each request in flight when wrk stopped and closed its connections (at most one per connection).
 */
function lineCheck(l: LogCount, requests: number): { missing: number; inFlight: number; ok: boolean } {
  const complete = l.lines - l.bad;
  const missing = Math.max(0, requests - complete);
  const inFlight = l.lines - requests;
  return { missing, inFlight, ok: missing === 0 && inFlight >= 0 && inFlight <= CONNECTIONS };
}

const dir = await mkdtemp(join(tmpdir(), 'logtally-gateway-bench-'));
const children: { child: ChildProcess; signal: NodeJS.Signals }[] = [];
const cleanup = async () => {
  for (const c of children.reverse()) await stopChild(c.child, c.signal);
  children.length = 0;
  await rm(dir, { recursive: true, force: true });
};
process.once('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});

async function startBackend(): Promise<{ port: number; worker: number }> {
  const b = join(dir, 'backend');
  await mkdir(join(b, 'html'), { recursive: true });
  for (const s of ALL_SIZES) await writeFile(join(b, 'html', s.file), Buffer.alloc(s.bytes, 'x'));
  const port = await freePort();
  const n = await startNginx(
    b,
    `${NGINX_MAIN(b)}http {
${NGINX_TEMP(b)}  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=16;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:${port};
    root ${b}/html;
    location / { }
  }
}
`,
    port,
  );
  children.push({ child: n.master.process, signal: 'SIGQUIT' });
  return { port, worker: n.worker };
}

async function startGatewayProxy(name: string, backend: number, logs: boolean): Promise<Proxy> {
  const d = join(dir, name.replace(/\W+/g, '-'));
  await mkdir(d, { recursive: true });
  const port = await freePort();
  const access = join(d, 'access.log');
  const upstream = join(d, 'upstream.log');
  const conf = join(d, 'gateway.conf');
  await writeFile(
    conf,
    `${MAIN(d)}http {
${httpBlock({ port, backend, access, upstream, logsOff: !logs })}}
`,
  );
  const child = await startGateway(conf);
  children.push({ child: child.process, signal: 'SIGTERM' });
  return {
    name,
    port,
    pid: child.process.pid as number,
    logs: logs ? [new LogFile('access', access), new LogFile('upstream', upstream)] : [],
    child,
    stopSignal: 'SIGTERM',
  };
}

async function startNginxProxy(backend: number): Promise<Proxy> {
  const d = join(dir, 'nginx');
  await mkdir(d, { recursive: true });
  const port = await freePort();
  const access = join(d, 'access.log');
  const n = await startNginx(
    d,
    `${NGINX_MAIN(d)}http {
${NGINX_TEMP(d)}${httpBlock({ port, backend, access, nginx: true })}}
`,
    port,
  );
  children.push({ child: n.master.process, signal: 'SIGQUIT' });
  return {
    name: `nginx ${nginxVersion.replace(/^nginx\//, '')}`,
    port,
    pid: n.worker,
    logs: [new LogFile('access', access)],
    child: n.master,
    stopSignal: 'SIGQUIT',
  };
}

let quietWaited = 0;

/** Waits until the machine's other processes are quiet (our own are idle between runs). */
async function waitQuiet(): Promise<void> {
  let said = false;
  const t0 = performance.now();
  for (;;) {
    const m0 = machineTicks();
    const s0 = performance.now();
    await sleep(500);
    const other = (machineTicks().tasks - m0.tasks) / TICK / ((performance.now() - s0) / 1000);
    const waited = (performance.now() - t0) / 1000;
    if (other <= OTHER_MAX || quietWaited + waited >= QUIET_WAIT) {
      quietWaited += waited;
      if (said) console.log(`  … waited ${waited.toFixed(1)} s (other work now ${other.toFixed(2)} cores)`);
      return;
    }
    if (!said) console.log(`  waiting for other work on the machine to end (${other.toFixed(2)} cores busy)`);
    said = true;
  }
}

function alive(p: Proxy): void {
  const c = p.child.process;
  if (c.exitCode !== null || c.signalCode !== null)
    throw new Error(
      `${p.name} exited (${c.exitCode ?? c.signalCode}) during the benchmark: ${p.child.output()}`,
    );
}

async function measureRun(p: Proxy, size: Size, backendPid: number, seconds: number): Promise<Run> {
  alive(p);
  await waitQuiet();
  const cpu0 = cpuSeconds(p.pid);
  const main0 = cpuSeconds(p.pid, p.pid);
  const b0 = cpuSeconds(backendPid);
  const m0 = machineTicks();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const w = await wrk(`http://127.0.0.1:${p.port}/${size.file}`, seconds);
  const wall = (performance.now() - t0) / 1000;
  alive(p);
  const cpu = cpuSeconds(p.pid) - cpu0;
  const mainCpu = cpuSeconds(p.pid, p.pid) - main0;
  const backendCpu = cpuSeconds(backendPid) - b0;
  const m1 = machineTicks();
  const self = process.cpuUsage(self0);
  const ours = cpu + backendCpu + w.cpu + (self.user + self.system) / 1e6;
  const settled = await settleLogs(p.logs, size.bytes);
  return {
    proxy: p.name,
    size: size.name,
    rps: w.rps,
    requests: w.requests,
    p99ms: w.p99ms,
    wall,
    cpu,
    mainCpu,
    backendCpu,
    busyCores: (m1.busy - m0.busy) / TICK / wall,
    wrkCpu: w.cpu,
    otherCores: Math.max(0, (m1.tasks - m0.tasks) / TICK - ours) / wall,
    non2xx: w.non2xx,
    socketErrors: w.socketErrors,
    logLines: p.logs.map((l, i) => ({ name: l.name, ...(settled[i] as (typeof settled)[number]) })),
  };
}

function runLine(r: Run): string {
  return (
    `${r.size.padEnd(5)} ${r.proxy.padEnd(31)} ${fmt(r.rps).padStart(6)} req/s  p99 ${r.p99ms.toFixed(2)} ms  ` +
    `CPU ${r.cpu.toFixed(2)} s (${(r.cpu / r.wall).toFixed(2)} cores, main thread ${r.mainCpu.toFixed(2)} s)  ` +
    `backend ${r.backendCpu.toFixed(2)} s, wrk ${r.wrkCpu.toFixed(2)} s, machine busy ${r.busyCores.toFixed(2)} cores, other work ${r.otherCores.toFixed(2)} cores  ` +
    `requests ${r.requests}, non-2xx ${r.non2xx}, socket errors ${r.socketErrors}` +
    (r.logLines.length ? `; log lines: ${describeLines(r)}` : '')
  );
}

function describeLines(r: Run): string {
  return r.logLines
    .map((l) => {
      const c = lineCheck(l, r.requests);
      const st = [...l.statuses].map(([k, v]) => `${v}× "${k}"`).join(', ');
      return `${l.name} ${l.lines} (${c.inFlight >= 0 ? '+' : ''}${c.inFlight}${st ? `: ${st}` : ''}${
        c.missing ? `; MISSING ${c.missing}` : ''
      }${c.ok ? '' : ' — MISMATCH'})`;
    })
    .join(', ');
}

// ---------------------------------------------------------------- profile mode

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Where a function's self time goes, by what it belongs to. */
function categoryOf(fn: string, url: string): string {
  if (!url) {
    if (fn.startsWith('(')) return fn;
    return `native: ${fn}`;
  }
  const m = /\/src\/([^/]+)\//.exec(url);
  if (m) return `src/${m[1]}`;
  if (url.includes('/node_modules/undici/')) return 'undici';
  if (url.includes('/node_modules/')) return 'other packages';
  if (/^node:(_http|http|internal\/http|internal\/streams|internal\/stream_base|net|internal\/net)/.test(url))
    return 'node: http, streams, net';
  return 'node: other';
}

interface Profiled {
  readonly top: string[];
  /** Self time by function, ms. */
  readonly self: Map<string, number>;
  readonly categories: Map<string, number>;
  readonly totalMs: number;
}

async function readProfile(file: string, top: number): Promise<Profiled> {
  const prof = JSON.parse(await readFile(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const categories = new Map<string, number>();
  let total = 0;
  for (const [i, id] of prof.samples.entries()) {
    const dt = (prof.timeDeltas[i] ?? 0) / 1000;
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url.replace(/^file:\/\/.*?\/(node_modules|src)\//, '$1/');
    const key = `${functionName || '(anonymous)'}${short ? ` ${short}:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const c = categoryOf(functionName, url);
    categories.set(c, (categories.get(c) ?? 0) + dt);
    total += dt;
  }
  const busy = total - (self.get('(idle)') ?? 0);
  return {
    top: [...self]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k}`),
    self,
    categories,
    totalMs: total,
  };
}

/**
 * The logging and the non-logging gateway under the same load with `--cpu-prof`: the top
 * functions by self time (share of the main thread's busy time), and main-thread time per request
 * by category, side by side, so the logging overhead shows where it goes.
 */
async function profile(backend: { port: number; worker: number }): Promise<void> {
  for (const size of SIZES) {
    const results: { name: string; requests: number; rps: number; p: Profiled }[] = [];
    for (const logs of [true, false]) {
      const d = join(dir, `profile-${size.file}-${logs ? 'logs' : 'off'}`);
      await mkdir(d, { recursive: true });
      const port = await freePort();
      const conf = join(d, 'gateway.conf');
      await writeFile(
        conf,
        `${MAIN(d)}http {
${httpBlock({ port, backend: backend.port, access: join(d, 'access.log'), upstream: join(d, 'upstream.log'), logsOff: !logs })}}
`,
      );
      const gw = await startGateway(conf, ['--cpu-prof', '--cpu-prof-dir', d]);
      children.push({ child: gw.process, signal: 'SIGTERM' });
      const warm = await wrk(`http://127.0.0.1:${port}/${size.file}`, WARMUP);
      const w = await wrk(`http://127.0.0.1:${port}/${size.file}`, DURATION);
      await stopChild(gw.process, 'SIGTERM');
      const file = (await readdir(d)).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error(`no profile written (did the gateway exit cleanly?) ${gw.output()}`);
      const name = logs ? 'gateway, access + upstream logs' : 'gateway, logs off';
      results.push({
        name,
        requests: warm.requests + w.requests,
        rps: w.rps,
        p: await readProfile(join(d, file), TOP),
      });
    }
    for (const r of results) {
      console.log(
        `\n${size.name}, ${r.name}: ${fmt(r.rps)} req/s under --cpu-prof; top ${TOP} by self time (% of busy main thread):`,
      );
      for (const l of r.p.top) console.log(`  ${l}`);
    }
    const [on, off] = results as [(typeof results)[number], (typeof results)[number]];
    const cats = [...new Set([...on.p.categories.keys(), ...off.p.categories.keys()])].filter(
      (c) => c !== '(idle)',
    );
    const us = (r: typeof on, c: string) => ((r.p.categories.get(c) ?? 0) * 1000) / r.requests;
    cats.sort((a, b) => us(on, b) - us(on, a));
    console.log(
      `\n${size.name}: main-thread µs per request by category (whole profile / all requests it served)`,
    );
    console.log(`| category | logs on | logs off | difference |\n|---|---:|---:|---:|`);
    let tOn = 0;
    let tOff = 0;
    for (const c of cats) {
      const a = us(on, c);
      const b = us(off, c);
      tOn += a;
      tOff += b;
      if (a < 0.5 && b < 0.5) continue;
      console.log(
        `| ${c} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a - b >= 0 ? '+' : '') + (a - b).toFixed(1)} |`,
      );
    }
    console.log(
      `| busy main thread | ${tOn.toFixed(1)} | ${tOff.toFixed(1)} | +${(tOn - tOff).toFixed(1)} |`,
    );
    const fns = [...new Set([...on.p.self.keys(), ...off.p.self.keys()])].filter((f) => f !== '(idle)');
    const fus = (r: typeof on, f: string) => ((r.p.self.get(f) ?? 0) * 1000) / r.requests;
    fns.sort((a, b) => fus(on, b) - fus(off, b) - (fus(on, a) - fus(off, a)));
    console.log(
      `\n${size.name}: the functions whose self time per request grows most with logging (µs per request)`,
    );
    console.log(`| function | logs on | logs off | difference |\n|---|---:|---:|---:|`);
    for (const f of fns.slice(0, TOP)) {
      const a = fus(on, f);
      const b = fus(off, f);
      console.log(`| ${f} | ${a.toFixed(2)} | ${b.toFixed(2)} | +${(a - b).toFixed(2)} |`);
    }
  }
}

// ---------------------------------------------------------------- main

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${fmt(totalmem() / 2 ** 30, 1)} GB`;
const wrkVersion = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split(' ')[1] ?? 'wrk';
console.log(`node ${process.version}, ${nginxVersion}, wrk ${wrkVersion}, ${machine}`);
console.log(
  `wrk -t1 -c${CONNECTIONS} -d${DURATION}s --latency (keep-alive), warm-up ${WARMUP}s, ${
    PROFILE
      ? 'one run each of the gateway with and without logs under --cpu-prof'
      : `${RUNS} runs per configuration, interleaved`
  }; load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

try {
  const backend = await startBackend();
  if (PROFILE) {
    await profile(backend);
  } else {
    const proxies = [
      await startGatewayProxy('gateway, access + upstream logs', backend.port, true),
      await startGatewayProxy('gateway, logs off', backend.port, false),
      await startNginxProxy(backend.port),
    ];
    const idleRss = new Map(proxies.map((p) => [p.name, peakRssMb(p.pid)]));
    const runs: Run[] = [];
    const discarded: Run[] = [];
    const rss = new Map<string, number>();
    for (const size of SIZES) {
      for (const p of proxies) {
        alive(p);
        const w = await wrk(`http://127.0.0.1:${p.port}/${size.file}`, WARMUP);
        if (w.non2xx || w.socketErrors) console.log(`warm-up ${p.name} ${size.name}: ${w.raw}`);
        await settleLogs(p.logs, size.bytes);
      }
      for (let round = 0; round < RUNS; round++) {
        for (let i = 0; i < proxies.length; i++) {
          const p = proxies[(i + round) % proxies.length] as Proxy;
          let r = await measureRun(p, size, backend.worker, DURATION);
          // A run that shared the cores with other work on the machine is repeated (twice at most).
          for (
            let retry = 0;
            r.otherCores > OTHER_MAX && retry < RETRIES && discarded.length < REPEATS;
            retry++
          ) {
            console.log(
              `${runLine(r)}  — disturbed: other processes used ${r.otherCores.toFixed(2)} cores; repeated`,
            );
            discarded.push(r);
            r = await measureRun(p, size, backend.worker, DURATION);
          }
          runs.push(r);
          console.log(runLine(r));
        }
      }
      for (const p of proxies) rss.set(`${p.name}\0${size.name}`, peakRssMb(p.pid));
    }

    // Stop (a final flush): every line of every run must already have been in the files.
    const before = new Map(proxies.map((p) => [p, p.logs.map((l) => l.lines)]));
    const stops: string[] = [];
    for (const p of proxies) stops.push(`${p.name} ${await stopChild(p.child.process, p.stopSignal)}`);
    const atStop: string[] = [];
    for (const p of proxies) {
      for (const [i, l] of p.logs.entries()) {
        await l.read(0);
        const extra = l.lines - ((before.get(p) ?? [])[i] ?? 0);
        if (extra) atStop.push(`${p.name} ${l.name}: ${extra} lines written only at stop`);
      }
    }
    const diagnostics: string[] = [];
    for (const p of proxies) {
      const lines = p.child
        .output()
        .split('\n')
        .filter((l) => /\[(error|warn|crit|alert|emerg)\]/.test(l));
      if (lines.length) diagnostics.push(`${p.name} stderr:`, ...lines.slice(0, 10));
    }
    const nginxErrors = (await readFile(join(dir, 'nginx', 'error.log'), 'utf8').catch(() => '')).trim();
    if (nginxErrors) diagnostics.push('nginx error.log:', ...nginxErrors.split('\n').slice(0, 10));

    // ------------------------------------------------------------ table
    const rows: string[] = [];
    const summary: Record<string, Summary> = {};
    let mismatches = 0;
    for (const size of SIZES) {
      for (const p of proxies) {
        const rs = runs.filter((r) => r.proxy === p.name && r.size === size.name);
        const requests = rs.reduce((a, r) => a + r.requests, 0);
        const s: Summary = {
          rps: median(rs.map((r) => r.rps)),
          p99ms: median(rs.map((r) => r.p99ms)),
          cpu: median(rs.map((r) => r.cpu)),
          cores: median(rs.map((r) => r.cpu / r.wall)),
          mainCpu: median(rs.map((r) => r.mainCpu)),
          perCpu: median(rs.map((r) => r.requests / r.cpu)),
          backendCpu: median(rs.map((r) => r.backendCpu)),
          busyCores: median(rs.map((r) => r.busyCores)),
          idleRssMb: idleRss.get(p.name) ?? Number.NaN,
          rssMb: rss.get(`${p.name}\0${size.name}`) ?? Number.NaN,
          requests,
          non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
          socketErrors: rs.reduce((a, r) => a + r.socketErrors, 0),
        };
        summary[`${p.name}, ${size.name}`] = s;
        const lines =
          p.logs.length === 0
            ? '— (logs off)'
            : p.logs
                .map((l, i) => {
                  let n = 0;
                  let missing = 0;
                  let inFlight = 0;
                  for (const r of rs) {
                    const lc = r.logLines[i] as LogCount;
                    const c = lineCheck(lc, r.requests);
                    n += lc.lines;
                    missing += c.missing;
                    inFlight += c.inFlight;
                    if (!c.ok) mismatches++;
                  }
                  return `${l.name} ${fmt(n)} / ${fmt(requests)} (+${inFlight} in flight at stop${missing ? `, **${missing} missing**` : ''})`;
                })
                .join('; ');
        rows.push(
          `| ${p.name} | ${size.name} | ${fmt(s.rps)} | ${s.p99ms.toFixed(2)} ms | ${s.cpu.toFixed(2)} s (${s.cores.toFixed(2)}; main thread ${s.mainCpu.toFixed(2)} s) | ${fmt(
            s.perCpu,
          )} | ${s.backendCpu.toFixed(2)} s | ${s.busyCores.toFixed(2)} | ${fmt(s.rssMb)} MB | ${lines} | ${s.non2xx} / ${s.socketErrors} |`,
        );
      }
    }
    console.log(`
| proxy | response | req/s | p99 | proxy CPU per ${DURATION} s run (cores) | requests per CPU-second | backend CPU | machine busy (cores) | peak RSS | log lines / requests (${RUNS} runs) | non-2xx / socket errors |
|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|
${rows.join('\n')}
`);
    const [gwLog, gwOff, ngx] = proxies.map((p) => p.name) as [string, string, string];
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    for (const size of SIZES) {
      const g = summary[`${gwLog}, ${size.name}`] as Summary;
      const o = summary[`${gwOff}, ${size.name}`] as Summary;
      const n = summary[`${ngx}, ${size.name}`] as Summary;
      console.log(
        `${size.name}: logging overhead ${pct(1 - g.rps / o.rps)} of req/s, ${pct(1 - g.perCpu / o.perCpu)} of requests per CPU-second (goal ≤ 5%); ` +
          `gateway/nginx per core ${(g.perCpu / n.perCpu).toFixed(2)} with logs (${(o.perCpu / n.perCpu).toFixed(2)} without; goal ≥ 0.50), ` +
          `req/s ${(g.rps / n.rps).toFixed(2)}; CPU per request: gateway ${(1e6 / g.perCpu).toFixed(0)} µs ` +
          `(${(1e6 / o.perCpu).toFixed(0)} µs without logs), nginx ${(1e6 / n.perCpu).toFixed(0)} µs`,
      );
    }
    console.log(
      `idle RSS after start: ${proxies.map((p) => `${p.name} ${fmt(idleRss.get(p.name) ?? 0)} MB`).join(', ')}`,
    );
    for (const r of discarded) for (const l of r.logLines) if (!lineCheck(l, r.requests).ok) mismatches++;
    console.log(
      `waited ${quietWaited.toFixed(0)} s for other work to end; runs repeated because other processes used more than ${OTHER_MAX} cores: ${discarded.length}; ` +
        `other work during the kept runs: median ${median(runs.map((r) => r.otherCores)).toFixed(2)}, max ${Math.max(...runs.map((r) => r.otherCores)).toFixed(2)} cores`,
    );
    console.log(
      mismatches
        ? `LOG LINE MISMATCH in ${mismatches} run(s): see the per-run lines above`
        : `log lines: every run's requests are in the logs after the flush (the extra lines are requests in flight when wrk stopped, at most ${CONNECTIONS} a run)`,
    );
    console.log(`stop: ${stops.join('; ')}`);
    if (atStop.length) console.log(`at stop: ${atStop.join('; ')}`);
    if (diagnostics.length) console.log(diagnostics.join('\n'));
    console.log(
      `load average after: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log(JSON.stringify({ connections: CONNECTIONS, duration: DURATION, runs: RUNS, summary }));
  }
} finally {
  await cleanup();
}
