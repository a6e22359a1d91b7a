/**
 * What the long-running programs (collector, aggregator, frontend) share: timestamped
 * diagnostics on stderr, and running until SIGTERM or SIGINT, then stopping cleanly.
 * @module
 */
import { readFileSync } from 'node:fs';

/** One diagnostic line on stderr, prefixed with the time. */
export function daemonLog(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

/** Resolves once SIGTERM or SIGINT arrived and `stop()` finished (or failed). */
export function runUntilSignal(
  stop: () => Promise<void>,
  log: (line: string) => void = daemonLog,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      log(`${sig}: shutting down`);
      stop().then(resolve, resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}

/** Descriptors kept back from connections: log files (and rotated ones), the state file, DNS … */
export const DESCRIPTOR_RESERVE = 256;

/** The soft limit of open descriptors (RLIMIT_NOFILE), where /proc tells it; else undefined. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * Connections each of `listeners` listeners may hold at once, so that idle clients can never
 * take the descriptors the program needs for its own files: what the descriptor limit leaves
 * after DESCRIPTOR_RESERVE, shared evenly; at most 1024 and at least 16 per listener.
 */
export function connectionsPerListener(listeners: number, limit = openFileLimit()): number {
  const free = (limit ?? 4096) - DESCRIPTOR_RESERVE;
  return Math.max(16, Math.min(1024, Math.floor(free / Math.max(1, listeners))));
}
