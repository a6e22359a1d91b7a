/**
 * The uWSGI logvars logtally knows by name, with the type of their value (uWSGI 2.0,
 * core/logging.c `uwsgi_register_logchunks`). The type drives rendering (how a number or Date is
 * written) and parsing (what the text may be and what it becomes). Names are case-sensitive, as in
 * uWSGI. `var.NAME` is a request variable, `metric.NAME` a metric; every other name is a
 * user-defined logvar (`uwsgi.set_logvar`), a plain string.
 * @see ../../../../shared/reference/002_ffba9bc8812e0339.txt
 * @module
 */

/**
 * - `string`: text, written raw (uWSGI escapes nothing).
 * - `int`: a non-negative integer (`%d`/`%llu`): status, sizes, counts, `micros`/`msecs` durations.
 * - `signed`: an integer that may be negative (`metric.NAME`, and `app`/`app_req` of the built-in line).
 * - `seconds`: `secs`, C `%f` of a float (`0.000194`), at most 10 characters.
 * - `epoch`: whole seconds since the epoch (`time`, `epoch`).
 * - `epoch_ms`, `epoch_us`: milliseconds / microseconds since the epoch (`tmsecs`, `tmicros`).
 * - `ltime`: `23/Nov/2026:17:36:47 +0000`; typed as epoch seconds.
 * - `ctime`: `Mon Nov 23 17:36:47 2026` (C `ctime()`, local time, no zone); typed as epoch seconds.
 * - `ftime`: the request start formatted by `logdate` (strftime); typed as epoch seconds when the
 *   format pins the instant down, else the text. Without `logdate` it is `ltime`.
 * - `via`: the built-in line only: ` ` or ` via sendfile() ` / ` via route() ` / ` via offload() `;
 *   typed as null or `sendfile`/`route`/`offload`.
 */
export type UwsgiLogvarType =
  | 'string'
  | 'int'
  | 'signed'
  | 'seconds'
  | 'epoch'
  | 'epoch_ms'
  | 'epoch_us'
  | 'ltime'
  | 'ctime'
  | 'ftime'
  | 'via';

/**
 * How uWSGI resolves the name: a field of the request (`offsetof`), a function, a request variable
 * (`var.`), a metric (`metric.`), a user-defined logvar, or (logtally) a field of the built-in line.
 */
export type UwsgiLogvarKind = 'offsetof' | 'function' | 'var' | 'metric' | 'logvar' | 'builtin';

export interface UwsgiLogvarInfo {
  /** The name as written inside `%( )`. */
  readonly name: string;
  readonly type: UwsgiLogvarType;
  readonly kind: UwsgiLogvarKind;
  /** True unless the name is a user-defined logvar (which logtally cannot know). */
  readonly known: boolean;
}

/** The logvars uWSGI 2.0 registers, in its registration order. */
const TABLE: Readonly<Record<string, readonly [UwsgiLogvarType, UwsgiLogvarKind]>> = {
  // offsetof: fields of the request, written as they arrived
  uri: ['string', 'offsetof'], // REQUEST_URI
  method: ['string', 'offsetof'], // REQUEST_METHOD
  user: ['string', 'offsetof'], // REMOTE_USER
  addr: ['string', 'offsetof'], // REMOTE_ADDR
  host: ['string', 'offsetof'], // HTTP_HOST
  proto: ['string', 'offsetof'], // SERVER_PROTOCOL
  uagent: ['string', 'offsetof'], // HTTP_USER_AGENT
  referer: ['string', 'offsetof'], // HTTP_REFERER
  // functions
  status: ['int', 'function'],
  rsize: ['int', 'function'], // response body size
  hsize: ['int', 'function'], // response headers size
  size: ['int', 'function'], // hsize + rsize
  cl: ['int', 'function'], // request content length
  micros: ['int', 'function'], // response time, µs
  msecs: ['int', 'function'], // response time, ms
  secs: ['seconds', 'function'], // response time, s (float)
  tmsecs: ['epoch_ms', 'function'], // request start, ms since the epoch
  tmicros: ['epoch_us', 'function'], // request start, µs since the epoch
  time: ['epoch', 'function'], // request start, s since the epoch
  ltime: ['ltime', 'function'],
  ftime: ['ftime', 'function'],
  ctime: ['ctime', 'function'],
  epoch: ['epoch', 'function'], // now, s since the epoch
  pid: ['int', 'function'],
  wid: ['int', 'function'],
  switches: ['int', 'function'],
  vars: ['int', 'function'],
  core: ['int', 'function'],
  vsz: ['int', 'function'],
  rss: ['int', 'function'],
  vszM: ['int', 'function'],
  rssM: ['int', 'function'],
  pktsize: ['int', 'function'],
  modifier1: ['int', 'function'],
  modifier2: ['int', 'function'],
  headers: ['int', 'function'],
  werr: ['int', 'function'],
  rerr: ['int', 'function'],
  ioerr: ['int', 'function'],
};

/**
 * Fields of uWSGI's built-in request line (`uwsgi_logit_simple`) that no logvar produces; they
 * are names only in a format compiled with `builtin: true`.
 */
const BUILTIN: Readonly<Record<string, UwsgiLogvarType>> = {
  app: 'signed', // app id, -1 when no app handled the request
  app_req: 'signed', // requests served by that app, -1 when none
  req: 'int', // requests served by the whole instance
  via: 'via', // ` ` or ` via sendfile() ` …
};

const cache = new Map<string, UwsgiLogvarInfo>();
const builtinCache = new Map<string, UwsgiLogvarInfo>();

/**
 * Looks a logvar up by name. Never fails: unknown names are user-defined logvars (strings).
 * With `builtin`, the extra fields of the built-in request line are known too.
 */
export function uwsgiLogvar(name: string, builtin = false): UwsgiLogvarInfo {
  const c = builtin ? builtinCache : cache;
  let info = c.get(name);
  if (info) return info;
  const row = Object.hasOwn(TABLE, name) ? TABLE[name] : undefined;
  if (row) {
    info = { name, type: row[0], kind: row[1], known: true };
  } else if (builtin && Object.hasOwn(BUILTIN, name)) {
    info = { name, type: BUILTIN[name] as UwsgiLogvarType, kind: 'builtin', known: true };
  } else if (name.startsWith('var.')) {
    info = { name, type: 'string', kind: 'var', known: true };
  } else if (name.startsWith('metric.')) {
    info = { name, type: 'signed', kind: 'metric', known: true };
  } else {
    info = { name, type: 'string', kind: 'logvar', known: false };
  }
  c.set(name, info);
  return info;
}

/** Every logvar name uWSGI registers (not the `var.`/`metric.` prefixes). */
export function knownUwsgiLogvars(): string[] {
  return Object.keys(TABLE);
}
