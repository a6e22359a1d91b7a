/**
 * The gateway's configuration: the nginx subset `logtally gateway` runs, read from the same
 * directive tree as every nginx.conf logtally reads (lexer, includes, file:line errors), checked
 * as nginx checks it, with nginx's inheritance http → server → location → `if` / `limit_except`.
 * @module
 */

import { isIPv4, isIPv6 } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { ConfError } from '../format/errors.ts';
import { parseOpenLogFileCache } from '../format/nginx-conf/cache.ts';
import { checkShape, directiveError } from '../format/nginx-conf/checks.ts';
import { extractNginxConf } from '../format/nginx-conf/extract.ts';
import { isKnownVariable } from '../format/nginx-conf/known.ts';
import type { NginxConf, NginxLog, NginxMap, NginxOpenLogFileCache } from '../format/nginx-conf/model.ts';
import { type Directive, type ParsedNginxConf, parseNginxConf } from '../format/nginx-conf/parse.ts';
import { atoi, timeOrUndefined } from '../format/nginx-conf/units.ts';
import { type Condition, conditionVariables, parseCondition, variablesIn } from './condition.ts';
import { NGINX_ONLY, NGINX_ONLY_VARIABLES } from './unsupported.ts';

/** Where a directive may be: `if` is an `if` inside a location, `sif` one at the server level. */
type Ctx = 'main' | 'events' | 'http' | 'server' | 'location' | 'if' | 'sif' | 'limit_except' | 'upstream';

/** `proxy_next_upstream` conditions. */
export interface NextUpstream {
  readonly error: boolean;
  readonly timeout: boolean;
  readonly invalidHeader: boolean;
  readonly statuses: ReadonlySet<number>;
  readonly nonIdempotent: boolean;
}

export interface ErrorPage {
  readonly codes: readonly number[];
  /** `=code` → that code; `=` → the status of the redirected request; absent → the original code. */
  readonly override?: number | 'any';
  /** A URI (may carry `?args`) or `@name`. */
  readonly uri: string;
}

export interface ProxyPass {
  readonly scheme: 'http' | 'https';
  /** The group name or `host:port` as written. */
  readonly host: string;
  /** The URI part (`/` in `http://up/`), absent when none was written. */
  readonly uri?: string;
  /** Location prefix the URI part replaces (prefix locations only). */
  readonly file: string;
  readonly line: number;
}

export interface AccessRule {
  readonly allow: boolean;
  /** `all`, or an address / CIDR. */
  readonly what: string;
}

/** Everything one level (http, server, location, if, limit_except) says, after inheritance. */
export interface LevelConf {
  readonly accessLogs: readonly NginxLog[];
  readonly upstreamLogs: readonly NginxLog[];
  readonly openLogFileCache?: NginxOpenLogFileCache;
  readonly upstreamOpenLogFileCache?: NginxOpenLogFileCache;
  readonly root: string;
  readonly errorPages: readonly ErrorPage[];
  readonly nextUpstream: NextUpstream;
  readonly tries: number;
  readonly nextTimeout: number;
  readonly connectTimeout: number;
  readonly sendTimeout: number;
  /** `client_body_timeout`: between two reads of the request body (408 when it passes). */
  readonly clientBodyTimeout: number;
  /** `send_timeout`: between two writes to a client that stopped reading (the connection is closed). */
  readonly clientSendTimeout: number;
  readonly readTimeout: number;
  readonly setHeaders: readonly (readonly [string, string])[];
  readonly passRequestHeaders: boolean;
  readonly interceptErrors: boolean;
  readonly ignoreXAccel: boolean;
  readonly clientMaxBodySize: number;
  readonly access: readonly AccessRule[];
  /** Not inherited: only the level that says it. */
  readonly proxyPass?: ProxyPass;
  readonly ret?: { readonly code: number; readonly text?: string };
  readonly internal: boolean;
}

export interface IfBlock {
  readonly condition: Condition;
  readonly conf: LevelConf;
}

export interface Location {
  readonly kind: 'exact' | 'prefix' | 'noregex' | 'regex' | 'named';
  readonly pattern: string;
  readonly regex?: RegExp;
  readonly conf: LevelConf;
  readonly nested: readonly Location[];
  readonly ifs: readonly IfBlock[];
  /** How many of `ifs` are written before the level's `return` (nginx's rewrite phase runs in written order). */
  readonly returnAfter?: number;
  readonly limitExcept?: { readonly methods: ReadonlySet<string>; readonly conf: LevelConf };
  readonly file: string;
  readonly line: number;
}

export interface Listen {
  readonly host: string;
  readonly port: number;
  readonly ssl: boolean;
  readonly defaultServer: boolean;
}

export interface ServerConf {
  readonly listens: readonly Listen[];
  readonly names: readonly string[];
  readonly conf: LevelConf;
  readonly locations: readonly Location[];
  readonly named: ReadonlyMap<string, Location>;
  readonly ifs: readonly IfBlock[];
  /** How many of `ifs` are written before the server's `return`. */
  readonly returnAfter?: number;
  readonly sslCertificate?: string;
  readonly sslCertificateKey?: string;
  readonly file: string;
  readonly line: number;
}

export interface UpstreamServer {
  /** As written (`127.0.0.1:8080`, `localhost:8080`, `unix:` is refused). */
  readonly address: string;
  readonly weight: number;
  readonly maxFails: number;
  /** Milliseconds. */
  readonly failTimeout: number;
  readonly backup: boolean;
  readonly down: boolean;
  readonly file: string;
  readonly line: number;
}

export interface UpstreamConf {
  readonly name: string;
  readonly servers: readonly UpstreamServer[];
  /** Idle keep-alive connections kept per server; 0 = close after every request (nginx's default). */
  readonly keepalive: number;
  readonly file: string;
  readonly line: number;
}

export interface GatewayConfig {
  readonly path: string;
  readonly prefix: string;
  readonly conf: NginxConf;
  readonly maps: readonly NginxMap[];
  readonly upstreams: ReadonlyMap<string, UpstreamConf>;
  readonly servers: readonly ServerConf[];
  readonly pid?: string;
  readonly errorLog?: string;
}

const SECOND = 1000;

const DEFAULT_NEXT: NextUpstream = {
  error: true,
  timeout: true,
  invalidHeader: false,
  statuses: new Set(),
  nonIdempotent: false,
};

