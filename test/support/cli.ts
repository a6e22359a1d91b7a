/**
 * Test support: run the real `bin/logtally` in a child process.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/logtally', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `logtally ...args` with `stdin` as its standard input. */
export async function runCli(args: readonly string[], stdin?: string | Uint8Array): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdin.end(stdin ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout: Buffer.concat(out), stderr: err };
}

export interface Daemon {
  readonly child: ChildProcess;
  /** Everything it wrote on stderr so far. */
  stderr: string;
}

/**
 * Starts `logtally ...args` and resolves once its stderr matches `ready` (the program's own
 * "listening" line, e.g. /gRPC on/): start processes one after another with this, never several
 * at once against one deadline. Rejects with its output if it exits first or is not ready within
 * `timeoutMs` (sized for a loaded 2-core machine; it is then killed).
 */
export async function startDaemon(
  args: readonly string[],
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<Daemon> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const d: Daemon = { child, stderr: '' };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`logtally ${args[0]} not ready after ${timeoutMs} ms:\n${d.stderr}`));
    }, timeoutMs);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`logtally ${args[0]} exited (${code ?? signal}) before it was ready:\n${d.stderr}`));
    };
    child.stderr?.on('data', (b: Buffer) => {
      d.stderr += b.toString();
      if (ready.test(d.stderr)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      }
    });
    child.once('exit', onExit);
  });
  return d;
}
