/**
 * Test support: run test/support/writer-child.ts and follow its stdout reports.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';

const CHILD = new URL('./writer-child.ts', import.meta.url).pathname;

export interface WriterChild {
  readonly process: ChildProcess;
  /** Resolves with the first report line starting with `prefix`. */
  report(prefix: string, timeoutMs?: number): Promise<string>;
  /** Resolves when the child has exited: its exit code and signal. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export function startWriterChild(options: object): WriterChild {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { prefix: string; resolve: (s: string) => void }[] = [];
  let buf = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (line.startsWith(w.prefix)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
      i = buf.indexOf('\n');
    }
  });
  const exit = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    process: child,
    stderr: () => err,
    exited: () => exit,
    report(prefix, timeoutMs = 20_000) {
      const hit = lines.find((l) => l.startsWith(prefix));
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new Error(
                `child: no "${prefix}" report within ${timeoutMs} ms; stdout ${JSON.stringify(lines)}, stderr ${err}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          prefix,
          resolve: (s) => {
            clearTimeout(t);
            resolve(s);
          },
        });
        void exit.then(() => {
          // Reports are written synchronously before any exit, so a late exit means no report.
          setImmediate(() => {
            clearTimeout(t);
            reject(
              new Error(`child exited without "${prefix}"; stdout ${JSON.stringify(lines)}, stderr ${err}`),
            );
          });
        });
      });
    },
  };
}

/** Waits (polling the file's size every 5 ms) until `path` holds at least `bytes`. */
export async function untilSize(path: string, bytes: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let size = -1;
    try {
      size = statSync(path).size;
    } catch {
      // not created yet
    }
    if (size >= bytes) return;
    if (Date.now() > deadline) throw new Error(`${path} did not reach ${bytes} bytes (has ${size})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