interface Raw {
  accessLogs?: NginxLog[];
  upstreamLogs?: NginxLog[];
  openLogFileCache?: NginxOpenLogFileCache;
  upstreamOpenLogFileCache?: NginxOpenLogFileCache;
  root?: string;
  errorPages?: ErrorPage[];
  nextUpstream?: NextUpstream;
  tries?: number;
  nextTimeout?: number;
  connectTimeout?: number;
  sendTimeout?: number;
  clientBodyTimeout?: number;
  clientSendTimeout?: number;
  readTimeout?: number;
  setHeaders?: [string, string][];
  passRequestHeaders?: boolean;
  interceptErrors?: boolean;
  ignoreXAccel?: boolean;
  clientMaxBodySize?: number;
  access?: AccessRule[];
  proxyPass?: ProxyPass;
  ret?: { code: number; text?: string };
  internal?: boolean;
  /** Directives nginx takes once per level (`"x" directive is duplicate` the second time). */
  once?: Set<string>;
  /** `proxy_next_upstream off` was said at this level: nginx's merge makes it win over the rest. */
  nextOff?: boolean;
}

/** nginx's `"x" directive is duplicate` for the directives its slot functions take once per level. */
function once(d: Directive, raw: { once?: Set<string> }): void {
  raw.once ??= new Set();
  if (raw.once.has(d.name)) throw directiveError(d, `"${d.name}" directive is duplicate`);
  raw.once.add(d.name);
}

const NEXT_OFF: NextUpstream = {
  error: false,
  timeout: false,
  invalidHeader: false,
  statuses: new Set(),
  nonIdempotent: false,
};

function merge(parent: LevelConf, raw: Raw): LevelConf {
  return {
    accessLogs: raw.accessLogs ?? parent.accessLogs,
    upstreamLogs: raw.upstreamLogs ?? parent.upstreamLogs,
    ...((raw.openLogFileCache ?? parent.openLogFileCache)
      ? { openLogFileCache: raw.openLogFileCache ?? parent.openLogFileCache }
      : {}),
    ...((raw.upstreamOpenLogFileCache ?? parent.upstreamOpenLogFileCache)
      ? { upstreamOpenLogFileCache: raw.upstreamOpenLogFileCache ?? parent.upstreamOpenLogFileCache }
      : {}),
    root: raw.root ?? parent.root,
    errorPages: raw.errorPages ?? parent.errorPages,
    nextUpstream: raw.nextOff ? NEXT_OFF : (raw.nextUpstream ?? parent.nextUpstream),
    tries: raw.tries ?? parent.tries,
    nextTimeout: raw.nextTimeout ?? parent.nextTimeout,
    connectTimeout: raw.connectTimeout ?? parent.connectTimeout,
    sendTimeout: raw.sendTimeout ?? parent.sendTimeout,
    clientBodyTimeout: raw.clientBodyTimeout ?? parent.clientBodyTimeout,
    clientSendTimeout: raw.clientSendTimeout ?? parent.clientSendTimeout,
    readTimeout: raw.readTimeout ?? parent.readTimeout,
    setHeaders: raw.setHeaders ?? parent.setHeaders,
    passRequestHeaders: raw.passRequestHeaders ?? parent.passRequestHeaders,
    interceptErrors: raw.interceptErrors ?? parent.interceptErrors,
    ignoreXAccel: raw.ignoreXAccel ?? parent.ignoreXAccel,
    clientMaxBodySize: raw.clientMaxBodySize ?? parent.clientMaxBodySize,
    access: raw.access ?? parent.access,
    ...(raw.proxyPass ? { proxyPass: raw.proxyPass } : {}),
    ...(raw.ret ? { ret: raw.ret } : {}),
    internal: raw.internal ?? false,
  };
}

/** nginx's `ngx_conf_set_flag_slot`: on|off. */
function flag(d: Directive, raw: Raw): boolean {
  checkShape(d, 1, 1, false);
  once(d, raw);
  const v = (d.args[0] as string).toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw directiveError(d, `invalid value "${d.args[0]}" in "${d.name}" directive, it must be "on" or "off"`);
}

/** nginx's `ngx_conf_set_msec_slot`. */
function msec(d: Directive, raw: Raw): number {
  checkShape(d, 1, 1, false);
  once(d, raw);
  const t = timeOrUndefined(d.args[0] as string, false);
  if (t === undefined) throw directiveError(d, `"${d.name}" directive invalid value`);
  return t;
}

/** nginx's `ngx_parse_offset`: a size with k, m or g. */
function offsetOrUndefined(s: string): number | undefined {
  const scale = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[s.slice(-1).toLowerCase()];
  const n = atoi(scale === undefined ? s : s.slice(0, -1));
  if (n === undefined) return undefined;
  const v = n * (scale ?? 1);
  return v <= Number.MAX_SAFE_INTEGER ? v : undefined;
}

/** nginx's `ngx_conf_set_off_slot`. */
function offset(d: Directive, raw: Raw): number {
  checkShape(d, 1, 1, false);
  once(d, raw);
  const n = offsetOrUndefined(d.args[0] as string);
  if (n === undefined) throw directiveError(d, `"${d.name}" directive invalid value`);
  return n;
}

/** nginx's `ngx_conf_set_num_slot`. */
function num(d: Directive, raw: Raw): number {
  checkShape(d, 1, 1, false);
  once(d, raw);
  const n = atoi(d.args[0] as string);
  if (n === undefined) throw directiveError(d, `"${d.name}" directive invalid number`);
  return n;
}

const HTTP_STATUSES = new Set([500, 502, 503, 504, 403, 404, 429]);

/**
 * `proxy_next_upstream`, an `ngx_conf_set_bitmask_slot`: values add up over the directives of
 * one level, and `off` anywhere among them wins (nginx's merge). `updating` only matters with
 * proxy_cache, which the gateway refuses, so it is accepted and has nothing to do.
 */
function nextUpstream(d: Directive, raw: Raw): NextUpstream {
  checkShape(d, 1, Number.POSITIVE_INFINITY, false);
  const prev = raw.nextUpstream;
  let error = prev?.error ?? false;
  let timeout = prev?.timeout ?? false;
  let invalidHeader = prev?.invalidHeader ?? false;
  let nonIdempotent = prev?.nonIdempotent ?? false;
  const statuses = new Set<number>(prev?.statuses ?? []);
  for (const v of d.args) {
    const a = v.toLowerCase();
    if (a === 'off') raw.nextOff = true;
    else if (a === 'error') error = true;
    else if (a === 'timeout') timeout = true;
    else if (a === 'invalid_header') invalidHeader = true;
    else if (a === 'non_idempotent') nonIdempotent = true;
    else if (a === 'updating') continue;
    else if (/^http_\d{3}$/.test(a) && HTTP_STATUSES.has(Number(a.slice(5))))
      statuses.add(Number(a.slice(5)));
    else throw directiveError(d, `invalid value "${v}"`);
  }
  return { error, timeout, invalidHeader, statuses, nonIdempotent };
}

