/**
 * Every open log of the process, so signal handlers and the exit hook reach them. A log
 * registers when created and leaves when closed.
 * @module
 */

/** What process-wide hooks need from a log. */
export interface Reopenable {
  flush(): void;
  reopen(): void;
}

const open = new Set<Reopenable>();
let exitHook = false;

function flushAll(): void {
  for (const l of open) l.flush();
}

/**
 * Registers a log. Buffered logs also get the process `exit` hook (one listener for all, like
 * pino's): synchronous writes make flushing there possible.
 */
export function register(l: Reopenable, buffered: boolean): void {
  open.add(l);
  if (buffered && !exitHook) {
    exitHook = true;
    process.on('exit', flushAll);
  }
}

export function unregister(l: Reopenable): void {
  open.delete(l);
  if (open.size === 0 && exitHook) {
    exitHook = false;
    process.removeListener('exit', flushAll);
  }
}

/** The logs currently open in this process. */
export function openLogs(): Reopenable[] {
  return [...open];
}
