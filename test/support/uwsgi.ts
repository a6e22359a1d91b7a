/**
 * Test support: run Debian's real uWSGI (`uwsgi` + `uwsgi-plugin-python3`) on loopback from a
 * temporary directory with a WSGI app, and read the request log it writes. Nothing is mocked.
 * Requests are sent with `rawRequest` from ./nginx.ts (byte-exact, over raw TCP).
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForListening } from './listening.ts';
import { freePort } from './nginx.ts';

const PLUGIN_DIRS = ['/usr/lib/uwsgi/plugins', '/usr/lib64/uwsgi/plugins', '/usr/local/lib/uwsgi/plugins'];

export interface UwsgiInstall {
  readonly binary: string;
  readonly pluginDir: string;
  /** Plugins present in `pluginDir` (file names without `_plugin.so`). */
  readonly plugins: ReadonlySet<string>;
}

/**
 * Finds Debian's uwsgi with the python3 and logfile plugins; undefined (with the reason in
 * `why`) when something is missing, so tests can skip with a clear message.
 */
export function findUwsgi():
  | { install: UwsgiInstall; why?: undefined }
  | { install?: undefined; why: string } {
  const binary = ['/usr/bin/uwsgi', '/usr/local/bin/uwsgi'].find((p) => existsSync(p));
  if (!binary) return { why: 'uwsgi is not installed (apt-get install -y uwsgi uwsgi-plugin-python3)' };
  const pluginDir = PLUGIN_DIRS.find((d) => existsSync(join(d, 'python3_plugin.so')));
  if (!pluginDir)
    return { why: 'the uWSGI python3 plugin is not installed (apt-get install -y uwsgi-plugin-python3)' };
  const plugins = new Set<string>();
  for (const p of ['python3', 'logfile', 'router_basicauth']) {
    if (existsSync(join(pluginDir, `${p}_plugin.so`))) plugins.add(p);
  }
  if (!plugins.has('logfile')) return { why: 'the uWSGI logfile plugin is missing (package uwsgi-core)' };
  return { install: { binary, pluginDir, plugins } };
}

export interface UwsgiOptions {
  /** Python source of the WSGI app (module-level `application`). */
  readonly app: string;
  /** `--logformat`; omitted for uWSGI's built-in request line. */
  readonly logformat?: string;
  /** More command-line arguments (e.g. `--route`, `--logdate=…`). */
  readonly args?: readonly string[];
  /** Extra plugins to load besides python3 and logfile. */
  readonly plugins?: readonly string[];
  /** The zone uWSGI runs in (`TZ`); default this process's. */
  readonly tz?: string;
}

export interface RunningUwsgi {
  readonly port: number;
  readonly dir: string;
  /** The request log (`--req-logger file:…`). */
  readonly logPath: string;
  readonly process: ChildProcess;
  /** Everything uWSGI wrote on stdout and stderr (its own log). */
  output(): string;
  /** The request log's bytes once it holds at least `lines` lines (10 s at most). */
  waitForLines(lines: number): Promise<Buffer>;
  /** Stops uWSGI (the master) with SIGINT and waits for it to exit. */
  stop(): Promise<void>;
  /** Removes the temporary directory. */
  cleanup(): Promise<void>;
}

function countLines(b: Buffer): number {
  let n = 0;
  for (const c of b) if (c === 0x0a) n++;
  return n;
}

/**
 * Starts `uwsgi --plugin python3,logfile --http-socket 127.0.0.1:PORT --wsgi-file app.py --master
 * --processes 1 [--logformat …] --req-logger file:PATH --pidfile …` from a fresh temp directory and
 * resolves once the port accepts connections. Requests up to 64 KiB and log records up to 64 KiB
 * are allowed (`--buffer-size`, `--log-master-bufsize`): uWSGI cuts a request-log record at the
 * log master's buffer size, 8192 bytes by default.
 */
export async function startUwsgi(install: UwsgiInstall, opts: UwsgiOptions): Promise<RunningUwsgi> {
  const dir = await mkdtemp(join(tmpdir(), 'logtally-uwsgi-'));
  const appPath = join(dir, 'app.py');
  const logPath = join(dir, 'request.log');
  const pidPath = join(dir, 'uwsgi.pid');
  await writeFile(appPath, opts.app);
  const launch = (port: number) => {
    const args = [
      '--plugin-dir',
      install.pluginDir,
      '--plugin',
      ['python3', 'logfile', ...(opts.plugins ?? [])].join(','),
      '--http-socket',
      `127.0.0.1:${port}`,
      '--wsgi-file',
      appPath,
      '--master',
      '--processes',
      '1',
      '--buffer-size',
      '65535',
      '--log-master-bufsize',
      '65536',
      '--req-logger',
      `file:${logPath}`,
      '--pidfile',
      pidPath,
      ...(opts.logformat === undefined ? [] : ['--logformat', opts.logformat]),
      ...(opts.args ?? []),
    ];
    const env = { ...process.env };
    if (opts.tz !== undefined) env.TZ = opts.tz;
    const child = spawn(install.binary, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (d: Buffer) => {
      out += d.toString('latin1');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    return { child, output: () => out, exited: once(child, 'exit') };
  };
  // The port was free a moment ago, but a concurrent test may take it first; then the port
  // answers (someone else's server) while uWSGI failed to bind. Only uWSGI's own "bound" line
  // proves it is ours: retry with another port otherwise.
  let port = 0;
  let started: ReturnType<typeof launch> | undefined;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const s = launch(port);
    const bound = `bound to TCP address 127.0.0.1:${port}`;
    const deadline = Date.now() + 15_000;
    while (!s.output().includes(bound) && s.child.exitCode === null && s.child.signalCode === null) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (s.output().includes(bound)) {
      started = s;
      break;
    }
    s.child.kill('SIGKILL');
    await s.exited;
    if (attempt === 3 || !s.output().includes('Address already in use')) {
      throw new Error(`uwsgi did not bind 127.0.0.1:${port}: ${s.output()}`);
    }
  }
  const { child, exited } = started;
  const out = () => started.output();
  await waitForListening('uwsgi', child, port, out, 15_000);
  return {
    port,
    dir,
    logPath,
    process: child,
    output: out,
    async waitForLines(lines) {
      const until = Date.now() + 10_000;
      for (;;) {
        const b = await readFile(logPath).catch(() => Buffer.alloc(0));
        if (countLines(b) >= lines) return b;
        if (Date.now() > until) {
          throw new Error(`request log has ${countLines(b)} lines, expected ${lines}\n${out()}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // The spawned process is the master (its pid is the one in the pidfile).
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