/** `ngx_http_core_error_page`. */
function errorPage(d: Directive): ErrorPage {
  checkShape(d, 2, Number.POSITIVE_INFINITY, false);
  const args = d.args;
  const uri = args[args.length - 1] as string;
  const before = args[args.length - 2] as string;
  let override: number | 'any' | undefined;
  let codes = args.slice(0, -1);
  if (before.startsWith('=')) {
    if (args.length === 2) throw directiveError(d, `invalid value "${before}"`);
    if (before.length > 1) {
      const n = atoi(before.slice(1));
      if (n === undefined) throw directiveError(d, `invalid value "${before}"`);
      override = n;
    } else override = 'any';
    codes = args.slice(0, -2);
  }
  const list: number[] = [];
  for (const a of codes) {
    const n = atoi(a);
    if (n === undefined || n === 499) throw directiveError(d, `invalid value "${a}"`);
    if (n < 300 || n > 599) throw directiveError(d, `value "${a}" must be between 300 and 599`);
    list.push(n);
  }
  return { codes: list, uri, ...(override !== undefined ? { override } : {}) };
}

/**
 * The part of an upstream URL after the scheme, checked as `ngx_parse_url` does:
 * `host[:port][/uri]`, `[v6][:port][/uri]`.
 * @returns the `host[:port]` as written and the URI part, if any.
 */
function upstreamUrl(d: Directive, rest: string): { host: string; uri?: string } {
  if (rest.slice(0, 5).toLowerCase() === 'unix:')
    throw directiveError(d, `UNIX-domain sockets in "${d.name}" are not supported by logtally gateway`);
  const slash = rest.indexOf('/');
  const query = rest.indexOf('?');
  const at = slash === -1 ? query : query === -1 ? slash : Math.min(slash, query);
  const hostPort = at === -1 ? rest : rest.slice(0, at);
  let host = hostPort;
  let port: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close === -1) throw directiveError(d, `invalid host in upstream "${rest}"`);
    host = hostPort.slice(1, close);
    const after = hostPort.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw directiveError(d, `invalid host in upstream "${rest}"`);
      port = after.slice(1);
    }
  } else {
    const colon = hostPort.indexOf(':');
    if (colon !== -1) {
      host = hostPort.slice(0, colon);
      port = hostPort.slice(colon + 1);
    }
  }
  if (port !== undefined) {
    const n = atoi(port);
    if (n === undefined || n < 1 || n > 65535) throw directiveError(d, `invalid port in upstream "${rest}"`);
  }
  if (host === '') throw directiveError(d, `no host in upstream "${rest}"`);
  return { host: hostPort, ...(at !== -1 ? { uri: rest.slice(at) } : {}) };
}

/** `ngx_http_proxy_pass`. */
function proxyPass(d: Directive, ctx: Ctx, loc: { kind: Location['kind'] } | undefined): ProxyPass {
  checkShape(d, 1, 1, false);
  const url = d.args[0] as string;
  // nginx evaluates a URL with variables per request; the gateway resolves its upstreams once.
  if (url.includes('$'))
    throw directiveError(d, `variables in "proxy_pass" are not supported by logtally gateway`);
  const m = /^(https?):\/\//i.exec(url);
  if (!m) throw directiveError(d, 'invalid URL prefix');
  const { host, uri } = upstreamUrl(d, url.slice(m[0].length));
  if (
    uri !== undefined &&
    (ctx === 'if' || loc?.kind === 'regex' || loc?.kind === 'named' || ctx === 'limit_except')
  ) {
    throw directiveError(
      d,
      '"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block',
    );
  }
  return {
    scheme: (m[1] as string).toLowerCase() as 'http' | 'https',
    host,
    ...(uri !== undefined ? { uri } : {}),
    file: d.file,
    line: d.line,
  };
}

/** `allow`/`deny` as `ngx_http_access_rule` reads them: `all`, `unix:`, an address or a CIDR. */
function accessRule(d: Directive): AccessRule {
  checkShape(d, 1, 1, false);
  const what = d.args[0] as string;
  if (what !== 'all' && what !== 'unix:') {
    const [addr, bits, extra] = what.split('/');
    const v4 = isIPv4(addr as string);
    const ok =
      extra === undefined &&
      (v4 || isIPv6(addr as string)) &&
      (bits === undefined || (atoi(bits) ?? Number.POSITIVE_INFINITY) <= (v4 ? 32 : 128));
    if (!ok) throw directiveError(d, `invalid parameter "${what}"`);
  }
  return { allow: d.name === 'allow', what };
}

/** `listen` parameters nginx has and the gateway does not implement. */
const LISTEN_FLAGS = new Set(['bind', 'deferred', 'reuseport', 'http2', 'spdy', 'proxy_protocol', 'quic']);
const LISTEN_KEYS = new Set([
  'backlog=',
  'rcvbuf=',
  'sndbuf=',
  'setfib=',
  'fastopen=',
  'accept_filter=',
  'ipv6only=',
  'so_keepalive=',
]);

function parseListen(d: Directive): Listen {
  checkShape(d, 1, Number.POSITIVE_INFINITY, false);
  const a = d.args[0] as string;
  let host = '0.0.0.0';
  let portText: string;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
  if (v6) {
    host = v6[1] as string;
    portText = v6[2] ?? '80';
  } else if (/^\d+$/.test(a)) {
    portText = a;
  } else if (a.startsWith('unix:')) {
    throw directiveError(d, `UNIX-domain sockets in "listen" are not supported by logtally gateway`);
  } else {
    const i = a.lastIndexOf(':');
    if (i === -1) {
      host = a;
      portText = '80';
    } else {
      host = a.slice(0, i);
      portText = a.slice(i + 1);
    }
    if (host === '*') host = '0.0.0.0';
    if (host === 'localhost') host = '127.0.0.1';
  }
  const port = atoi(portText);
  if (port === undefined || port < 1 || port > 65535)
    throw directiveError(d, `invalid port in "${a}" of the "listen" directive`);
  let ssl = false;
  let defaultServer = false;
  for (const p of d.args.slice(1)) {
    if (p === 'ssl') ssl = true;
    else if (p === 'default_server' || p === 'default') defaultServer = true;
    else if (LISTEN_FLAGS.has(p) || LISTEN_KEYS.has(p.slice(0, p.indexOf('=') + 1)))
      throw directiveError(d, `"listen" parameter "${p}" is not supported by logtally gateway`);
    else throw directiveError(d, `invalid parameter "${p}"`);
  }
  return { host, port, ssl, defaultServer };
}

