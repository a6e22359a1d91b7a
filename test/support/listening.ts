/**
 * Test support: wait until a server started as a child process accepts TCP connections on a
 * loopback port, failing early (with its output) if it exits, and killing it on timeout.
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';

export async function waitForListening(
  name: string,
  child: ChildProcess,
  port: number,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}: ${output()}`);
    }
    try {
      const s = connect(port, '127.0.0.1');
      await once(s, 'connect');
      s.destroy();
      return;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${name} did not start listening on ${port}: ${output()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** A loopback port that was free a moment ago (nothing listens on it now). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  await once(srv, 'close');
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}
