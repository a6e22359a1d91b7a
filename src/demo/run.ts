/**
 * `logtally demo`: the whole system on live traffic, on loopback, in one process tree.
 *
 * This process runs the small apps and the traffic generator (src/demo/apps.ts) and starts, one
 * after another and each once it says it is listening: the gateway (`logtally gateway -c`, in
 * front of four backends), two collectors (one discovering the gateway's logs through
 * `--nginx-conf`, plus the uWSGI-layout log; one reading the Envoy-format log), the aggregator
 * over both, and the dashboard over the aggregator. The logs start with 24 hours of generated
 * history (each line with its own timestamp), which the collectors read with `--from-start`.
 * SIGINT/SIGTERM (or --duration) stop the generator, then every child (SIGTERM, SIGKILL after
 * 10 s), then the apps; the ports are free when it returns.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileNginx } from '../format/nginx/compile.ts';
import {
  backend,
  Episodes,
  envoyApp,
  envoyFormat,
  listen,
  startTraffic,
  UWSGI_FORMAT,
  uwsgiApp,
  uwsgiFormat,
} from './apps.ts';
import { BURST_PREFIX, generateHistory } from './traffic.ts';

const BIN = fileURLToPath(new URL('../../bin/logtally', import.meta.url));

/** The gateway's access log: nginx's combined with the host first and the upstream lists. */
export const ACCESS_FORMAT =
  '$host $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent ' +
  '"$http_referer" "$http_user_agent" $upstream_addr $upstream_status $upstream_response_time $request_time';
/** The gateway's upstream log: one line per contact, with the host (so it is counted per website). */
export const CONTACT_FORMAT =
  '$host $remote_addr $upstream_last_addr [$time_local] "$upstream_method $upstream_uri" ' +
  '$upstream_last_status $upstream_last_response_length $upstream_last_bytes_sent ' +
  '$upstream_last_bytes_received $upstream_last_connect_time $upstream_last_header_time $upstream_last_response_time';

export interface DemoOptions {
  /** Run this long (ms), then stop; undefined: until SIGINT/SIGTERM. */
  durationMs?: number;
  /** First port of a consecutive range of 10; undefined: free ports chosen by the system. */
  portBase?: number;
  /** Keep the logs and configuration here (kept afterwards); default: a temporary directory, removed. */
  dir?: string;
  /** Where the banner and progress go. */
  out: (line: string) => void;
  /** Stop early (tests). */
  signal?: AbortSignal;
}

interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly errFile: string;
  output: string;
}

async function freePort(): Promise<number> {
  const s: Server = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const a = s.address();
  s.close();
  await once(s, 'close');
  if (a === null || typeof a === 'string') throw new Error('no free port');
  return a.port;
}

function gatewayConf(port: number, up: readonly number[]): string {
  const q = (s: string) => `'${s.replaceAll("'", "\\'")}'`;
  return `# Written by logtally demo. logtally gateway -c THIS_FILE; logtally collector --nginx-conf THIS_FILE
events {}

http {
    log_format main ${q(ACCESS_FORMAT)};
    upstream_log_format contact ${q(CONTACT_FORMAT)};

    access_log logs/access.log main buffer=32k flush=1s;
    upstream_log logs/upstream.log contact buffer=32k flush=1s;

    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;

    upstream app {
        server 127.0.0.1:${up[0]} max_fails=0;
        server 127.0.0.1:${up[1]} max_fails=0;
        keepalive 16;
    }
    # The flaky backend: 502 for a minute every five.
    upstream api {
        server 127.0.0.1:${up[2]} max_fails=0;
    }
    # The slow backend: 1–2 s per request during its episode.
    upstream search {
        server 127.0.0.1:${up[3]} max_fails=0;
    }

    server {
        listen 127.0.0.1:${port} default_server;
        server_name _;
        location / { proxy_pass http://app; }
    }
    server {
        listen 127.0.0.1:${port};
        server_name api.shop.example;
        location / { proxy_pass http://api; }
    }
    server {
        listen 127.0.0.1:${port};
        server_name search.shop.example;
        location / {
            proxy_read_timeout 10s;
            proxy_pass http://search;
        }
    }
}
`;
}

