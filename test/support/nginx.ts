/**
 * Test support: run Debian's real nginx on loopback from a temporary prefix, and send it
 * byte-exact requests. Used by end-to-end tests; nothing here is mocked.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForListening } from './listening.ts';

/** Path of the nginx binary, or undefined when nginx is not installed. */
export function findNginx(): string | undefined {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

export { freePort };

export interface RunningNginx {
  readonly prefix: string;
  readonly process: ChildProcess;
  /** Graceful stop (SIGQUIT flushes buffered logs); resolves when nginx has exited. */
  stop(): Promise<void>;
  /** Removes the prefix directory. */
  cleanup(): Promise<void>;
  stderr(): string;
}

/**
 * Writes `http` (the body of the http block) into a complete nginx.conf under a fresh prefix and
 * starts nginx in the foreground. `ready` is a port that accepts connections once nginx runs.
 */
export async function startNginx(binary: string, http: string, ready: number): Promise<RunningNginx> {
  const prefix = await mkdtemp(join(tmpdir(), 'logtally-nginx-'));
  await mkdir(join(prefix, 'logs'));
  const conf = `
user root;
daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log info;
events { worker_connections 64; }
http {
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  access_log off;
${http}
}
`;
  await writeFile(join(prefix, 'nginx.conf'), conf);
  const child = spawn(
    binary,
    ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs/error.log')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = once(child, 'exit');
  await waitForListening('nginx', child, ready, () => err, 10_000);
  return {
    prefix,
    process: child,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGQUIT');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
    async cleanup() {
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

/** Sends raw request bytes on a new connection and returns the whole raw response. */
export async function rawRequest(port: number, request: Uint8Array | string): Promise<Buffer> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  // Write without half-closing: nginx treats an early FIN as a client abort when proxying.
  // The request asks for `Connection: close`, so the server ends the connection.
  s.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request);
  const timer = setTimeout(() => s.destroy(new Error('no response within 10 s')), 10_000);
  try {
    await once(s, 'end');
  } finally {
    clearTimeout(timer);
    s.destroy();
  }
  return Buffer.concat(chunks);
}

/** The status code of a raw HTTP/1.x response. */
export function statusOf(response: Buffer): number {
  const m = /^HTTP\/1\.\d (\d{3})/.exec(response.toString('latin1'));
  return m ? Number(m[1]) : -1;
}
