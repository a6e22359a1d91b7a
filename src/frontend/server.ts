/**
 * Serves the dashboard app over HTTP on `--listen`.
 * @module
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { connectionsPerListener } from '../daemon.ts';
import { parseHostPort } from '../rpc/address.ts';
import { createFrontendApp, type FrontendAppOptions } from './app.ts';

export interface FrontendOptions extends FrontendAppOptions {
  /** HTTP listen address: `:8080` (all interfaces), `127.0.0.1:0` (any free port), … */
  readonly listen: string;
}

export interface RunningFrontend {
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts the dashboard. Rejects with a LogtallyError naming the flag for a malformed address,
 * or with the listen error (EADDRINUSE…).
 * @example
 * const f = await startFrontend({ listen: '127.0.0.1:0', target: 'localhost:9091' });
 * console.log(`http://127.0.0.1:${f.port}/`);
 * await f.close();
 */
export async function startFrontend(options: FrontendOptions): Promise<RunningFrontend> {
  const addr = parseHostPort(options.listen, '--listen');
  const app = createFrontendApp(options);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  // Slow clients cannot hold connections open for ever.
  server.headersTimeout = 10_000;
  server.maxConnections = connectionsPerListener(1);
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(addr.port, addr.host === '' ? undefined : addr.host);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