/** Runs the demo; resolves with the exit status once everything has stopped. */
export async function runDemo(o: DemoOptions): Promise<number> {
  const started = Date.now();
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'logtally-demo-'));
  const keep = o.dir !== undefined;
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const children: Child[] = [];
  const servers: Server[] = [];
  let stopTraffic: (() => Promise<void>) | undefined;
  const apps: { close(): void }[] = [];
  let port = o.portBase;
  const nextPort = async () => (port === undefined ? freePort() : port++);
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  o.signal?.addEventListener('abort', stop, { once: true });
  if (o.signal?.aborted) stop();

  const spawnChild = async (name: string, args: string[], ready: RegExp): Promise<Child> => {
    const errFile = join(dir, `${name}.err`);
    const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
    const c: Child = { name, proc, errFile, output: '' };
    children.push(c);
    const file = createWriteStream(errFile);
    proc.stderr?.pipe(file);
    proc.stderr?.on('data', (d: Buffer) => {
      if (c.output.length < 64 * 1024) c.output += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (ready.test(c.output)) {
          proc.stderr?.off('data', check);
          proc.off('exit', onExit);
          ac.signal.removeEventListener('abort', onAbort);
          resolve();
        }
      };
      const onExit = (code: number | null, sig: string | null) =>
        reject(new Error(`${name} exited (${code ?? sig}) before it was ready:\n${c.output.trim()}`));
      const onAbort = () => reject(new Error('interrupted'));
      proc.stderr?.on('data', check);
      proc.once('exit', onExit);
      ac.signal.addEventListener('abort', onAbort, { once: true });
    });
    return c;
  };

  let code = 0;
  try {
    const episodes = new Episodes();
    // The backends, the two apps.
    const kinds = ['normal', 'normal', 'flaky', 'slow'] as const;
    const upPorts: number[] = [];
    for (const [i, kind] of kinds.entries()) {
      const s = backend(kind, episodes, 100 + i);
      servers.push(s);
      upPorts.push(await listen(s, port === undefined ? 0 : port++));
    }
    const gatewayPort = await nextPort();
    const confPath = join(dir, 'gateway.conf');
    writeFileSync(confPath, gatewayConf(gatewayPort, upPorts));

    // 24 hours of history, each line with its own time, before anything appends to the logs.
    const now = Math.floor(Date.now() / 1000);
    const history = generateHistory(
      {
        access: compileNginx(ACCESS_FORMAT),
        upstream: compileNginx(CONTACT_FORMAT),
        uwsgi: uwsgiFormat(),
        envoy: envoyFormat(),
      },
      { end: Math.floor(now / 60) * 60, span: 24 * 3600, upstreams: upPorts.map((p) => `127.0.0.1:${p}`) },
    );
    const logs = {
      access: join(dir, 'logs', 'access.log'),
      upstream: join(dir, 'logs', 'upstream.log'),
      uwsgi: join(dir, 'logs', 'uwsgi.log'),
      envoy: join(dir, 'logs', 'envoy.log'),
    };
    writeFileSync(logs.access, history.access);
    writeFileSync(logs.upstream, history.upstream);
    writeFileSync(logs.uwsgi, history.uwsgi);
    writeFileSync(logs.envoy, history.envoy);

    await spawnChild('gateway', ['gateway', '-c', confPath, '-p', dir], /gateway: listening on/);
    const u = uwsgiApp(logs.uwsgi, 7);
    const e = envoyApp(logs.envoy, 8);
    apps.push(u.log, e.log);
    servers.push(u.server, e.server);
    const uwsgiPort = await listen(u.server, port === undefined ? 0 : port++);
    const envoyPort = await listen(e.server, port === undefined ? 0 : port++);

    const col1 = await nextPort();
    const col2 = await nextPort();
    const agg = await nextPort();
    const web = await nextPort();
    await spawnChild(
      'collector-web1',
      [
        'collector',
        '--source',
        'web1',
        '--listen',
        `127.0.0.1:${col1}`,
        '--metrics-listen',
        '',
        '--nginx-conf',
        confPath,
        '--logs',
        logs.uwsgi,
        '--dialect',
        'uwsgi',
        '--format',
        UWSGI_FORMAT,
        '--from-start',
      ],
      /gRPC on/,
    );
    await spawnChild(
      'collector-api1',
      [
        'collector',
        '--source',
        'api1',
        '--listen',
        `127.0.0.1:${col2}`,
        '--metrics-listen',
        '',
        '--logs',
        logs.envoy,
        '--dialect',
        'envoy',
        '--format',
        'envoy-default',
        '--from-start',
      ],
      /gRPC on/,
    );
    await spawnChild(
      'aggregator',
      [
        'aggregator',
        '--source',
        'fleet',
        '--listen',
        `127.0.0.1:${agg}`,
        '--collectors',
        `127.0.0.1:${col1},127.0.0.1:${col2}`,
      ],
      /gRPC on/,
    );
    await spawnChild(
      'frontend',
      [
        'frontend',
        '--listen',
        `127.0.0.1:${web}`,
        '--target',
        `127.0.0.1:${agg}`,
        '--allow-target',
        `127.0.0.1:${col1},127.0.0.1:${col2}`,
        '--refresh',
        '10',
      ],
      /frontend: http on/,
    );
    stopTraffic = startTraffic({ gateway: gatewayPort, uwsgi: uwsgiPort, envoy: envoyPort }, episodes, 9);

    const cli = `${process.argv[1] === BIN ? 'bin/logtally' : 'logtally'}`;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    o.out(
      [
        `logtally demo: running (ready in ${secs} s; logs, configuration and diagnostics in ${dir})`,
        '',
        `  dashboard     http://127.0.0.1:${web}/                  (frontend over the aggregator)`,
        `  aggregator    127.0.0.1:${agg}  fleet: web1 + api1`,
        `  collector     127.0.0.1:${col1}  web1: the gateway's access and upstream logs (found through --nginx-conf ${confPath}), the uWSGI app's log`,
        `  collector     127.0.0.1:${col2}  api1: the Envoy-format log of the API`,
        `  gateway       http://127.0.0.1:${gatewayPort}/  in front of 4 backends (api.shop.example: 502s for a minute every 5; search.shop.example: slow episodes)`,
        `  uWSGI app     http://127.0.0.1:${uwsgiPort}/  Envoy API  http://127.0.0.1:${envoyPort}/  (rate limit: 5 req/s per client prefix, 429)`,
        `  history       ${history.lines.toLocaleString('en-US')} lines over the last 24 h, read with --from-start`,
        '',
        '  Clients: the gateway sees each client connect from its own loopback address (127.a.b.c);',
        '  the two apps take the client from X-Forwarded-For (IPv4 and 2001:db8::/32 ranges).',
        '',
        'Three things to try:',
        `  open http://127.0.0.1:${web}/?by=prefix&f_status=429&w=5m         who gets rate-limited (${BURST_PREFIX})`,
        `  ${cli} topn --target 127.0.0.1:${agg} --group-by upstream --status '>=500' --window 5m`,
        `  ${cli} trend --target 127.0.0.1:${agg} --window 24h --website api.example.io`,
        '',
        o.durationMs === undefined
          ? 'Ctrl-C stops everything.'
          : `Stops by itself after ${o.durationMs / 1000} s (or Ctrl-C).`,
      ].join('\n'),
    );

    // Run until the duration ends, a signal arrives, or a child dies.
    await new Promise<void>((resolve) => {
      if (ac.signal.aborted) return resolve();
      const timer = o.durationMs === undefined ? undefined : setTimeout(stop, o.durationMs);
      ac.signal.addEventListener('abort', () => resolve(), { once: true });
      for (const c of children) {
        c.proc.once('exit', (status, sig) => {
          if (ac.signal.aborted) return;
          o.out(
            `logtally demo: ${c.name} exited (${status ?? sig}); stopping. Its diagnostics: ${c.errFile}`,
          );
          code = 1;
          resolve();
        });
      }
      ac.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    });
  } catch (e) {
    if (!ac.signal.aborted) {
      o.out(`logtally demo: ${(e as Error).message}`);
      code = 1;
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    o.signal?.removeEventListener('abort', stop);
    await stopTraffic?.();
    // Children in reverse order of start: the dashboard first, the gateway last.
    for (const c of [...children].reverse()) {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) continue;
      const exited = once(c.proc, 'exit');
      c.proc.kill('SIGTERM');
      const t = setTimeout(() => c.proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    for (const a of apps) a.close();
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (!s.listening) return resolve();
            s.close(() => resolve());
            (s as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      ),
    );
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  return code;
}
