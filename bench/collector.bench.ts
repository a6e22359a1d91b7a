/**
 * Collector ingest end to end, through the program an operator runs: `logtally collector
 * --from-start` is spawned on a generated log and timed from spawn until its Status says every
 * line was read (polled over gRPC), then asked TopN and Trend. Peers in the same run, on the same
 * files: mawk counting one two-field key (website and status for logtail, client address and
 * status for combined: it parses two fields and keeps one hash table, nothing else), and GoAccess
 * 1.7 on the combined files (it parses every field and builds its panels). The collector parses
 * every field of the format, counts six-part keys into minutes by the lines' own time, and feeds
 * Prometheus counters.
 *
 * Files (timestamps spread over the SPAN seconds before the run, default 20 minutes, so every line
 * is in the 60m window):
 * - logtail: the default mix (bench/generate.ts: 400 client prefixes with a heavy head, 20 hosts,
 *   15 paths with query strings);
 * - logtail-wide: 3 000 client addresses and 1 500 paths;
 * - combined, combined-narrow (20 addresses, 5 paths);
 * - distinct: every line a new path and address (full caps: the peak RSS figure).
 *
 *   LINES=1000000 RUNS=3 [SPAN=1200] [THREADS=1,2] [PROGRAM=installed|checkout] node bench/collector.bench.ts [file ...]
 *   LINES=3000000 SPAN=3600 node bench/collector.bench.ts distinct     # full caps: peak RSS
 *   STATE=1 LINES=3000000 SPAN=3600 THREADS=1 node bench/collector.bench.ts distinct
 *   STATE=kill LINES=3000000 SPAN=3600 THREADS=1 node bench/collector.bench.ts distinct
 *   DASHBOARD=130 LINES=3000000 SPAN=3600 THREADS=1 RUNS=1 node bench/collector.bench.ts distinct
 *
 * With more than one thread count (and no STATE), each run also starts two `--threads 1`
 * collectors at once on the file: what two cores give two processes that share nothing, the
 * machine's ceiling for what a second thread can add.
 *
 * STATE=1: each run also keeps `--state-file` (checkpoints while it reads), is then stopped with
 * SIGTERM (the shutdown's full snapshot) and started again on the state file (the restore).
 * STATE=kill: a crash instead, with the largest journal: checkpoints every 30 s, so the first
 * after the start holds every line (a journal group the size of a snapshot); the collector is
 * killed (SIGKILL) once it is written, and the restart reads the start's empty snapshot and the
 * journal. Reported are the time to stop and the peak RSS over the whole first life (GNU time's maximum
 * resident set, snapshot included), the time from the second start to its first answer, its
 * peak RSS then, and whether its 60m Trend still equals the independent count minute by minute.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileNginx } from '../src/format/nginx/compile.ts';
import { NGINX_COMBINED, NGINX_LOGTAIL } from '../src/format/nginx/presets.ts';
import type { Fields } from '../src/format/nginx/types.ts';
import { createLogtallyClient } from '../src/rpc/client.ts';
import { freePort } from '../test/support/listening.ts';
import { records } from './generate.ts';
import { installPackage, median } from './harness.ts';

const LINES = Number(process.env.LINES ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 3);
/** Seconds of log time the lines cover (ending now); 3600 with 3 M distinct lines fills every minute's table. */
const SPAN = Number(process.env.SPAN ?? 1200);
/** The collector's --threads values run on each file (the first is the base of the speed-up). */
const THREADS = (process.env.THREADS ?? '1,2').split(',').map(Number);
/**
 * The program run: `installed` (default: this checkout packed and installed, the compiled `dist/`
 * as users run it) or `checkout` (bin/logtally on the TypeScript sources, types stripped at start).
 */
const PROGRAM = process.env.PROGRAM ?? 'installed';
/** STATE=1: stopped with SIGTERM (the shutdown snapshot); STATE=kill: with SIGKILL (a crash: the restart reads the last snapshot and its journal). */
const STATE = process.env.STATE === '1' || process.env.STATE === 'kill';
/**
 * DASHBOARD=seconds: after the TopN queries, a dashboard's polling for that long (TopN 60m by URI
 * every 2 s, across minute boundaries when it is over 60): its p50 and its slowest answer after
 * the first (what a minute's seal costs the query that meets it).
 */
