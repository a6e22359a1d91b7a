/**
 * A child process for the writer's crash and signal tests. It writes numbered lines
 * (`<seq> <padding>`) to one log as fast as asked, with the process signal handlers installed,
 * and reports on stdout (synchronously, so a report is never lost):
 *   `ready` after the first batch, `done` once `total` lines are accepted, `reopen` after SIGUSR1 reopened the log,
 *   `flush <n>` after SIGTERM/SIGINT flushed it, n = lines accepted so far.
 * Usage: node writer-child.ts '<json options>'
 *   { path, buffer?, gzip?, flush?, batch (lines per tick), pause (ms between ticks; 0 = setImmediate), total? }
 * @module
 */
import { writeSync } from 'node:fs';
import { compileNginx } from '../../src/format/nginx/compile.ts';
import { createLog } from '../../src/writer/log.ts';
import { installSignalHandlers } from '../../src/writer/signals.ts';

interface ChildOptions {
  path: string;
  buffer?: string;
  gzip?: number;
  flush?: string;
  batch: number;
  pause: number;
  /** Stop writing after this many lines (then idle until a signal). */
  total?: number;
}

const o = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const say = (s: string) => writeSync(1, `${s}\n`);
const log = createLog(o.path, {
  format: compileNginx('$seq $pad'),
  ...(o.buffer ? { buffer: o.buffer } : {}),
  ...(o.gzip ? { gzip: o.gzip } : {}),
  ...(o.flush ? { flush: o.flush } : {}),
  onError: (d) => say(`error ${d.code} ${d.message}`),
});
let seq = 0;
installSignalHandlers({
  onSignal: (_sig, action) => say(action === 'reopen' ? 'reopen' : `flush ${seq}`),
});
const pad = 'GET /some/fairly/typical/path?with=query&and=more HTTP/1.1 200 5123 "Mozilla/5.0"';
const vars = { seq: 0, pad };
let first = true;
function tick(): void {
  const n = o.total === undefined ? o.batch : Math.min(o.batch, o.total - seq);
  for (let i = 0; i < n; i++) {
    vars.seq = seq;
    if (log.write(vars)) seq++;
  }
  if (first) {
    first = false;
    say('ready');
  }
  if (o.total !== undefined && seq >= o.total) {
    say('done');
    setInterval(() => {}, 60_000); // idle, alive, until a signal
    return;
  }
  if (o.pause > 0) setTimeout(tick, o.pause);
  else setImmediate(tick);
}
tick();
