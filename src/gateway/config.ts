/**
 * The gateway's configuration: the nginx subset `logtally gateway` runs, read from the same
 * directive tree as every nginx.conf logtally reads (lexer, includes, file:line errors), checked
 * as nginx checks it, with nginx's inheritance http → server → location → `if` / `limit_except`.
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { ConfError } from '../format/errors.ts';
import { parseOpenLogFileCache } from '../format/nginx-conf/cache.ts';
import { checkShape, directiveError } from '../format/nginx-conf/checks.ts';
import { extractNginxConf } from '../format/nginx-conf/extract.ts';
import type { NginxConf, NginxLog, NginxMap, NginxOpenLogFileCache } from '../format/nginx-conf/model.ts';
import { type Directive, parseNginxConf } from '../format/nginx-conf/parse.ts';
import { atoi, sizeOrUndefined, timeOrUndefined } from '../format/nginx-conf/units.ts';
import { type Condition, parseCondition } from './condition.ts';
import { NGINX_ONLY } from './unsupported.ts';

type Ctx = 'main' | 'events' | 'http' | 'server' | 'location' | 'if' | 'limit_except' | 'upstream';

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
}

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
    nextUpstream: raw.nextUpstream ?? parent.nextUpstream,
    tries: raw.tries ?? parent.tries,
    nextTimeout: raw.nextTimeout ?? parent.nextTimeout,
    connectTimeout: raw.connectTimeout ?? parent.connectTimeout,
    sendTimeout: raw.sendTimeout ?? parent.sendTimeout,
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

/** nginx's `ngx_conf_flag`: on|off. */
function flag(d: Directive): boolean {
  checkShape(d, 1, 1, false);
  const v = (d.args[0] as string).toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw directiveError(d, `invalid value "${d.args[0]}" in "${d.name}" directive, it must be "on" or "off"`);
}

function msec(d: Directive, v = d.args[0] as string): number {
  const t = timeOrUndefined(v, false);
  if (t === undefined) throw directiveError(d, `"${d.name}" directive invalid value`);
  return t;
}

function size(d: Directive): number {
  checkShape(d, 1, 1, false);
  const n = sizeOrUndefined(d.args[0] as string);
  if (n === undefined) throw directiveError(d, `"${d.name}" directive invalid value`);
  return n;
}

const HTTP_STATUSES = new Set([500, 502, 503, 504, 403, 404, 429]);

function nextUpstream(d: Directive): NextUpstream {
  checkShape(d, 1, Number.POSITIVE_INFINITY, false);
  let error = false;
  let timeout = false;
  let invalidHeader = false;
  let nonIdempotent = false;
  const statuses = new Set<number>();
  for (const a of d.args) {
    if (a === 'off') {
      if (d.args.length > 1) throw directiveError(d, `invalid value "${a}"`);
      return { error: false, timeout: false, invalidHeader: false, statuses, nonIdempotent: false };
    }
    if (a === 'error') error = true;
    else if (a === 'timeout') timeout = true;
    else if (a === 'invalid_header') invalidHeader = true;
    else if (a === 'non_idempotent') nonIdempotent = true;
    else if (/^http_\d{3}$/.test(a) && HTTP_STATUSES.has(Number(a.slice(5))))
      statuses.add(Number(a.slice(5)));
    else if (a === 'updating') throw directiveError(d, `invalid value "${a}"`);
    else throw directiveError(d, `invalid value "${a}"`);
  }
  return { error, timeout, invalidHeader, statuses, nonIdempotent };
}

function errorPage(d: Directive): ErrorPage {
  checkShape(d, 2, Number.POSITIVE_INFINITY, false);
  const args = [...d.args];
  const uri = args.pop() as string;
  let override: number | 'any' | undefined;
  const last = args[args.length - 1] as string;
  if (last.startsWith('=')) {
    args.pop();
    if (last === '=') override = 'any';
    else {
      const n = atoi(last.slice(1));
      if (n === undefined) throw directiveError(d, `invalid value "${last}"`);
      override = n;
    }
  }
  if (args.length === 0) throw directiveError(d, `invalid number of arguments in "error_page" directive`);
  const codes: number[] = [];
  for (const a of args) {
    const n = atoi(a);
    if (n === undefined || n < 300 || n > 599)
      throw directiveError(d, `value "${a}" must be between 300 and 599`);
    if (n === 499) throw directiveError(d, `value "${a}" must be between 300 and 599`);
    codes.push(n);
  }
  return { codes, uri, ...(override !== undefined ? { override } : {}) };
}

