/**
 * What the long-running programs (collector, aggregator, frontend) share: timestamped
 * diagnostics on stderr, and running until SIGTERM or SIGINT, then stopping cleanly.
 * @module
 */

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
