/**
 * uWSGI logvars computed from Node's request and response, with Node meanings where uWSGI's
 * are about its own workers: `pid` the process id, `wid` the cluster worker id (1 outside a
 * cluster, like a single uWSGI worker), `core` the worker thread id (0 on the main thread),
 * `rss`/`vsz` the process's resident and virtual memory, `switches` 0 (no async cores),
 * `vars` the number of request header fields, `pktsize` the bytes of the request head.
 * Times are passed as numbers (seconds; `micros`/`msecs` integers) for the dialect to format.
 * @see ../../../shared/reference/002_ffba9bc8812e0339.txt
 * @module
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import type { RenderValue } from '../format/types.ts';
import type { Getter } from './getter.ts';
import { header } from './text.ts';
import { basicUserOf, remoteAddr, uwsgiVar } from './uwsgi-cgi.ts';

/** Virtual memory size in bytes (Linux `/proc/self/status` VmSize), undefined elsewhere. */
function vsz(): number | undefined {
  try {
    const m = /VmSize:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'latin1'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const wid = () => (cluster.isWorker && cluster.worker ? cluster.worker.id : 1);
const mb = (n: number | undefined) => (n === undefined ? undefined : Math.floor(n / (1024 * 1024)));

const FIXED: Record<string, Getter> = {
  uri: (s) => uwsgiVar(s, 'REQUEST_URI'),
  method: (s) => s.req.method,
  user: (s) => basicUserOf(s),
  addr: remoteAddr,
  host: (s) => header(s.req, 'host'),
  proto: (s) => `HTTP/${s.req.httpVersion}`,
  uagent: (s) => header(s.req, 'user-agent'),
  referer: (s) => header(s.req, 'referer'),
  status: (s) => s.status,
  micros: (s) => Math.round(s.requestTime * 1e6),
  msecs: (s) => Math.round(s.requestTime * 1e3),
  secs: (s) => s.requestTime,
  time: (s) => Math.floor(s.startTime / 1000),
  ctime: (s) => s.startTime / 1000,
  ltime: (s) => s.startTime / 1000,
  ftime: (s) => s.startTime / 1000,
  epoch: (s) => Math.floor(s.endTime / 1000),
  tmsecs: (s) => s.startTime,
  tmicros: (s) => s.startTime * 1000,
  size: (s) => s.bytesSent,
  hsize: (s) => s.headerBytes,
  rsize: (s) => s.bodyBytesSent,
  cl: (s) => {
    const n = Number(header(s.req, 'content-length') ?? 0);
    return Number.isFinite(n) ? n : 0;
  },
  pid: () => process.pid,
  wid,
  core: () => threadId,
  switches: () => 0,
  vars: (s) => s.req.rawHeaders.length / 2,
  headers: (s) => s.responseHeaderCount,
  pktsize: (s) => s.requestHeaderBytes,
  modifier1: () => 0,
  modifier2: () => 0,
  rss: () => process.memoryUsage.rss(),
  rssM: () => mb(process.memoryUsage.rss()),
  vsz: () => vsz(),
  vszM: () => mb(vsz()),
  rerr: (s) => (s.aborted && !s.req.complete ? 1 : 0),
  werr: (s) => (s.aborted ? 1 : 0),
  ioerr: (s) => (s.aborted ? (s.req.complete ? 1 : 2) : 0),
};

/** The getter of a uWSGI logvar, or undefined (then user-defined logvars are looked up). */
export function uwsgiGetter(name: string, metric?: (name: string) => RenderValue): Getter | undefined {
  if (Object.hasOwn(FIXED, name)) return FIXED[name];
  if (name.startsWith('var.')) {
    const v = name.slice(4);
    return (s) => uwsgiVar(s, v);
  }
  if (name.startsWith('metric.') && metric) {
    const m = name.slice(7);
    return () => metric(m);
  }
  return undefined;
}