function proxyPass(d: Directive, ctx: Ctx, loc: { kind: Location['kind'] } | undefined): ProxyPass {
  checkShape(d, 1, 1, false);
  const url = d.args[0] as string;
  const m = /^(https?):\/\/([^/]+)(\/.*)?$/i.exec(url);
  if (!m) {
    if (url.startsWith('unix:') || /^[a-z]+:\/\//i.test(url) === false)
      throw directiveError(d, `invalid URL prefix in "${url}"`);
    throw directiveError(d, `invalid URL prefix in "${url}"`);
  }
  const uri = m[3];
  if (
    uri !== undefined &&
    (ctx === 'if' || loc?.kind === 'regex' || loc?.kind === 'named' || ctx === 'limit_except')
  ) {
    throw directiveError(
      d,
      '"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block',
    );
  }
  if ((m[2] as string).includes('$'))
    throw directiveError(d, `variables in "proxy_pass" are not supported by logtally gateway`);
  return {
    scheme: (m[1] as string).toLowerCase() as 'http' | 'https',
    host: m[2] as string,
    ...(uri !== undefined ? { uri } : {}),
    file: d.file,
    line: d.line,
  };
}

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
    else if (p === 'reuseport' || p.startsWith('backlog=') || p === 'http2' || p.startsWith('so_keepalive='))
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
  const hostPort = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(address);
  if (!hostPort) throw directiveError(d, `invalid host in upstream "${address}"`);
  if (hostPort[2] !== undefined) {
    const port = atoi(hostPort[2]);
    if (!port || port > 65535) throw directiveError(d, `invalid port in upstream "${address}"`);
  }
  return { address, weight, maxFails, failTimeout, backup, down, file: d.file, line: d.line };
}

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
  proxy_read_timeout: ['http', 'server', 'location'],
  proxy_set_header: ['http', 'server', 'location'],
  proxy_pass_request_headers: ['http', 'server', 'location'],
  proxy_intercept_errors: ['http', 'server', 'location'],
  proxy_ignore_headers: ['http', 'server', 'location'],
  return: ['server', 'location', 'if'],
  error_page: ['http', 'server', 'location', 'if'],
  internal: ['location'],
  client_max_body_size: ['http', 'server', 'location'],
  types: ['http', 'server', 'location'],
  default_type: ['http', 'server', 'location'],
  include: ['main', 'http', 'server', 'location', 'upstream', 'events', 'if', 'limit_except'],
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

/** The logs of one level: every access_log/upstream_log of it, from the extracted model. */
type LogIndex = Map<string, NginxLog>;

/**
 * Reads and checks a gateway configuration.
 * @throws ConfError naming file:line in nginx's words: unknown directives, directives in the
 *   wrong context, bad arguments, nginx directives logtally does not implement, unknown
 *   upstreams and log formats.
 */