function upstreamServer(d: Directive): UpstreamServer {
  checkShape(d, 1, Number.POSITIVE_INFINITY, false);
  const address = d.args[0] as string;
  if (address.startsWith('unix:'))
    throw directiveError(d, `UNIX-domain upstream servers are not supported by logtally gateway`);
  let weight = 1;
  let maxFails = 1;
  let failTimeout = 10 * SECOND;
  let backup = false;
  let down = false;
  for (const p of d.args.slice(1)) {
    const [k, v] = p.includes('=') ? [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] : [p, ''];
    if (k === 'weight') {
      const n = atoi(v);
      if (!n) throw directiveError(d, `invalid parameter "${p}"`);
      weight = n;
    } else if (k === 'max_fails') {
      const n = atoi(v);
      if (n === undefined) throw directiveError(d, `invalid parameter "${p}"`);
      maxFails = n;
    } else if (k === 'fail_timeout') {
      const t = timeOrUndefined(v, true);
      if (t === undefined) throw directiveError(d, `invalid parameter "${p}"`);
      failTimeout = t * SECOND;
    } else if (p === 'backup') backup = true;
    else if (p === 'down') down = true;
    else if (k === 'max_conns' || k === 'slow_start' || k === 'resolve' || k === 'route' || k === 'service')
      throw directiveError(d, `"server" parameter "${k}" is not supported by logtally gateway`);
    else throw directiveError(d, `invalid parameter "${p}"`);
  }
  // ngx_parse_url without a URI part: a "/" or "?" makes the host invalid.
  if (/[/?]/.test(address)) throw directiveError(d, `invalid host in upstream "${address}"`);
  upstreamUrl(d, address);
  return { address, weight, maxFails, failTimeout, backup, down, file: d.file, line: d.line };
}

/** `proxy_ignore_headers` values (nginx's `ngx_http_upstream_ignore_headers_masks`). */
const IGNORABLE_HEADERS = new Set([
  'x-accel-redirect',
  'x-accel-expires',
  'x-accel-limit-rate',
  'x-accel-buffering',
  'x-accel-charset',
  'expires',
  'cache-control',
  'set-cookie',
  'vary',
]);

/** Directives and the contexts they may appear in. */
const CONTEXTS: Readonly<Record<string, readonly Ctx[]>> = {
  events: ['main'],
  worker_connections: ['events'],
  use: ['events'],
  multi_accept: ['events'],
  worker_processes: ['main'],
  daemon: ['main'],
  master_process: ['main'],
  pid: ['main'],
  error_log: ['main', 'http', 'server', 'location'],
  user: ['main'],
  http: ['main'],
  log_format: ['http'],
  upstream_log_format: ['http'],
  map: ['http'],
  upstream: ['http'],
  server: ['http', 'upstream'],
  keepalive: ['upstream'],
  access_log: ['http', 'server', 'location', 'if', 'limit_except'],
  upstream_log: ['http', 'server', 'location', 'if', 'limit_except'],
  open_log_file_cache: ['http', 'server', 'location'],
  upstream_open_log_file_cache: ['http', 'server', 'location'],
  listen: ['server'],
  server_name: ['server'],
  ssl_certificate: ['http', 'server'],
  ssl_certificate_key: ['http', 'server'],
  root: ['http', 'server', 'location', 'if'],
  location: ['server', 'location'],
  if: ['server', 'location'],
  limit_except: ['location'],
  allow: ['http', 'server', 'location', 'limit_except'],
  deny: ['http', 'server', 'location', 'limit_except'],
  proxy_pass: ['location', 'if', 'limit_except'],
  proxy_next_upstream: ['http', 'server', 'location'],
  proxy_next_upstream_tries: ['http', 'server', 'location'],
  proxy_next_upstream_timeout: ['http', 'server', 'location'],
  proxy_connect_timeout: ['http', 'server', 'location'],
  proxy_send_timeout: ['http', 'server', 'location'],
  client_body_timeout: ['http', 'server', 'location'],
  send_timeout: ['http', 'server', 'location'],
  proxy_read_timeout: ['http', 'server', 'location'],
  proxy_set_header: ['http', 'server', 'location'],
  proxy_pass_request_headers: ['http', 'server', 'location'],
  proxy_intercept_errors: ['http', 'server', 'location'],
  proxy_ignore_headers: ['http', 'server', 'location'],
  return: ['server', 'location', 'if', 'sif'],
  error_page: ['http', 'server', 'location', 'if'],
  internal: ['location'],
  client_max_body_size: ['http', 'server', 'location'],
  types: ['http', 'server', 'location'],
  default_type: ['http', 'server', 'location'],
  include: ['main', 'http', 'server', 'location', 'upstream', 'events', 'if', 'sif', 'limit_except'],
};

const BLOCKS = new Set([
  'events',
  'http',
  'upstream',
  'server',
  'location',
  'if',
  'limit_except',
  'map',
  'types',
]);

const METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'MKCOL',
  'COPY',
  'MOVE',
  'OPTIONS',
  'PROPFIND',
  'PROPPATCH',
  'LOCK',
  'UNLOCK',
  'PATCH',
]);

function compileRegex(d: Directive, source: string, caseless: boolean): RegExp {
  try {
    return new RegExp(source, caseless ? 'i' : '');
  } catch (e) {
    throw directiveError(d, `pcre_compile() failed: ${(e as Error).message} in "${source}"`);
  }
}

/** An `ssl_certificate` (resolved, and as written) and its key, inherited from http by servers. */
interface Certificate {
  cert?: string;
  certText?: string;
  key?: string;
}

/** The logs of one level: every access_log/upstream_log of it, from the extracted model. */
type LogIndex = Map<string, NginxLog>;

/**
 * Reads and checks a gateway configuration.
 * @throws ConfError naming file:line in nginx's words: unknown directives, directives in the
 *   wrong context, bad arguments, nginx directives logtally does not implement, unknown
 *   upstreams and log formats.
 */