const DASHBOARD = Number(process.env.DASHBOARD ?? 0);
const CRASH = process.env.STATE === 'kill';
const BIN =
  PROGRAM === 'checkout'
    ? fileURLToPath(new URL('../bin/logtally', import.meta.url))
    : installPackage(mkdtempSync(join(tmpdir(), 'logtally-bench-')));
const dataDir = fileURLToPath(new URL('./data/', import.meta.url));
mkdirSync(dataDir, { recursive: true });

interface Spec {
  layout: 'logtail' | 'combined';
  /** Rewrites a default record (vocabulary). */
  vary?: (r: Fields, i: number) => void;
}

const SPECS: Record<string, Spec> = {
  logtail: { layout: 'logtail' },
  'logtail-wide': {
    layout: 'logtail',
    vary: (r, i) => {
      const h = (i * 2654435761) >>> 0;
      r.remote_addr = `10.${(h >>> 8) & 15}.${(h >>> 16) & 255}.${h % 12}`; // ~3 000 (of 4 096 × …)
      r.request_uri = `/p/${h % 1500}`;
    },
  },
  combined: { layout: 'combined' },
  'combined-narrow': {
    layout: 'combined',
    vary: (r, i) => {
      r.remote_addr = `192.0.2.${i % 20}`;
      r.request = `GET /p${i % 5} HTTP/1.1`;
    },
  },
  distinct: {
    layout: 'logtail',
    vary: (r, i) => {
      r.remote_addr = `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
      r.request_uri = `/d/${i}`;
    },
  },
};

/** Writes the file; returns its path and the count of lines per minute (an independent count). */
function generate(name: string, spec: Spec, end: number): { path: string; perMinute: Map<number, number> } {
  const path = `${dataDir}${name}-${LINES}.log`;
  const fmt = compileNginx(spec.layout === 'logtail' ? NGINX_LOGTAIL : NGINX_COMBINED, { utcOffset: 0 });
  const fd = openSync(path, 'w');
  const perMinute = new Map<number, number>();
  const span = SPAN;
  let chunk = '';
  let i = 0;
  for (const r of records(LINES)) {
    spec.vary?.(r, i);
    // In log order over the last 20 minutes.
    const t = end - span + Math.floor((i * span) / LINES);
    r.time_local = t;
    r.msec = t + (i % 1000) / 1000; // three decimals, as nginx writes them (no rounding into the next second)
    const m = Math.floor(t / 60) * 60;
    perMinute.set(m, (perMinute.get(m) ?? 0) + 1);
    chunk += `${fmt.render(r)}\n`;
    if (chunk.length > 1 << 22) {
      writeSync(fd, Buffer.from(chunk, 'latin1'));
      chunk = '';
    }
    i++;
  }
  writeSync(fd, Buffer.from(chunk, 'latin1'));
  closeSync(fd);
  return { path, perMinute };
}

function procStat(pid: number): { cpu: number; hwm: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
  return { cpu: ticks / 100, hwm: Number(hwm ?? 0) / 1024 };
}

interface CollectorRun {
  seconds: number;
  cpu: number;
  peakMiB: number;
  dropped: number;
  minutesExact: boolean;
  /** The first differing minute, when not exact. */
  mismatch?: string;
  /** Per query kind, its first answer's time, and the p50 and p99 of all 50. */
  topn: Record<string, { first: number; p50: number; p99: number }>;
  /** STATE=1: the stop, the whole first life's peak, and the restart on the state file. */
  state?: StateRun;
  /** DASHBOARD: the answers of the polling TopN, in order (ms). */
  dashboard?: number[];
}

interface StateRun {
  /** The journal the restart read (MB): after a crash, what was written since the last snapshot. */
  journalMB: number;
  stopSeconds: number;
  lifePeakMiB: number;
  savedMB: number;
  restoreSeconds: number;
  restorePeakMiB: number;
  restoredExact: boolean;
}

/**
 * Starts the collector: the executable itself, with this Node first on PATH; with `timed`, under
 * GNU time (its maximum resident set is printed when the collector ends: `maxrss KiB`), the
 * collector's own pid found as time's child.
 */
async function startCollector(
  args: string[],
  timed: boolean,
): Promise<{ child: ChildProcess; pid: number; log: () => string }> {
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` };
  if (!timed) {
    const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    return { child, pid: child.pid as number, log: () => '' };
  }
  const child = spawn('/usr/bin/time', ['-f', 'maxrss %M', BIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let text = '';
  child.stderr?.on('data', (b: Buffer) => {
    text += b.toString();
    process.stderr.write(b);
  });
  const parent = child.pid as number;
  for (;;) {
    try {
      const kids = readFileSync(`/proc/${parent}/task/${parent}/children`, 'latin1').trim();
      if (kids !== '') return { child, pid: Number(kids.split(' ')[0]), log: () => text };
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Whether every 60m Trend point equals the independent count; the first differing minutes. */
async function trendExact(
  client: ReturnType<typeof createLogtallyClient>,
  perMinute: Map<number, number>,
): Promise<{ exact: boolean; mismatch: string }> {
  const trend = await client.trend({ window: '60m' });
  const bad = trend.points.filter((p) => Number(p.count) !== (perMinute.get(p.start) ?? 0));
  const mismatch = bad
    .slice(0, 3)
    .map(
      (p) =>
        `${new Date(p.start * 1000).toISOString().slice(11, 16)} ${p.count} vs ${perMinute.get(p.start) ?? 0}`,
    )
    .join('; ');
  return { exact: bad.length === 0, mismatch };
}

/** The collector's arguments for a run on `path` from its start, gRPC on `port`, no /metrics. */
function collectorArgs(path: string, layout: string, threads: number, port: number): string[] {
  return [
    'collector',
    '--logs',
    path,
    '--format',
    layout,
    '--from-start',
    '--threads',
    String(threads),
    '--listen',
    `127.0.0.1:${port}`,
    '--metrics-listen',
    '',
  ];
}

/** Polls Status (every 20 ms, from before the collector listens) until every line is read. */
async function untilCounted(client: ReturnType<typeof createLogtallyClient>): Promise<void> {
  for (;;) {
    try {
      if (Number((await client.status({})).linesRead) >= LINES) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function collector(
  path: string,
  layout: string,
  perMinute: Map<number, number>,
  threads: number,
): Promise<CollectorRun> {
  const port = await freePort();
  const stateDir = STATE ? mkdtempSync(join(tmpdir(), 'logtally-bench-state-')) : '';
  const args = [
    ...collectorArgs(path, layout, threads, port),
    ...(STATE ? ['--state-file', join(stateDir, 'state')] : []),
    // A crash with the largest journal: the first checkpoint after the start comes once every line
    // is counted, and appends them all to the journal of the start's empty snapshot.
    ...(CRASH ? ['--checkpoint-interval', '30'] : []),
  ];
  const t0 = performance.now();
  // Run as an operator runs it: the executable itself (its sh line starts Node with the collector's
  // V8 flags), with this Node first on PATH.
  const { child, pid, log } = await startCollector(args, STATE);
  const client = createLogtallyClient(`127.0.0.1:${port}`);
  try {
    await untilCounted(client);
    const seconds = (performance.now() - t0) / 1000;
    const { cpu, hwm } = procStat(pid);
    const st = await client.status({});
    const { exact: minutesExact, mismatch } = await trendExact(client, perMinute);
    const topn: CollectorRun['topn'] = {};
    for (const [window, groupBy] of [
      ['24h', 'uri'],
      ['24h', 'prefix'],
      ['24h', 'website'],
      ['60m', 'uri'],
    ] as const) {
      const times: number[] = [];
      for (let q = 0; q < 50; q++) {
        const t = performance.now();
        await client.topN({ groupBy, window, n: 10 });
        times.push(performance.now() - t);
      }
      const first = times[0] as number;
      times.sort((a, b) => a - b);
      topn[`${window} ${groupBy}`] = {
        first,
        p50: times[Math.floor(times.length * 0.5)] as number,
        p99: times[Math.floor(times.length * 0.99)] as number,
      };
    }
    const dashboard: number[] = [];
    for (const end = performance.now() + DASHBOARD * 1000; performance.now() < end; ) {
      const t = performance.now();
      await client.topN({ groupBy: 'uri', window: '60m', n: 10 });
      dashboard.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 2000));
    }
    const peakMiB = Math.max(hwm, procStat(pid).hwm);
    return {
      ...(DASHBOARD > 0 ? { dashboard } : {}),
      seconds,
      cpu,
      peakMiB,
      dropped: Number(st.droppedKeys),
      minutesExact,
      ...(minutesExact ? {} : { mismatch }),
      topn,
      ...(STATE ? { state: await stopAndRestore(child, pid, log, args, port, perMinute) } : {}),
    };
  } finally {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended
    }
  }
}

/** STATE=1: SIGTERM (the shutdown snapshot), then the collector started again on its state file. */
async function stopAndRestore(
  child: ChildProcess,
  pid: number,
  log: () => string,
  args: string[],
  port: number,
  perMinute: Map<number, number>,
): Promise<StateRun> {
  const ended = new Promise<void>((r) => child.once('exit', () => r()));
  const statePath = args[args.indexOf('--state-file') + 1] as string;
  const journalMB = () => {
    try {
      return statSync(`${statePath}.journal`).size / 1e6;
    } catch {
      return 0;
    }
  };
  if (CRASH) {
    // A crash after a checkpoint of every line: the restart must not re-read the log.
    const client = createLogtallyClient(`127.0.0.1:${port}`);
    const counted = Date.now() / 1000;
    for (;;) {
      const st = await client.status({});
      if (Number(st.stateLastSaved) > counted) break;
      // A checkpoint that failed would never let the wait end.
      if (st.stateSaveError !== '') throw new Error(`the collector cannot save: ${st.stateSaveError}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const journalBefore = journalMB();
  const t = performance.now();
  process.kill(pid, CRASH ? 'SIGKILL' : 'SIGTERM');
  await ended;
  const stopSeconds = (performance.now() - t) / 1000;
  const maxrss = /maxrss (\d+)/.exec(log());
  const saved = [...log().matchAll(/saved ([\d.]+) MB/g)].at(-1);
  const t1 = performance.now();
  const again = await startCollector(args, true);
  const client = createLogtallyClient(`127.0.0.1:${port}`);
  try {
    for (;;) {
      try {
        await client.status({});
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const restoreSeconds = (performance.now() - t1) / 1000;
    const restorePeakMiB = procStat(again.pid).hwm;
    const { exact } = await trendExact(client, perMinute);
    return {
      journalMB: CRASH ? journalBefore : journalMB(),
      stopSeconds,
      lifePeakMiB: Number(maxrss?.[1] ?? 0) / 1024,
      savedMB: Number(saved?.[1] ?? 0),
      restoreSeconds,
      restorePeakMiB,
      restoredExact: exact,
    };
  } finally {
    process.kill(again.pid, 'SIGKILL');
  }
}

/**
 * The machine's own ceiling for two threads: two collectors with one thread each, started at once
 * on the same file (no state shared, no merge); the seconds until both have read every line.
 */
async function pairSeconds(path: string, layout: string): Promise<number> {
  const t0 = performance.now();
  const one = async (): Promise<void> => {
    const port = await freePort();
    const { pid } = await startCollector(collectorArgs(path, layout, 1, port), false);
    try {
      await untilCounted(createLogtallyClient(`127.0.0.1:${port}`));
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  };
  await Promise.all([one(), one()]);
  return (performance.now() - t0) / 1000;
}

function timed(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

const hasGoaccess = spawnSync('goaccess', ['--version']).status === 0;
const only = process.argv.slice(2);
const end = Math.floor(Date.now() / 1000);
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, ${LINES} lines a file, median of ${RUNS} runs, program: ${PROGRAM} (${BIN})`,
);
for (const [name, spec] of Object.entries(SPECS)) {
  if (only.length > 0 && !only.includes(name)) continue;
  const { path, perMinute } = generate(name, spec, end);
  const mb = statSync(path).size / 1048576;
  const awk =
    spec.layout === 'logtail'
      ? ['-F\t', '{c[$1 FS $6]++} END {for (k in c) n++; print n}', path]
      : ['{c[$1 FS $9]++} END {for (k in c) n++; print n}', path];
  /** Per thread count, the runs (interleaved with the peers). */
  const runs = new Map<number, CollectorRun[]>(THREADS.map((t) => [t, []]));
  const mawk: number[] = [];
  const ga: number[] = [];
  /** Two one-thread collectors at once (with more than one thread count asked, and no state). */
  const pairs: number[] = [];
  const pairing = THREADS.length > 1 && !STATE;
  for (let r = 0; r < RUNS; r++) {
    for (const t of THREADS) runs.get(t)?.push(await collector(path, spec.layout, perMinute, t));
    if (pairing) pairs.push(await pairSeconds(path, spec.layout));
    mawk.push(timed('mawk', awk));
    if (hasGoaccess && spec.layout === 'combined')
      ga.push(
        timed('goaccess', [path, '--log-format=COMBINED', '-o', `${dataDir}goaccess.json`, '--no-progress']),
      );
  }
  const rate = (sec: number) => `${Math.round(LINES / sec / 1000)} k lines/s`;
  console.log(`\n${name} (${mb.toFixed(0)} MB):`);
  const one = runs.get(THREADS[0] as number) ?? [];
  for (const [t, rs] of runs) {
    const s = median(rs.map((x) => x.seconds));
    const ratios = rs.map((x, i) => (mawk[i] as number) / x.seconds);
    const speedup = rs.map((x, i) => (one[i] as CollectorRun).seconds / x.seconds);
    console.log(
      `  collector --threads ${t}: ${rate(s)} (${s.toFixed(2)} s wall, ${median(rs.map((x) => x.cpu)).toFixed(2)} s CPU, ` +
        `peak RSS ${median(rs.map((x) => x.peakMiB)).toFixed(0)} MiB, dropped keys ${median(rs.map((x) => x.dropped))}, ` +
        `minutes ${rs.every((x) => x.minutesExact) ? 'exact' : `NOT exact: ${rs.find((x) => x.mismatch)?.mismatch}`}); ` +
        `/mawk ${median(ratios).toFixed(2)}x (per run: ${ratios.map((x) => x.toFixed(2)).join(', ')})` +
        (t === THREADS[0]
          ? ''
          : `; vs --threads ${THREADS[0]}: ${median(speedup).toFixed(2)}x (per run: ${speedup.map((x) => x.toFixed(2)).join(', ')})`),
    );
    if (ga.length > 0) {
      const gr = rs.map((x, i) => (ga[i] as number) / x.seconds);
      console.log(`    /goaccess ${median(gr).toFixed(2)}x`);
    }
    if (STATE) {
      const st = rs.map((x) => x.state as StateRun);
      const m = (f: (x: StateRun) => number) => median(st.map(f));
      console.log(
        (CRASH
          ? `    state file: killed (SIGKILL) with a journal of ${st.map((x) => x.journalMB.toFixed(0)).join(', ')} MB, `
          : `    state file: stop (shutdown snapshot of ${m((x) => x.savedMB).toFixed(0)} MB) ${m((x) => x.stopSeconds).toFixed(2)} s, `) +
          `peak RSS of the whole first life ${m((x) => x.lifePeakMiB).toFixed(0)} MiB (per run: ${st.map((x) => x.lifePeakMiB.toFixed(0)).join(', ')}); ` +
          `restart to first answer ${m((x) => x.restoreSeconds).toFixed(2)} s, peak RSS then ${m((x) => x.restorePeakMiB).toFixed(0)} MiB ` +
          `(per run: ${st.map((x) => x.restorePeakMiB.toFixed(0)).join(', ')}), minutes after the restore ${st.every((x) => x.restoredExact) ? 'exact' : 'NOT exact'}`,
      );
    }
    const polled = rs.flatMap((x) => (x.dashboard ? [x.dashboard] : []));
    if (polled.length > 0) {
      console.log(
        `    dashboard, TopN 60m uri every 2 s for ${DASHBOARD} s (per run: answers, first, p50, slowest after the first): ${polled
          .map(
            (d) =>
              `${d.length}, ${(d[0] as number).toFixed(0)} ms, ${median(d).toFixed(1)} ms, ${Math.max(...d.slice(1)).toFixed(0)} ms`,
          )
          .join('; ')}`,
      );
    }
    const q = rs.at(-1)?.topn ?? {};
    console.log(
      `    TopN p99 of 50 queries, n=10 (the first's time, p50): ${Object.entries(q)
        .map(([k, v]) => `${k} ${v.p99.toFixed(1)} ms (${v.first.toFixed(0)}, ${v.p50.toFixed(1)})`)
        .join(', ')}`,
    );
  }
  if (pairing) {
    // Twice the lines in the time both took: what two cores give two processes that share nothing.
    const gain = pairs.map((x, i) => ((one[i] as CollectorRun).seconds * 2) / x);
    console.log(
      `  two --threads 1 collectors at once (the machine's ceiling for two threads): ${rate(median(pairs) / 2)} together, ` +
        `${median(gain).toFixed(2)}x one (per run: ${gain.map((x) => x.toFixed(2)).join(', ')})`,
    );
  }
  console.log(
    `  mawk two-field count ${rate(median(mawk))}${ga.length > 0 ? `; goaccess ${rate(median(ga))}` : ''}`,
  );
}