export function loadGatewayConfig(path: string, opts: { prefix?: string } = {}): GatewayConfig {
  const parsed = parseNginxConf(path);
  const conf = extractNginxConf(parsed, opts.prefix !== undefined ? { prefix: opts.prefix } : {});
  const prefix = conf.prefix;
  const logs: LogIndex = new Map();
  // Two log directives may share a line: the key is the directive as written.
  for (const l of conf.logs) logs.set(`${l.file}\0${l.line}\0${l.directive}\0${l.rawPath}`, l);
  const logOf = (d: Directive): NginxLog => {
    const l = logs.get(`${d.file}\0${d.line}\0${d.name}\0${d.args[0]}`);
    if (!l) throw directiveError(d, `"${d.name}" could not be read`);
    return l;
  };

  const upstreams = new Map<string, UpstreamConf>();
  const servers: ServerConf[] = [];
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
        if (d.name === 'open_log_file_cache') raw.openLogFileCache = c;
        else raw.upstreamOpenLogFileCache = c;
        return true;
      }
      case 'root':
        checkShape(d, 1, 1, false);
        raw.root = isAbsolute(d.args[0] as string)
          ? (d.args[0] as string)
          : resolve(prefix, d.args[0] as string);
        return true;
      case 'error_page':
        raw.errorPages = [...(raw.errorPages ?? []), errorPage(d)];
        return true;
      case 'proxy_next_upstream':
        raw.nextUpstream = nextUpstream(d);
        return true;
      case 'proxy_next_upstream_tries': {
        checkShape(d, 1, 1, false);
        const n = atoi(d.args[0] as string);
        if (n === undefined) throw directiveError(d, `invalid number "${d.args[0]}"`);
        raw.tries = n;
        return true;
      }
      case 'proxy_next_upstream_timeout':
        checkShape(d, 1, 1, false);
        raw.nextTimeout = msec(d);
        return true;
      case 'proxy_connect_timeout':
        checkShape(d, 1, 1, false);
        raw.connectTimeout = msec(d);
        return true;
      case 'proxy_send_timeout':
        checkShape(d, 1, 1, false);
        raw.sendTimeout = msec(d);
        return true;
      case 'proxy_read_timeout':
        checkShape(d, 1, 1, false);
        raw.readTimeout = msec(d);
        return true;
      case 'proxy_set_header':
        checkShape(d, 2, 2, false);
        raw.setHeaders = [...(raw.setHeaders ?? []), [d.args[0] as string, d.args[1] as string]];
        return true;
      case 'proxy_pass_request_headers':
        raw.passRequestHeaders = flag(d);
        return true;
      case 'proxy_intercept_errors':
        raw.interceptErrors = flag(d);
        return true;
      case 'proxy_ignore_headers': {
        checkShape(d, 1, Number.POSITIVE_INFINITY, false);
        const known = [
          'x-accel-redirect',
          'x-accel-expires',
          'x-accel-limit-rate',
          'x-accel-buffering',
          'x-accel-charset',
          'expires',
          'cache-control',
          'set-cookie',
          'vary',
        ];
        for (const a of d.args) {
          if (!known.includes(a.toLowerCase()))
            throw directiveError(d, `invalid value "${a}" in "${d.name}" directive`);
        }
        raw.ignoreXAccel = d.args.some((a) => a.toLowerCase() === 'x-accel-redirect');
        return true;
      }
      case 'client_max_body_size':
        raw.clientMaxBodySize = size(d);
        return true;
      case 'allow':
      case 'deny':
        checkShape(d, 1, 1, false);
        raw.access = [...(raw.access ?? []), { allow: d.name === 'allow', what: d.args[0] as string }];
        return true;
      case 'proxy_pass':
        if (raw.proxyPass) throw directiveError(d, `"proxy_pass" directive is duplicate`);
        raw.proxyPass = proxyPass(d, ctx, loc);
        return true;
      case 'return': {
        checkShape(d, 1, 2, false);
        const a = d.args[0] as string;
        const n = atoi(a);
        if (n === undefined) {
          if (d.args.length === 2 || !/^(https?:\/\/|\$scheme)/.test(a))
            throw directiveError(d, `invalid return code "${a}"`);
          raw.ret = { code: 302, text: a };
        } else {
          if (n > 999) throw directiveError(d, `invalid return code "${a}"`);
          raw.ret = { code: n, ...(d.args[1] !== undefined ? { text: d.args[1] } : {}) };
        }
        return true;
      }
      case 'internal':
        checkShape(d, 0, 0, false);
        raw.internal = true;
        return true;
      case 'error_log':
      case 'types':
      case 'default_type':
        return true;
    }
    return false;
  };

  const ifBlock = (d: Directive, parent: LevelConf): IfBlock => {
    if (!d.block) throw directiveError(d, `directive "if" has no opening "{"`, 'ERR_CONF_SYNTAX');
    const condition = parseCondition(d);
    const raw: Raw = {};
    for (const c of d.block) {
      check(c, 'if');
      if (!levelDirective(c, 'if', raw)) throw directiveError(c, `"${c.name}" directive is not allowed here`);
    }
    return { condition, conf: merge({ ...parent, internal: false }, raw) };
  };

  const location = (d: Directive, parent: LevelConf, outer?: Location['kind']): Location => {
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
    if (outer === 'named')
      throw directiveError(d, `location "${pattern}" could not be inside the named location`);
    if (outer === 'exact')
      throw directiveError(d, `location "${pattern}" could not be inside the exact location`);
    if (kind === 'named' && outer !== undefined)
      throw directiveError(d, `named location "${pattern}" can be on the server level only`);
    const raw: Raw = {};
    const nestedDirectives: Directive[] = [];
    const ifs: Directive[] = [];
    let limit: Directive | undefined;
    for (const c of d.block ?? []) {
      check(c, 'location');
      if (c.name === 'location') nestedDirectives.push(c);
      else if (c.name === 'if') ifs.push(c);
      else if (c.name === 'limit_except') {
        if (limit) throw directiveError(c, `"limit_except" directive is duplicate`);
        limit = c;
      } else if (!levelDirective(c, 'location', raw, { kind }))
        throw directiveError(c, `"${c.name}" directive is not allowed here`);
    }
    const conf = merge(parent, raw);
    const nested = nestedDirectives.map((n) => location(n, { ...conf, internal: false }, kind));
    for (const n of nested) {
      if (kind === 'prefix' || kind === 'noregex') {
        if (n.kind !== 'regex' && !n.pattern.startsWith(pattern))
          throw directiveError(d, `location "${n.pattern}" is outside location "${pattern}"`);
      }
    }
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
      ifs: ifs.map((i) => ifBlock(i, conf)),
      ...(limitExcept ? { limitExcept } : {}),
      file: d.file,
      line: d.line,
    };
  };

  const server = (d: Directive, http: LevelConf, httpCert: { cert?: string; key?: string }): ServerConf => {
    if (!d.block) throw directiveError(d, `directive "server" has no opening "{"`, 'ERR_CONF_SYNTAX');
    checkShape(d, 0, 0, true);
    const raw: Raw = {};
    const listens: Listen[] = [];
    const names: string[] = [];
    const locs: Directive[] = [];
    const ifs: Directive[] = [];
    let cert = httpCert.cert;
    let key = httpCert.key;
    for (const c of d.block) {
      check(c, 'server');
      switch (c.name) {
        case 'listen':
          listens.push(parseListen(c));
          continue;
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
    const named = new Map<string, Location>();
    for (const l of locations) {
      if (l.kind !== 'named') continue;
      if (named.has(l.pattern)) throw directiveError(d, `duplicate location "${l.pattern}"`);
      named.set(l.pattern, l);
    }
    const seen = new Set<string>();
    for (const l of locations) {
      if (l.kind === 'regex' || l.kind === 'named') continue;
      const k = `${l.kind === 'exact' ? '=' : ''}${l.pattern}`;
      if (seen.has(k)) {
        const dup = (d.block ?? []).filter((x) => x.name === 'location')[locations.indexOf(l)] as Directive;
        throw directiveError(dup, `duplicate location "${l.pattern}"`);
      }
      seen.add(k);
    }
    if (listens.some((l) => l.ssl) && (!cert || !key)) {
      throw directiveError(d, `no "ssl_certificate" is defined for the "listen ... ssl" directive`);
    }
    return {
      listens,
      names: names.length ? names : [''],
      conf,
      locations,
      named,
      ifs: ifs.map((i) => ifBlock(i, conf)),
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
        const n = atoi(c.args[0] as string);
        if (!n) throw directiveError(c, `invalid value "${c.args[0]}" in "keepalive" directive`);
        keepalive = n;
      }
    }
    if (list.length === 0) throw directiveError(d, `no servers are inside upstream`);
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
    const cert: { cert?: string; key?: string } = {};
    for (const c of d.block ?? []) {
      check(c, 'http');
      switch (c.name) {
        case 'log_format':
        case 'upstream_log_format':
        case 'map':
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

  for (const d of parsed.root) {
    check(d, 'main');
    switch (d.name) {
      case 'http':
        http(d);
        break;
      case 'events':
        for (const c of d.block ?? []) check(c, 'events');
        break;
      case 'pid':
        checkShape(d, 1, 1, false);
        pid = isAbsolute(d.args[0] as string) ? (d.args[0] as string) : resolve(prefix, d.args[0] as string);
        break;
      case 'error_log':
        checkShape(d, 1, 2, false);
        errorLog = d.args[0] as string;
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

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export type { Condition };
