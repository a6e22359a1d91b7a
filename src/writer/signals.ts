/**
 * Opt-in process signal wiring (a library must not take signals by default):
 * - SIGUSR1 → `reopen()` every open log (the nginx convention logrotate's `postrotate` uses);
 * - SIGTERM, SIGINT → `flush()` every open log, then the signal's default action (the process
 *   ends by that signal) unless another listener for it exists, which then decides.
 * The process `exit` hook that flushes buffered logs is always there (see registry.ts).
 * @module
 */
import { openLogs, type Reopenable } from './registry.ts';

export interface SignalOptions {
  /** The logs to act on; default every log open at the time of the signal. */
  readonly logs?: Iterable<Reopenable>;
  /** Default `['SIGUSR1']`. */
  readonly reopen?: readonly NodeJS.Signals[];
  /** Default `['SIGTERM', 'SIGINT']`. */
  readonly flush?: readonly NodeJS.Signals[];
  /** Called after the logs have been reopened or flushed for a signal. */
  readonly onSignal?: (signal: NodeJS.Signals, action: 'reopen' | 'flush') => void;
}

/**
 * Installs the handlers; returns a function that removes them.
 * @example
 * const uninstall = installSignalHandlers();
 * // logrotate: postrotate kill -USR1 $(cat /run/app.pid)
 */
export function installSignalHandlers(opts: SignalOptions = {}): () => void {
  const logs = () => (opts.logs ? [...opts.logs] : openLogs());
  const installed: [NodeJS.Signals, () => void][] = [];
  const uninstall = () => {
    for (const [sig, fn] of installed) process.removeListener(sig, fn);
    installed.length = 0;
  };
  for (const sig of opts.reopen ?? ['SIGUSR1']) {
    const fn = () => {
      for (const l of logs()) l.reopen();
      opts.onSignal?.(sig, 'reopen');
    };
    process.on(sig, fn);
    installed.push([sig, fn]);
  }
  for (const sig of opts.flush ?? ['SIGTERM', 'SIGINT']) {
    const fn = () => {
      for (const l of logs()) l.flush();
      opts.onSignal?.(sig, 'flush');
      if (process.listenerCount(sig) === 1) {
        // Only ours: restore the default action and re-raise, so the process ends as it would have.
        uninstall();
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, fn);
    installed.push([sig, fn]);
  }
  return uninstall;
}