export function loadGatewayConfig(path: string, opts: { prefix?: string } = {}): GatewayConfig {
  const { parsed, closeLine } = atTerminators(parseNginxConf(path));
  const conf = extractNginxConf(parsed, opts.prefix !== undefined ? { prefix: opts.prefix } : {});
  const prefix = conf.prefix;
  const logs: LogIndex = new Map();
  // Two log directives may share a line: the key is the directive as written.
  for (const l of conf.logs) logs.set(`${l.file}\0${l.line}\0${l.directive}\0${l.rawPath}`, l);
  // nginx looks a log's format up when it reads the log: a format defined later is unknown.
  const late = new Map<string, string>();
  for (const w of conf.warnings) {
    const m = /^log format "(.*)" is defined after this (\w+) \(/.exec(w.message);
    if (m) late.set(`${w.file}\0${w.line}\0${m[2]}`, m[1] as string);
  }
  const logOf = (d: Directive): NginxLog => {
    const l = logs.get(`${d.file}\0${d.line}\0${d.name}\0${d.args[0]}`);
    if (!l) throw directiveError(d, `"${d.name}" could not be read`);
    const format = late.get(`${d.file}\0${d.line}\0${d.name}`);
    if (format !== undefined) throw directiveError(d, `unknown log format "${format}"`, 'ERR_CONF_FORMAT');
    return l;
  };

  const upstreams = new Map<string, UpstreamConf>();
  const servers: ServerConf[] = [];
  /** Listening sockets (`addr:port` as nginx writes them) and the servers on each. */
  const sockets = new Map<string, { servers: Set<number>; defaultServer: boolean }>();
  let serverCount = 0;
  let pid: string | undefined;
  let errorLog: string | undefined;
  let sawHttp = false;

  const check = (d: Directive, ctx: Ctx): void => {
    if (!Object.hasOwn(CONTEXTS, d.name)) {
      if (NGINX_ONLY.has(d.name))
        throw directiveError(d, `directive "${d.name}" is not supported by logtally gateway`);
      throw directiveError(d, `unknown directive "${d.name}"`);
    }
    if (!(CONTEXTS[d.name] as readonly Ctx[]).includes(ctx))
      throw directiveError(d, `"${d.name}" directive is not allowed here`);
    if (BLOCKS.has(d.name) && d.name !== 'server' && !d.block)
      throw directiveError(d, `directive "${d.name}" has no opening "{"`, 'ERR_CONF_SYNTAX');
    if (!BLOCKS.has(d.name) && d.block)
      throw directiveError(d, `directive "${d.name}" is not terminated by ";"`, 'ERR_CONF_SYNTAX');
  };

  /** Applies one directive of a level to `raw`; returns false when the caller handles it. */
  const levelDirective = (d: Directive, ctx: Ctx, raw: Raw, loc?: { kind: Location['kind'] }): boolean => {
    switch (d.name) {
      case 'access_log':
      case 'upstream_log': {
        const l = logOf(d);
        if (d.name === 'access_log') raw.accessLogs = [...(raw.accessLogs ?? []), l];
        else raw.upstreamLogs = [...(raw.upstreamLogs ?? []), l];
        return true;
      }
      case 'open_log_file_cache':
      case 'upstream_open_log_file_cache': {
        const c = parseOpenLogFileCache(d, 'http', []);
        once(d, raw);
        if (d.name === 'open_log_file_cache') raw.openLogFileCache = c;
        else raw.upstreamOpenLogFileCache = c;
        return true;
      }
      case 'root':
        checkShape(d, 1, 1, false);
        once(d, raw);
        raw.root = isAbsolute(d.args[0] as string)
          ? (d.args[0] as string)
          : resolve(prefix, d.args[0] as string);
        return true;
      case 'error_page':
        raw.errorPages = [...(raw.errorPages ?? []), errorPage(d)];
        return true;
      case 'proxy_next_upstream':
        raw.nextUpstream = nextUpstream(d, raw);
        return true;
      case 'proxy_next_upstream_tries':
        raw.tries = num(d, raw);
        return true;
      case 'proxy_next_upstream_timeout':
        raw.nextTimeout = msec(d, raw);
        return true;
      case 'proxy_connect_timeout':
        raw.connectTimeout = msec(d, raw);
        return true;
      case 'proxy_send_timeout':
        raw.sendTimeout = msec(d, raw);
        return true;
      case 'client_body_timeout':
        raw.clientBodyTimeout = msec(d, raw);
        return true;
      case 'send_timeout':
        raw.clientSendTimeout = msec(d, raw);
        return true;
      case 'proxy_read_timeout':
        raw.readTimeout = msec(d, raw);
        return true;
      case 'proxy_set_header':
        checkShape(d, 2, 2, false);
        raw.setHeaders = [...(raw.setHeaders ?? []), [d.args[0] as string, d.args[1] as string]];
        return true;
      case 'proxy_pass_request_headers':
        raw.passRequestHeaders = flag(d, raw);
        return true;
      case 'proxy_intercept_errors':
        raw.interceptErrors = flag(d, raw);
        return true;
      case 'proxy_ignore_headers': {
        // An ngx_conf_set_bitmask_slot: the values of every directive of the level add up.
        checkShape(d, 1, Number.POSITIVE_INFINITY, false);
        for (const a of d.args) {
          if (!IGNORABLE_HEADERS.has(a.toLowerCase())) throw directiveError(d, `invalid value "${a}"`);
        }
        raw.ignoreXAccel =
          (raw.ignoreXAccel ?? false) || d.args.some((a) => a.toLowerCase() === 'x-accel-redirect');
        return true;
      }
      case 'client_max_body_size':
        raw.clientMaxBodySize = offset(d, raw);
        return true;
      case 'allow':
      case 'deny':
        raw.access = [...(raw.access ?? []), accessRule(d)];
        return true;
      case 'proxy_pass':
        checkShape(d, 1, 1, false);
        if (raw.proxyPass) throw directiveError(d, `"proxy_pass" directive is duplicate`);
        raw.proxyPass = proxyPass(d, ctx, loc);
        return true;
      case 'return': {
        // ngx_http_rewrite_return. The first `return` of a level is the one that runs.
        checkShape(d, 1, 2, false);
        const a = d.args[0] as string;
        const n = atoi(a);
        let ret: { code: number; text?: string };
        if (n === undefined) {
          if (d.args.length === 2 || !/^(https?:\/\/|\$scheme)/.test(a))
            throw directiveError(d, `invalid return code "${a}"`);
          ret = { code: 302, text: a };
        } else {
          if (n > 999) throw directiveError(d, `invalid return code "${a}"`);
          ret = { code: n, ...(d.args[1] !== undefined ? { text: d.args[1] } : {}) };
        }
        raw.ret ??= ret;
        return true;
      }
      case 'internal':
        checkShape(d, 0, 0, false);
        once(d, raw);
        raw.internal = true;
        return true;
      case 'default_type':
        checkShape(d, 1, 1, false);
        once(d, raw);
        return true;
      case 'error_log':
        errorLogLevels(d);
        return true;
      case 'types':
        checkShape(d, 0, 0, true);
        return true;
    }
    return false;
  };

  const ifBlock = (d: Directive, parent: LevelConf, ctx: 'if' | 'sif'): IfBlock => {
    checkShape(d, 1, Number.POSITIVE_INFINITY, true);
    const condition = parseCondition(d);
    const raw: Raw = {};
    for (const c of d.block ?? []) {
      check(c, ctx);
      if (!levelDirective(c, ctx, raw)) throw directiveError(c, `"${c.name}" directive is not allowed here`);
    }
    // An `if` in a proxying location proxies too (nginx's if-location keeps the handler).
    const conf = merge({ ...parent, internal: false }, raw);
    return {
      condition,
      conf: !conf.proxyPass && parent.proxyPass ? { ...conf, proxyPass: parent.proxyPass } : conf,
    };
  };

  /** nginx's `ngx_http_join_exact_locations`: the later of two equal non-regex locations is reported. */
  const checkDuplicateLocations = (list: readonly Location[]): void => {
    const seen = new Set<string>();
    for (const l of list) {
      if (l.kind === 'regex' || l.kind === 'named') continue;
      const k = `${l.kind === 'exact' ? '=' : ''}${l.pattern}`;
      if (seen.has(k))
        throw new ConfError('ERR_CONF_DIRECTIVE', `duplicate location "${l.pattern}"`, l.file, l.line);
      seen.add(k);
    }
  };

  const location = (
    d: Directive,
    parent: LevelConf,
    outer?: { kind: Location['kind']; pattern: string },
  ): Location => {
    checkShape(d, 1, 2, true);
    let kind: Location['kind'];
    let pattern: string;
    let regex: RegExp | undefined;
    if (d.args.length === 2) {
      const mod = d.args[0] as string;
      pattern = d.args[1] as string;
      if (mod === '=') kind = 'exact';
      else if (mod === '^~') kind = 'noregex';
      else if (mod === '~' || mod === '~*') {
        kind = 'regex';
        regex = compileRegex(d, pattern, mod === '~*');
      } else throw directiveError(d, `invalid location modifier "${mod}"`);
    } else {
      const a = d.args[0] as string;
      if (a.startsWith('=')) {
        kind = 'exact';
        pattern = a.slice(1);
      } else if (a.startsWith('^~')) {
        kind = 'noregex';
        pattern = a.slice(2);
      } else if (a.startsWith('~*')) {
        kind = 'regex';
        pattern = a.slice(2);
        regex = compileRegex(d, pattern, true);
      } else if (a.startsWith('~')) {
        kind = 'regex';
        pattern = a.slice(1);
        regex = compileRegex(d, pattern, false);
      } else if (a.startsWith('@')) {
        kind = 'named';
        pattern = a;
      } else {
        kind = 'prefix';
        pattern = a;
      }
    }
    if (outer) {
      // ngx_http_core_location on a nested location.
      if (outer.kind === 'exact')
        throw directiveError(
          d,
          `location "${pattern}" cannot be inside the exact location "${outer.pattern}"`,
        );
      if (outer.kind === 'named')
        throw directiveError(
          d,
          `location "${pattern}" cannot be inside the named location "${outer.pattern}"`,
        );
      if (kind === 'named')
        throw directiveError(d, `named location "${pattern}" can be on the server level only`);
      if (kind !== 'regex' && !pattern.startsWith(outer.pattern))
        throw directiveError(d, `location "${pattern}" is outside location "${outer.pattern}"`);
    }
    const raw: Raw = {};
    const nestedDirectives: Directive[] = [];
    const ifs: Directive[] = [];
    let limit: Directive | undefined;
    let returnAfter: number | undefined;
    for (const c of d.block ?? []) {
      check(c, 'location');
      if (c.name === 'return') returnAfter ??= ifs.length;
      if (c.name === 'location') nestedDirectives.push(c);
      else if (c.name === 'if') ifs.push(c);
      else if (c.name === 'limit_except') {
        if (limit) throw directiveError(c, `"limit_except" directive is duplicate`);
        limit = c;
      } else if (!levelDirective(c, 'location', raw, { kind }))
        throw directiveError(c, `"${c.name}" directive is not allowed here`);
    }
    const conf = merge(parent, raw);
    const nested = nestedDirectives.map((n) => location(n, { ...conf, internal: false }, { kind, pattern }));
    checkDuplicateLocations(nested);
    let limitExcept: Location['limitExcept'];
    if (limit) {
      const methods = new Set<string>();
      for (const m of limit.args) {
        const u = m.toUpperCase();
        if (!METHODS.has(u)) throw directiveError(limit, `invalid method "${m}"`);
        methods.add(u);
        if (u === 'GET') methods.add('HEAD');
      }
      if (methods.size === 0)
        throw directiveError(limit, `invalid number of arguments in "limit_except" directive`);
      const lraw: Raw = {};
      for (const c of limit.block ?? []) {
        check(c, 'limit_except');
        if (!levelDirective(c, 'limit_except', lraw, { kind }))
          throw directiveError(c, `"${c.name}" directive is not allowed here`);
      }
      limitExcept = {
        methods,
        conf: merge({ ...conf, proxyPass: undefined as never }, {
          ...lraw,
          proxyPass: lraw.proxyPass ?? conf.proxyPass,
        } as Raw),
      };
    }
    return {
      kind,
      pattern,
      ...(regex ? { regex } : {}),
      conf,
      nested,
      ifs: ifs.map((i) => ifBlock(i, conf, 'if')),
      ...(returnAfter !== undefined ? { returnAfter } : {}),
      ...(limitExcept ? { limitExcept } : {}),
      file: d.file,
      line: d.line,
    };
  };

  const server = (d: Directive, http: LevelConf, httpCert: Certificate): ServerConf => {
    if (!d.block) throw directiveError(d, `directive "server" has no opening "{"`, 'ERR_CONF_SYNTAX');
    checkShape(d, 0, 0, true);
    const raw: Raw = {};
    const listens: Listen[] = [];
    const names: string[] = [];
    const locs: Directive[] = [];
    const ifs: Directive[] = [];
    let serverReturnAfter: number | undefined;
    let cert = httpCert.cert;
    let certText = httpCert.certText;
    let key = httpCert.key;
    const index = serverCount++;
    for (const c of d.block) {
      check(c, 'server');
      switch (c.name) {
        case 'listen': {
          const l = parseListen(c);
          // ngx_http_add_addresses / ngx_http_add_server, as each listen is read.
          const text = `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
          const socket = sockets.get(text) ?? { servers: new Set<number>(), defaultServer: false };
          sockets.set(text, socket);
          if (socket.servers.has(index)) throw directiveError(c, `a duplicate listen ${text}`);
          socket.servers.add(index);
          if (l.defaultServer) {
            if (socket.defaultServer) throw directiveError(c, `a duplicate default server for ${text}`);
            socket.defaultServer = true;
          }
          listens.push(l);
          continue;
        }
        case 'server_name':
          checkShape(c, 1, Number.POSITIVE_INFINITY, false);
          for (const n of c.args) {
            if (n.startsWith('~')) compileRegex(c, n.slice(1), true);
            names.push(n.toLowerCase());
          }
          continue;
        case 'ssl_certificate':
          checkShape(c, 1, 1, false);
          cert = resolve(dirname(parsed.path), c.args[0] as string);
          certText = c.args[0] as string;
          continue;
        case 'ssl_certificate_key':
          checkShape(c, 1, 1, false);
          key = resolve(dirname(parsed.path), c.args[0] as string);
          continue;
        case 'location':
          locs.push(c);
          continue;
        case 'if':
          ifs.push(c);
          continue;
        case 'return':
          serverReturnAfter ??= ifs.length;
          break;
      }
      if (!levelDirective(c, 'server', raw))
        throw directiveError(c, `"${c.name}" directive is not allowed here`);
    }
    if (listens.length === 0)
      listens.push({
        host: '0.0.0.0',
        port: process.getuid?.() === 0 ? 80 : 8000,
        ssl: false,
        defaultServer: false,
      });
    const conf = merge(http, raw);
    const locations = locs.map((l) => location(l, { ...conf, internal: false }));
    // nginx accepts two named locations of one name; the first one is the one it goes to.
    const named = new Map<string, Location>();
    for (const l of locations) if (l.kind === 'named' && !named.has(l.pattern)) named.set(l.pattern, l);
    checkDuplicateLocations(locations);
    // ngx_http_ssl_merge_srv_conf: reported without a place, as nginx does.
    if (cert && !key) throw new Error(`no "ssl_certificate_key" is defined for certificate "${certText}"`);
    if (listens.some((l) => l.ssl) && (!cert || !key)) {
      throw directiveError(d, `no "ssl_certificate" is defined for the "listen ... ssl" directive`);
    }
    return {
      listens,
      names: names.length ? names : [''],
      conf,
      locations,
      named,
      ifs: ifs.map((i) => ifBlock(i, conf, 'sif')),
      ...(serverReturnAfter !== undefined ? { returnAfter: serverReturnAfter } : {}),
      ...(cert ? { sslCertificate: cert } : {}),
      ...(key ? { sslCertificateKey: key } : {}),
      file: d.file,
      line: d.line,
    };
  };

  const upstream = (d: Directive): void => {
    checkShape(d, 1, 1, true);
    const name = d.args[0] as string;
    if (upstreams.has(name)) throw directiveError(d, `duplicate upstream "${name}"`);
    const list: UpstreamServer[] = [];
    let keepalive = 0;
    for (const c of d.block ?? []) {
      check(c, 'upstream');
      if (c.name === 'server') list.push(upstreamServer(c));
      else if (c.name === 'keepalive') {
        checkShape(c, 1, 1, false);
        if (keepalive) throw directiveError(c, `"keepalive" directive is duplicate`);
        const n = atoi(c.args[0] as string);
        if (!n) throw directiveError(c, `invalid value "${c.args[0]}" in "keepalive" directive`);
        keepalive = n;
      }
    }
    // nginx checks this when the block is read: at its closing brace.
    if (list.length === 0)
      throw new ConfError('ERR_CONF_DIRECTIVE', 'no servers are inside upstream', d.file, closeLine(d));
    if (list.every((s) => s.backup)) throw directiveError(d, `no servers in upstream "${name}"`);
    upstreams.set(name, { name, servers: list, keepalive, file: d.file, line: d.line });
  };

  const defaults: LevelConf = {
    accessLogs: [],
    upstreamLogs: [],
    root: resolve(prefix, 'html'),
    errorPages: [],
    nextUpstream: DEFAULT_NEXT,
    tries: 0,
    nextTimeout: 0,
    connectTimeout: 60 * SECOND,
    sendTimeout: 60 * SECOND,
    clientBodyTimeout: 60 * SECOND,
    clientSendTimeout: 60 * SECOND,
    readTimeout: 60 * SECOND,
    setHeaders: [],
    passRequestHeaders: true,
    interceptErrors: false,
    ignoreXAccel: false,
    clientMaxBodySize: 1024 * 1024,
    access: [],
    internal: false,
  };

  const http = (d: Directive): void => {
    if (sawHttp) throw directiveError(d, `"http" directive is duplicate`);
    sawHttp = true;
    checkShape(d, 0, 0, true);
    const raw: Raw = {};
    const serverDirectives: Directive[] = [];
    const cert: Certificate = {};
    for (const c of d.block ?? []) {
      check(c, 'http');
      switch (c.name) {
        case 'log_format':
        case 'upstream_log_format':
          continue;
        case 'map':
          mapConflicts(c);
          continue;
        case 'upstream':
          upstream(c);
          continue;
        case 'server':
          serverDirectives.push(c);
          continue;
        case 'ssl_certificate':
          checkShape(c, 1, 1, false);
          cert.cert = resolve(dirname(parsed.path), c.args[0] as string);
          cert.certText = c.args[0] as string;
          continue;
        case 'ssl_certificate_key':
          checkShape(c, 1, 1, false);
          cert.key = resolve(dirname(parsed.path), c.args[0] as string);
          continue;
      }
      if (!levelDirective(c, 'http', raw))
        throw directiveError(c, `"${c.name}" directive is not allowed here`);
    }
    // nginx's default: `access_log logs/access.log combined;` at the http level.
    const httpConf = merge(defaults, raw);
    for (const s of serverDirectives) servers.push(server(s, httpConf, cert));
  };

  const main: Raw = {};
  let sawEvents = false;
  for (const d of parsed.root) {
    check(d, 'main');
    switch (d.name) {
      case 'http':
        http(d);
        break;
      case 'events': {
        if (sawEvents) throw directiveError(d, `"events" directive is duplicate`);
        sawEvents = true;
        checkShape(d, 0, 0, true);
        const events: Raw = {};
        for (const c of d.block ?? []) {
          check(c, 'events');
          if (c.name === 'worker_connections') {
            checkShape(c, 1, 1, false);
            once(c, events);
            if (atoi(c.args[0] as string) === undefined)
              throw directiveError(c, `invalid number "${c.args[0]}"`);
          } else if (c.name === 'use') {
            checkShape(c, 1, 1, false);
            once(c, events);
            if (!['epoll', 'poll', 'select'].includes(c.args[0] as string))
              throw directiveError(c, `invalid event type "${c.args[0]}"`);
          } else if (c.name === 'multi_accept') flag(c, events);
        }
        break;
      }
      case 'pid':
        checkShape(d, 1, 1, false);
        once(d, main);
        pid = isAbsolute(d.args[0] as string) ? (d.args[0] as string) : resolve(prefix, d.args[0] as string);
        break;
      case 'error_log':
        errorLogLevels(d);
        errorLog = d.args[0] as string;
        break;
      case 'worker_processes':
        checkShape(d, 1, 1, false);
        once(d, main);
        if (d.args[0] !== 'auto' && atoi(d.args[0] as string) === undefined)
          throw directiveError(d, `"${d.name}" directive invalid value`);
        break;
      case 'daemon':
      case 'master_process':
        flag(d, main);
        break;
      case 'user':
        checkShape(d, 1, 2, false);
        once(d, main);
        break;
      default:
        checkShape(d, 1, Number.POSITIVE_INFINITY, false);
    }
  }
  if (!sawHttp) {
    throw new ConfError(
      'ERR_CONF_DIRECTIVE',
      'no "http" block: the gateway has nothing to serve',
      parsed.path,
      1,
    );
  }
  // What nginx checks once everything is read, reported without a place as nginx does.
  const problem = variableProblem(
    parsed.root,
    new Set(conf.variablesDefinedByConfig.map((v) => v.toLowerCase())),
  );
  if (problem !== undefined) throw problem;
  if (!sawEvents) throw new Error('no "events" section in configuration');

  return {
    path: parsed.path,
    prefix,
    conf,
    maps: conf.maps,
    upstreams,
    servers,
    ...(pid !== undefined ? { pid } : {}),
    ...(errorLog !== undefined ? { errorLog } : {}),
  };
}

/**
 * nginx reports a directive at the line of the `;` or `{` that ends it, and the checks it makes
 * when a block is read (`no servers are inside upstream`) at the block's `}`: the tree is
 * re-labelled with those lines, which the parser records.
 */
function atTerminators(parsed: ParsedNginxConf): {
  parsed: ParsedNginxConf;
  closeLine: (d: Directive) => number;
} {
  const move = (list: readonly Directive[]): Directive[] =>
    list.map((d) => ({ ...d, line: d.endLine, ...(d.block ? { block: move(d.block) } : {}) }));
  return { parsed: { ...parsed, root: move(parsed.root) }, closeLine: (d) => d.closeLine ?? d.line };
}

/**
 * What `ngx_http_map` reports beyond the shared reader: keys given twice (`conflicting parameter`;
 * keys are compared lowercased, and after `hostnames` as nginx's wildcard hash does).
 */
function mapConflicts(d: Directive): void {
  let hostnames = false;
  const keys = new Set<string>();
  for (const e of d.block ?? []) {
    if (e.args.length === 0 && (e.name === 'hostnames' || e.name === 'volatile')) {
      if (e.name === 'hostnames') hostnames = true;
      continue;
    }
    if (e.name === 'default' || e.name.startsWith('~')) continue;
    const k = (e.name.startsWith('\\') ? e.name.slice(1) : e.name).toLowerCase();
    let forms = [`=${k}`];
    if (hostnames) {
      if (k.startsWith('.')) forms = [`=${k.slice(1)}`, `*${k.slice(1)}`];
      else if (k.startsWith('*.')) forms = [`*${k.slice(2)}`];
      else if (k.endsWith('.*')) forms = [`${k.slice(0, -2)}*`];
      else if (k.includes('*')) throw directiveError(e, `invalid hostname or wildcard "${k}"`);
    }
    if (forms.some((f) => keys.has(f))) throw directiveError(e, `conflicting parameter "${k}"`);
    for (const f of forms) keys.add(f);
  }
}

const LOG_LEVELS = new Set(['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug']);
const DEBUG_LEVELS = new Set([
  'debug_core',
  'debug_alloc',
  'debug_mutex',
  'debug_event',
  'debug_http',
  'debug_mail',
  'debug_stream',
]);

/** `error_log file [level]`, levels checked as `ngx_log_set_levels` does. */
function errorLogLevels(d: Directive): void {
  checkShape(d, 1, Number.POSITIVE_INFINITY, false);
  let level = false;
  let debug = false;
  for (const a of d.args.slice(1)) {
    if (LOG_LEVELS.has(a)) {
      if (level || debug) throw directiveError(d, `duplicate log level "${a}"`);
      level = true;
    } else if (DEBUG_LEVELS.has(a) && !level) debug = true;
    else throw directiveError(d, `invalid log level "${a}"`);
  }
}

/** The variables a directive the gateway runs refers to (in nginx's complex values and formats). */
function referencedVariables(d: Directive): string[] {
  const a = d.args;
  switch (d.name) {
    case 'log_format':
    case 'upstream_log_format':
      return a.slice(a[1]?.startsWith('escape=') ? 2 : 1).flatMap(variablesIn);
    case 'access_log':
    case 'upstream_log': {
      const path = a[0] ?? 'off';
      const out = path === 'off' || path.startsWith('syslog:') ? [] : variablesIn(path);
      for (const p of a.slice(2)) {
        if (p.startsWith('if=')) out.push(...variablesIn(p.slice(3)));
        else if (p.startsWith('if!=')) out.push(...variablesIn(p.slice(4)));
      }
      return out;
    }
    case 'map':
      return [
        ...variablesIn(a[0] ?? ''),
        ...(d.block ?? []).flatMap((e) => (e.args[0] !== undefined ? variablesIn(e.args[0]) : [])),
      ];
    case 'if':
      return conditionVariables(d);
    case 'proxy_set_header':
      return variablesIn(a[1] ?? '');
    case 'return':
      if (a.length === 2) return variablesIn(a[1] as string);
      return atoi(a[0] ?? '') === undefined ? variablesIn(a[0] ?? '') : [];
    case 'error_page':
      return variablesIn(a[a.length - 1] ?? '');
    case 'root':
      return variablesIn(a[0] ?? '');
    default:
      return [];
  }
}

/** Prefixes nginx reads as a family of variables (`$http_…`); nginx accepts the bare prefix too. */
const PREFIXES = new Set([
  'arg_',
  'cookie_',
  'http_',
  'sent_http_',
  'sent_trailer_',
  'upstream_cookie_',
  'upstream_http_',
  'upstream_trailer_',
]);

/**
 * The first variable, in reading order, that the gateway cannot give a value: one nginx has and
 * the gateway does not (`variable "$x" is not supported by logtally gateway` at the directive),
 * or one that neither nginx nor the configuration defines (nginx's `unknown "x" variable`,
 * lowercased and without a place, as nginx reports it once everything is read).
 */
function variableProblem(root: readonly Directive[], defined: ReadonlySet<string>): Error | undefined {
  const known = (name: string) =>
    /^[0-9]+$/.test(name) || defined.has(name) || PREFIXES.has(name) || isKnownVariable(name, 'http');
  const walk = (list: readonly Directive[]): Error | undefined => {
    for (const d of list) {
      for (const v of referencedVariables(d)) {
        const name = v.toLowerCase();
        if (known(name)) continue;
        if (NGINX_ONLY_VARIABLES.has(name))
          return directiveError(d, `variable "$${name}" is not supported by logtally gateway`);
        return new Error(`unknown "${name}" variable`);
      }
      if (d.block && d.name !== 'map' && d.name !== 'types') {
        const e = walk(d.block);
        if (e !== undefined) return e;
      }
    }
    return undefined;
  };
  return walk(root);
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export type { Condition };
