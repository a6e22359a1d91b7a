/**
 * Test support: run the real `logtally gateway` in a child process from a configuration text,
 * wait for its "listening" line, and stop it with SIGTERM (which flushes buffered logs). Also
 * a small HTTP client and loopback backends the scenarios need.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './cli.ts';

export interface RunningGateway {
  readonly dir: string;
  readonly process: ChildProcess;
  stderr(): string;
  /** Sends a signal and resolves when the gateway wrote `line` to stderr after it. */
  signal(sig: NodeJS.Signals, line: RegExp): Promise<void>;
  /** SIGTERM; resolves with the exit code once the gateway has exited. */
  stop(): Promise<number | null>;
}

/** Writes `conf(dir)` to DIR/gateway.conf and starts `logtally gateway -c` on it. */
export async function startGateway(
  conf: (dir: string) => string,
  timeoutMs = 30_000,
): Promise<RunningGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'logtally-gw-'));
  const file = join(dir, 'gateway.conf');
  await writeFile(file, conf(dir));
  const child = spawn(process.execPath, [BIN, 'gateway', '-c', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const waiters: { re: RegExp; from: number; done: () => void }[] = [];
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.splice(0)) {
      if (w.re.test(err.slice(w.from))) w.done();
      else waiters.push(w);
    }
  });
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    const check = () => {
      if (/gateway: listening on/.test(err)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`gateway exited with ${code}: ${err}`));
    });
  });
  return {
    dir,
    process: child,
    stderr: () => err,
    signal(sig, re) {
      return new Promise<void>((resolve) => {
        waiters.push({ re, from: err.length, done: resolve });
        child.kill(sig);
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(t);
      }
      return child.exitCode;
    },
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** One request on a fresh connection. */
export function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A loopback HTTP server running `handler`; resolves with its port. */
export async function backend(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ port: number; server: Server }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, server };
}
