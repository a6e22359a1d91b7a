/**
 * One client request through the gateway: server and location selection, `return`, access
 * rules, static files, proxying with `proxy_next_upstream`, X-Accel-Redirect and `error_page`
 * internal redirects — and the logs, written as the upstream log module writes them: one
 * upstream line when each contact ends (before the next attempt, before the response is
 * complete), one access line when the request ends.
 * @module
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { compileNginx } from '../format/nginx/compile.ts';
import type { RequestRecord } from '../format/record/record.ts';
import type { CompiledFormat, RenderSource, RenderValue } from '../format/types.ts';
import type { VariableContext } from '../http/getter.ts';
import { nginxGetter } from '../http/nginx-vars.ts';
import { RequestState } from '../http/state.ts';
import { fromLatin1, rawHeader } from '../http/text.ts';
import { normalizeUri } from '../http/uri.ts';
import { compileTemplate, type Template } from '../writer/template.ts';
import type { IfBlock, LevelConf, Listen, Location, ProxyPass, ServerConf } from './config.ts';
import { Contact, contactFlags, contactRecords, upstreamGetter, wallSeconds } from './contact.ts';
import { findLocation, type Runtime } from './runtime.ts';
import type { Connection, Peer, UpstreamGroup } from './upstream.ts';

/** nginx's status lines for the pages it generates (ngx_http_special_response.c). */
const STATUS_TEXT: Readonly<Record<number, string>> = {
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Authorization Required',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Time-out',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  421: 'Misdirected Request',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
  505: 'HTTP Version Not Supported',
  507: 'Insufficient Storage',
};

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html',
  '.htm': 'text/html',
  '.txt': 'text/plain',
  '.css': 'text/css',
  '.js': 'application/javascript',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
};

/** Request headers never passed upstream (nginx's proxy defaults, and what undici sets itself). */
const DROP_REQUEST = new Set([
  'host',
  'connection',
  'keep-alive',
  'te',
  'expect',
  'upgrade',
  'transfer-encoding',
  'content-length',
  'proxy-connection',
]);

/** Response headers not relayed: hop-by-hop, and those nginx hides or sets itself. */
const DROP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
  'date',
  'server',
  'x-pad',
  'x-accel-redirect',
  'x-accel-expires',
  'x-accel-limit-rate',
  'x-accel-buffering',
  'x-accel-charset',
]);

/** Request bodies up to this size are read before the first attempt, so a retry can send them again. */
const REPLAYABLE_BODY = 64 * 1024;
const MAX_REDIRECTS = 10;
const CLOSE_AFTER = new Set([400, 408, 413, 414, 494, 495, 496, 497, 500, 501]);
/** nginx's non-idempotent methods (ngx_http_upstream_next): not retried once sent, without `non_idempotent`. */
const NON_IDEMPOTENT = new Set(['POST', 'LOCK', 'PATCH']);

const textFormats = new Map<string, CompiledFormat>();
function textFormat(name: string): CompiledFormat {
  let f = textFormats.get(name);
  if (!f) {
    f = compileNginx(`\${${name}}`, { escape: 'none' });
    textFormats.set(name, f);
  }
  return f;
}
const templates = new Map<string, Template>();
function template(s: string): Template {
  let t = templates.get(s);
  if (!t) {
    t = compileTemplate(s);
    templates.set(s, t);
  }
  return t;
}

/** nginx's `ngx_escape_uri(NGX_ESCAPE_URI)`: space, `#`, `%`, `?`, controls and bytes ≥ 0x7f. */
function escapeUri(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x23 || c === 0x25 || c === 0x3f) {
      out += `%${(c & 0xff).toString(16).toUpperCase().padStart(2, '0')}`;
    } else out += s[i];
  }
  return out;
}

const ruleLists = new Map<string, BlockList | 'all'>();

/** `allow`/`deny` address or CIDR (IPv4, IPv6; IPv4-mapped client addresses match IPv4 rules), or `all`. */
function ruleMatches(what: string, addr: string | undefined): boolean {
  let list = ruleLists.get(what);
  if (list === undefined) {
    if (what === 'all') list = 'all';
    else {
      list = new BlockList();
      const [net, bits] = what.split('/') as [string, string | undefined];
      const type = isIP(net) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) list.addAddress(net, type);
      else list.addSubnet(net, Number(bits), type);
    }
    ruleLists.set(what, list);
  }
  if (list === 'all') return true;
  if (addr === undefined) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr)?.[1];
  const a = mapped ?? addr;
  return list.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
}

/** `request`: undici refused the request itself (not the server's fault: no retry, no failure counted). */
type Failure = 'error' | 'timeout' | 'invalid' | 'request' | 'too-large';

interface UpstreamResponse {
  readonly kind: 'response';
  readonly status: number;
  readonly statusText: string;
  readonly headers: readonly Buffer[] | readonly string[];
  /** Starts the body: chunks go to `onData`; resolves when the body ended (true) or failed (false). */
  relay(onData: (chunk: Buffer) => boolean, resume: (f: () => void) => void): Promise<boolean>;
  /** Discards the rest of the response (closes the connection). */
  discard(): void;
}
type AttemptResult =
  | { readonly kind: 'failure'; readonly failure: Failure; readonly error?: unknown }
  | UpstreamResponse;

/** The request body as it streams, failing with LT_TOO_LARGE past `limit` bytes. */
/** Reads a request body whole, failing with LT_BODY_TIMEOUT when the client sends nothing for `idleMs`. */
function readWhole(req: IncomingMessage, idleMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (idleMs <= 0) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        cleanup();
        reject(
          Object.assign(new Error('client timed out sending the request body'), { code: 'LT_BODY_TIMEOUT' }),
        );
      }, idleMs);
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      arm();
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onAborted = () => onError(new Error('aborted'));
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
    arm();
  });
}

async function* limited(body: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > limit)
      throw Object.assign(new Error('client intended to send too large body'), { code: 'LT_TOO_LARGE' });
    yield chunk;
  }
}

function classify(err: unknown): Failure {
  const code = (err as { code?: string })?.code ?? '';
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'ETIMEDOUT' ||
    code === 'LT_SEND_TIMEOUT'
  )
    return 'timeout';
  if (code === 'HPE_INVALID_HEADER_TOKEN' || code.startsWith('HPE_') || code === 'UND_ERR_INFO')
    return 'invalid';
  if (code === 'UND_ERR_INVALID_ARG') return 'request';
  if (code === 'LT_TOO_LARGE') return 'too-large';
  return 'error';
}

type VariableGetter = (x: Exchange) => RenderValue;

const ENDED_OR_NOW = (x: Exchange) => (x.ended ? x.state.endTime : Date.now()) / 1000;

/** Exchange's own variables (what changes with internal redirects, the proxy's, the log-time ones). */
const OWN: Readonly<Record<string, VariableGetter>> = {
  uri: (x) => fromLatin1(x.uri),
  document_uri: (x) => fromLatin1(x.uri),
  args: (x) => (x.args === undefined ? undefined : fromLatin1(x.args)),
  query_string: (x) => (x.args === undefined ? undefined : fromLatin1(x.args)),
  is_args: (x) => (x.args === undefined ? '' : '?'),
  status: (x) => x.loggedStatus,
  request_time: (x) => (x.ended ? x.state.requestTime : (Date.now() - x.state.startTime) / 1000),
  time_local: ENDED_OR_NOW,
  time_iso8601: ENDED_OR_NOW,
  msec: ENDED_OR_NOW,
  server_name: (x) => x.server?.names[0] ?? '',
  document_root: (x) => x.conf?.root,
  request_filename: (x) => (x.conf ? join(x.conf.root, fromLatin1(x.uri)) : undefined),
  proxy_host: (x) => (x.conf?.proxyPass ? proxyHost(x.conf.proxyPass) : undefined),
  proxy_port: (x) => (x.conf?.proxyPass ? String(proxyPort(x.conf.proxyPass)) : undefined),
  proxy_add_x_forwarded_for: (x) => {
    const xff = rawHeader(x.req, 'x-forwarded-for');
    const addr = x.state.conn.remoteAddress ?? '';
    return xff ? `${xff}, ${addr}` : addr;
  },
  request_method: (x) => x.method,
};

/** Getters resolved once per name, per configuration (a `map` name differs between configurations). */
const resolved = new WeakMap<Runtime, Map<string, VariableGetter>>();

/** The getter of a variable (lower-case name): upstream, the exchange's own, `map`, then nginx's request variables. */
function resolveVariable(key: string, rt: Runtime): VariableGetter {
  const up = upstreamGetter(key);
  if (up) return (x) => up(x.groups);
  const own = OWN[key];
  if (own) return own;
  if (rt.isMap(key)) return (x) => x.mapValue(key) ?? undefined;
  const g = nginxGetter(key);
  if (!g) return () => undefined;
  if (key === 'host') return (x) => g(x.state, { serverName: x.server?.names[0] ?? '' });
  return (x) => g(x.state, x.context);
}

export class Exchange {
  readonly rt: Runtime;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly state: RequestState;
  readonly local: Listen;
  server!: ServerConf;
  conf!: LevelConf;
  loc: Location | undefined;
  method: string;
  uri: string;
  args: string | undefined;
  /** True after an internal redirect (error_page, X-Accel-Redirect): the URI is r->uri, not the client's. */
  internal = false;
  redirects = 0;
  errorPaged = false;
  /** `error_page … =code` or the original code, applied to the response of the redirected request. */
  forcedStatus: number | undefined;
  readonly groups: Contact[][] = [];
  clientGone = false;
  /** Resolves the contact in progress before undici started it. */
  #pending: ((r: AttemptResult) => void) | undefined;
  #ended = false;
  /** The gateway itself ended the connection (return 444, an upstream cut mid-body): not a client abort. */
  #selfClosed = false;
  /** Resolves once the access line was written (the response finished or the connection closed). */
  readonly finished: Promise<void>;
  #resolveFinished!: () => void;
  /** No location matched the URI (Envoy's NR). */
  #noRoute = false;
  #body: Buffer | Readable | undefined;
  #bodyRead = false;
  /** Headers of an X-Accel-Redirect response nginx keeps on the redirected one (Set-Cookie, Content-Type, …). */
  #carried: [string, string][] | undefined;

  #abortUpstream(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.({ kind: 'failure', failure: 'error' });
  }
  #bodyUsed = false;
  readonly #ctx: VariableContext;
  readonly #source: RenderSource;
  #mapBusy: Set<string> | undefined;

  constructor(rt: Runtime, local: Listen, req: IncomingMessage, res: ServerResponse) {
    this.rt = rt;
    this.req = req;
    this.res = res;
    this.local = local;
    this.state = new RequestState(req, res);
    this.method = req.method ?? 'GET';
    const path = this.state.target.path;
    const q = path.indexOf('?');
    this.uri = normalizeUri(q === -1 ? path : path.slice(0, q));
    this.args = q === -1 || q === path.length - 1 ? undefined : path.slice(q + 1);
    this.#ctx = { serverName: '' };
    this.#source = (name) => this.variable(name);
    this.finished = new Promise<void>((resolve) => {
      this.#resolveFinished = resolve;
    });
    res.prependListener('finish', () => this.#finish(false));
    res.once('close', () => {
      if (!res.writableFinished && !this.#selfClosed) {
        this.clientGone = true;
        this.#abortUpstream();
      }
      this.#finish(!res.writableFinished);
    });
  }

  get source(): RenderSource {
    return this.#source;
  }

  /** A variable's value for the logs (name without `$`, any case), by a getter resolved once per name. */
  variable(name: string): RenderValue {
    let table = resolved.get(this.rt);
    if (!table) {
      table = new Map();
      resolved.set(this.rt, table);
    }
    let get = table.get(name);
    if (get === undefined) {
      get = resolveVariable(name.toLowerCase(), this.rt);
      table.set(name, get);
    }
    return get(this);
  }

  /** `$status` as logged: 499 when the client went away, 0 while no response header was sent. */
  get loggedStatus(): number {
    if (this.#ended) return this.clientGone ? 499 : this.res.statusCode;
    return this.res.headersSent ? this.res.statusCode : 0;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get context(): VariableContext {
    return this.#ctx;
  }

  /** A variable as nginx's scripts see it (map sources, `if`, `proxy_set_header`): unescaped text, "" when not found. */
  text(name: string): string {
    return textFormat(name).render(this.#source);
  }

  /**
   * The value of a `map` variable, evaluated each time it is read: lines are written at several
   * moments of a request (each contact, then the end) and what a map reads ($status,
   * $upstream_status, …) changes in between. A map that reads itself evaluates to "".
   */
  mapValue(key: string): string | null {
    if (!this.#mapBusy) this.#mapBusy = new Set();
    const busy = this.#mapBusy;
    if (busy.has(key)) return '';
    busy.add(key);
    try {
      return this.rt.mapValue(key, (n) => this.text(n));
    } finally {
      busy.delete(key);
    }
  }

  #textSource = (n: string): string => this.text(n);

  /** Runs the request to its end. Never throws. */
  async run(): Promise<void> {
    try {
      const host = rawHeader(this.req, 'host');
      this.server = this.rt.selectServer(
        this.local,
        host === undefined ? undefined : host.replace(/:\d+$/, ''),
      );
      this.conf = this.server.conf;
      await this.#process();
    } catch (e) {
      // A client that went away mid-body makes reads fail: not the gateway's error.
      if (this.clientGone) return;
      this.rt.onError(`request "${this.method} ${fromLatin1(this.uri)}": ${(e as Error).stack ?? e}`);
      if (!this.res.headersSent) this.#plain(500);
      else this.#close();
    }
  }

  async #process(named?: Location): Promise<void> {
    if (++this.redirects > MAX_REDIRECTS) {
      this.rt.onError(
        `rewrite or internal redirection cycle while internally redirecting to "${fromLatin1(this.uri)}"`,
      );
      return this.#plain(500);
    }
    let conf = this.server.conf;
    // The server's rewrite phase runs again after an internal redirect to a URI (nginx's
    // ngx_http_internal_redirect), not for a named location.
    if (!named) {
      const r = this.#rewritePhase(this.server.ifs, this.server.returnAfter, this.server.conf);
      if (r.returned) return this.#return(r.conf);
      conf = r.conf;
    }
    const loc = named ?? findLocation(this.server.locations, this.uri);
    this.loc = loc;
    this.#noRoute = loc === undefined;
    if (loc) {
      if (loc.conf.internal && !this.internal) {
        this.conf = loc.conf;
        return this.#error(404);
      }
      const r = this.#rewritePhase(loc.ifs, loc.returnAfter, loc.conf);
      if (r.returned) return this.#return(r.conf);
      conf = r.conf;
      if (loc.limitExcept && !loc.limitExcept.methods.has(this.method)) conf = loc.limitExcept.conf;
    }
    this.conf = conf;
    for (const rule of conf.access) {
      if (ruleMatches(rule.what, this.state.conn.remoteAddress)) {
        if (!rule.allow) return this.#error(403);
        break;
      }
    }
    if (conf.ret) return this.#return(conf);
    const cl = Number(rawHeader(this.req, 'content-length') ?? 0);
    // nginx checks the size when it finds the location (find_config), which a named location skips.
    if (!named && conf.clientMaxBodySize > 0 && cl > conf.clientMaxBodySize) return this.#error(413);
    if (conf.proxyPass) return this.#proxy(conf, conf.proxyPass);
    return this.#static(conf);
  }

  /**
   * nginx's rewrite phase of one level, in written order: each `if` whose condition holds makes
   * its block the configuration, and a `return` (the level's, where it is written among the
   * `if`s, or one inside a matching `if`) ends the request.
   */
  #rewritePhase(
    ifs: readonly IfBlock[],
    returnAfter: number | undefined,
    base: LevelConf,
  ): { conf: LevelConf; returned: boolean } {
    let conf = base;
    for (let i = 0; i < ifs.length; i++) {
      if (returnAfter === i) return { conf: base, returned: true };
      const b = ifs[i] as IfBlock;
      if (b.condition(this.#textSource)) {
        conf = b.conf;
        if (conf.ret) return { conf, returned: true };
      }
    }
    if (base.ret) return { conf: base, returned: true };
    return { conf, returned: false };
  }

  #return(conf: LevelConf): void | Promise<void> {
    this.conf = conf;
    const r = conf.ret as { code: number; text?: string };
    if (r.code === 444) {
      this.res.statusCode = 444;
      this.#close();
      return;
    }
    const text = r.text === undefined ? undefined : template(r.text)(this.#textSource);
    if (r.code >= 301 && r.code <= 308 && r.code !== 304 && text !== undefined) {
      this.res.setHeader('location', text);
      return this.#plain(r.code);
    }
    if (text !== undefined) {
      this.#send(r.code, 'text/plain', Buffer.from(text, 'latin1'));
      return;
    }
    if (r.code >= 400) return this.#error(r.code);
    return this.#plain(r.code);
  }

  /** An error status: `error_page` if one applies (once per request), else nginx's page. */
  #error(status: number): void | Promise<void> {
    if (this.clientGone) return;
    const page = this.errorPaged ? undefined : this.conf.errorPages.find((p) => p.codes.includes(status));
    if (!page) return this.#plain(this.forcedStatus ?? status);
    this.errorPaged = true;
    this.forcedStatus = page.override === 'any' ? undefined : (page.override ?? status);
    this.internal = true;
    if (page.uri.startsWith('@')) {
      const named = this.server.named.get(page.uri);
      if (!named) {
        this.rt.onError(`could not find named location "${page.uri}"`);
        return this.#plain(500);
      }
      return this.#process(named);
    }
    if (!page.uri.startsWith('/')) {
      this.res.setHeader('location', page.uri);
      const code =
        typeof page.override === 'number' && page.override >= 301 && page.override <= 308
          ? page.override
          : 302;
      this.forcedStatus = undefined;
      return this.#plain(code);
    }
    this.#toGet();
    this.#redirect(page.uri);
    return this.#process();
  }

  /** The carried X-Accel-Redirect headers on a response the gateway makes itself. */
  #applyCarried(): void {
    if (!this.#carried) return;
    const cookies: string[] = [];
    for (const [k, v] of this.#carried) {
      if (k === 'set-cookie') cookies.push(v);
      else this.res.setHeader(k, v);
    }
    if (cookies.length) this.res.setHeader('set-cookie', cookies);
  }

  /** An internal redirect to a URI continues as GET (HEAD stays HEAD), without the request body. */
  #toGet(): void {
    if (this.method !== 'HEAD') this.method = 'GET';
    this.#body = undefined;
  }

  #redirect(target: string): void {
    const q = target.indexOf('?');
    this.uri = normalizeUri(q === -1 ? target : target.slice(0, q));
    this.args = q === -1 ? undefined : target.slice(q + 1);
    this.internal = true;
  }

  /** nginx's built-in response for a status (HTML page for errors, empty body otherwise). */
  #plain(status: number): void {
    if (this.clientGone || this.res.headersSent) return;
    const text = STATUS_TEXT[status];
    if (status < 300 || status === 304 || (status > 399 && text === undefined && status < 400)) {
      this.#send(status, undefined, Buffer.alloc(0));
      return;
    }
    const title = text ? `${status} ${text}` : String(status);
    const body =
      status >= 300 && status < 400 && !text
        ? Buffer.alloc(0)
        : Buffer.from(
            `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>logtally</center>\r\n</body>\r\n</html>\r\n`,
          );
    this.#send(status, 'text/html', body);
  }

  #send(status: number, type: string | undefined, body: Buffer): void {
    if (this.clientGone || this.res.headersSent) return;
    const res = this.res;
    res.statusCode = status;
    if (this.rt.stopping) res.shouldKeepAlive = false;
    res.setHeader('server', 'logtally');
    if (type) res.setHeader('content-type', type);
    res.setHeader('content-length', body.length);
    // nginx ends the connection after these (ngx_http_special_response_handler), not after a 404.
    if (CLOSE_AFTER.has(status)) res.setHeader('connection', 'close');
    if (status < 300) this.#applyCarried();
    res.end(this.method === 'HEAD' ? undefined : body);
    // A body the client sent and nobody read: drain it so the connection stays usable.
    if (!this.#bodyRead) this.req.resume();
  }

  async #static(conf: LevelConf): Promise<void> {
    if (this.method !== 'GET' && this.method !== 'HEAD') return this.#error(405);
    const rel = fromLatin1(this.uri);
    const path = join(conf.root, rel.endsWith('/') ? `${rel}index.html` : rel);
    let st: import('node:fs').Stats;
    try {
      st = await stat(path);
    } catch (e) {
      return this.#error((e as NodeJS.ErrnoException).code === 'EACCES' ? 403 : 404);
    }
    if (st.isDirectory()) {
      this.res.setHeader('location', `${rel}/${this.args !== undefined ? `?${this.args}` : ''}`);
      return this.#plain(301);
    }
    if (!st.isFile()) return this.#error(404);
    const res = this.res;
    res.statusCode = this.forcedStatus ?? 200;
    if (this.rt.stopping) res.shouldKeepAlive = false;
    res.setHeader('server', 'logtally');
    res.setHeader('content-type', MIME[extname(path).toLowerCase()] ?? 'text/plain');
    res.setHeader('content-length', st.size);
    res.setHeader('last-modified', st.mtime.toUTCString());
    this.#applyCarried();
    if (this.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((done) => {
      const s = createReadStream(path);
      s.on('error', () => this.#close());
      s.pipe(res);
      res.once('close', () => done());
    });
  }

  /** The URI sent upstream, by nginx's rules for proxy_pass with and without a URI part. */
  #upstreamUri(pass: ProxyPass): string {
    const loc = this.loc;
    if (pass.uri === undefined) {
      if (!this.internal) return this.state.target.path;
      return escapeUri(this.uri) + (this.args !== undefined ? `?${this.args}` : '');
    }
    const prefix =
      loc && (loc.kind === 'prefix' || loc.kind === 'noregex' || loc.kind === 'exact') ? loc.pattern : '';
    const rest = this.uri.startsWith(prefix) ? this.uri.slice(prefix.length) : this.uri;
    return pass.uri + escapeUri(rest) + (this.args !== undefined ? `?${this.args}` : '');
  }

  /**
   * The upstream request headers: proxy_set_header's (Host: $proxy_host by default; an empty
   * value removes a header), then the client's (unless proxy_pass_request_headers off) minus the
   * hop-by-hop ones and those set. Returns the name of a header whose computed value has CR, LF
   * or NUL instead (only set values can: the client's were checked by the HTTP parser).
   */
  #upstreamHeaders(conf: LevelConf): string[] | { readonly invalid: string } {
    const plan = headerPlan(conf);
    const out: string[] = [];
    for (const [k, t] of plan.set) {
      const value = t(this.#textSource);
      if (value === '') continue;
      if (UNSAFE_VALUE.test(value) || !plan.namesValid) return { invalid: k };
      out.push(k, value);
    }
    if (conf.passRequestHeaders) {
      const raw = this.req.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const k = (raw[i] as string).toLowerCase();
        if (DROP_REQUEST.has(k) || plan.names.has(k)) continue;
        out.push(raw[i] as string, raw[i + 1] as string);
      }
    }
    return out;
  }

  /** Reads a small request body whole (so a retry can resend it); a large or chunked one is streamed. */
  async #readBody(): Promise<void> {
    if (this.#bodyRead) return;
    this.#bodyRead = true;
    const cl = rawHeader(this.req, 'content-length');
    const chunked = rawHeader(this.req, 'transfer-encoding') !== undefined;
    const length = cl === undefined ? 0 : Number(cl);
    if (!chunked && !(length > 0)) return;
    if (chunked || length > REPLAYABLE_BODY) {
      const limit = this.conf.clientMaxBodySize;
      // A chunked body has no length to check up front: counted as it streams (413 past the limit).
      this.#body =
        chunked && limit > 0 ? Readable.from(limited(this.req, limit), { objectMode: false }) : this.req;
      return;
    }
    this.#body = await readWhole(this.req, this.conf.clientBodyTimeout);
  }

  async #proxy(conf: LevelConf, pass: ProxyPass): Promise<void> {
    const group = this.rt.groupFor(pass);
    try {
      await this.#readBody();
    } catch (e) {
      if (this.clientGone) return;
      if ((e as { code?: string }).code !== 'LT_BODY_TIMEOUT') throw e;
      // client_body_timeout: nginx answers 408 and closes.
      return this.#error(408);
    }
    if (this.clientGone) return;
    if (this.#body !== undefined && !Buffer.isBuffer(this.#body) && this.#bodyUsed) {
      // Streamed to an earlier location's upstream already: it cannot be sent again.
      this.rt.onError(
        `the request body of "${this.method} ${fromLatin1(this.uri)}" was already sent upstream and cannot be sent again`,
      );
      return this.#plain(this.forcedStatus ?? 502);
    }
    const uri = this.#upstreamUri(pass);
    const built = this.#upstreamHeaders(conf);
    const bad = Array.isArray(built) ? undefined : built.invalid;
    const headers = Array.isArray(built) ? built : [];
    if (bad !== undefined) {
      // nginx would write the bytes as they are (header injection): refused before any server is tried.
      this.rt.onError(
        `upstream request header "${bad}" of "${this.method} ${fromLatin1(this.uri)}" has a character not allowed in a header (CR, LF or NUL)`,
      );
      return this.#error(500);
    }
    const contacts: Contact[] = [];
    this.groups.push(contacts);
    const tried = new Set<Peer>();
    const maxTries = conf.tries || Number.POSITIVE_INFINITY;
    const deadline = conf.nextTimeout ? performance.now() + conf.nextTimeout : Number.POSITIVE_INFINITY;
    const next = conf.nextUpstream;
    for (;;) {
      const peer = group.pick(tried, Date.now());
      if (!peer) {
        const c = new Contact(group.name, this.method, pass.scheme, uri);
        c.status = 502;
        c.end = c.start;
        c.failure = 'nolive';
        contacts.push(c);
        this.rt.onError(`no live upstreams while connecting to upstream "${group.name}"`);
        this.#logContact(conf);
        return this.#error(502);
      }
      tried.add(peer);
      const c = new Contact(peer.addr, this.method, pass.scheme, uri);
      contacts.push(c);
      const conn = group.acquire(peer, conf.connectTimeout);
      const r = await this.#attempt(conn, c, conf, uri, headers, group, peer);
      if (r.kind === 'failure') {
        c.status = r.failure === 'timeout' ? 504 : 502;
        c.end ??= performance.now();
        if (this.clientGone) {
          c.status = 0;
          c.failure = 'client';
          this.#logContact(conf);
          return;
        }
        if (r.failure === 'too-large' || r.failure === 'request') {
          // The client's request, not the server: no failure counted, no retry.
          c.status = 0;
          this.#logContact(conf);
          return this.#error(r.failure === 'too-large' ? 413 : 500);
        }
        c.failure =
          r.failure === 'timeout'
            ? 'timeout'
            : c.tcp === undefined
              ? 'connect'
              : r.failure === 'invalid'
                ? 'invalid'
                : 'reset';
        group.release(peer, true, Date.now());
        // nginx's error log line for the failed contact.
        const err = r.error as { code?: string; message?: string } | undefined;
        this.rt.onError(
          `upstream ${c.failure === 'connect' ? 'connect failed' : c.failure === 'timeout' ? 'timed out' : 'failed'} (${err?.code ?? err?.message ?? 'error'}) while ${c.header === undefined ? (c.sendStart === undefined ? 'connecting to upstream' : 'reading response header from upstream') : 'reading upstream'}, client: ${this.state.conn.remoteAddress ?? '-'}, request: "${this.method} ${fromLatin1(this.state.target.path)}", upstream: "${pass.scheme}://${peer.addr}${uri}"`,
        );
        const wanted =
          r.failure === 'timeout' ? next.timeout : r.failure === 'invalid' ? next.invalidHeader : next.error;
        if (wanted && this.#retryable(group, tried, maxTries, deadline, c)) {
          this.#logContact(conf);
          continue;
        }
        if (wanted && (tried.size >= maxTries || performance.now() >= deadline)) c.retriesExhausted = true;
        this.#logContact(conf);
        return this.#error(c.status);
      }
      c.status = r.status;
      const nextOnStatus = next.statuses.has(r.status);
      // nginx counts a status as the server's failure only when it moves on to the next server.
      if (nextOnStatus && this.#retryable(group, tried, maxTries, deadline, c)) {
        r.discard();
        c.end = performance.now();
        group.release(peer, r.status !== 403 && r.status !== 404, Date.now());
        this.#logContact(conf);
        continue;
      }
      group.release(peer, false, Date.now());
      const accel = conf.ignoreXAccel ? undefined : headerOf(r.headers, 'x-accel-redirect');
      if (accel !== undefined && (accel.startsWith('/') || accel.startsWith('@'))) {
        r.discard();
        c.end = performance.now();
        this.#logContact(conf);
        this.#toGet();
        this.#carried = carriedHeaders(r.headers);
        if (accel.startsWith('@')) {
          const named = this.server.named.get(accel);
          if (!named) return this.#error(404);
          this.internal = true;
          return this.#process(named);
        }
        this.#redirect(accel);
        return this.#process();
      }
      if (
        conf.interceptErrors &&
        r.status >= 300 &&
        !this.errorPaged &&
        conf.errorPages.some((p) => p.codes.includes(r.status))
      ) {
        r.discard();
        c.end = performance.now();
        this.#logContact(conf);
        return this.#error(r.status);
      }
      return this.#relay(r, c, conf);
    }
  }

  #retryable(
    group: UpstreamGroup,
    tried: Set<Peer>,
    maxTries: number,
    deadline: number,
    c: Contact,
  ): boolean {
    if (this.clientGone) return false;
    if (tried.size >= maxTries) return false;
    if (performance.now() >= deadline) return false;
    if (this.#body !== undefined && !Buffer.isBuffer(this.#body) && this.#bodyUsed) return false;
    if (NON_IDEMPOTENT.has(this.method) && !this.conf.nextUpstream.nonIdempotent && c.sendStart !== undefined)
      return false;
    return group.hasCandidate(tried, Date.now());
  }

  /** One contact: resolves when the response header arrived or the contact failed. */
  #attempt(
    conn: Connection,
    c: Contact,
    conf: LevelConf,
    path: string,
    headers: string[],
    group: UpstreamGroup,
    peer: Peer,
  ): Promise<AttemptResult> {
    return new Promise<AttemptResult>((resolve) => {
      let controller: Dispatcher.DispatchController | undefined;
      let baseWritten = 0;
      let baseRead = 0;
      let socket: import('node:net').Socket | undefined;
      let settled = false;
      let onData: ((chunk: Buffer) => boolean) | undefined;
      let onResume: ((f: () => void) => void) | undefined;
      let bodyDone: ((ok: boolean) => void) | undefined;
      const queued: Buffer[] = [];
      let ended: boolean | undefined;
      let sendTimer: NodeJS.Timeout | undefined;
      let lastSent = 0;
      // proxy_read_timeout: between two reads (from the request sent to the header, then between chunks).
      let readTimer: NodeJS.Timeout | undefined;
      let lastRead = 0;
      const readTimeout = conf.readTimeout;
      const armRead = () => {
        if (readTimeout <= 0 || readTimer) return;
        lastRead = performance.now();
        const check = () => {
          // A response paused for a slow client is not the upstream's delay.
          if (controller?.paused) lastRead = performance.now();
          const idle = performance.now() - lastRead;
          if (idle >= readTimeout) {
            readTimer = undefined;
            controller?.abort(
              Object.assign(new Error('upstream timed out while reading'), {
                code: 'UND_ERR_HEADERS_TIMEOUT',
              }),
            );
          } else readTimer = setTimeout(check, readTimeout - idle);
        };
        readTimer = setTimeout(check, readTimeout);
      };
      const stopTimers = () => {
        detach?.();
        detach = undefined;
        if (sendTimer) clearTimeout(sendTimer);
        if (readTimer) clearTimeout(readTimer);
        sendTimer = undefined;
        readTimer = undefined;
      };
      const measure = () => {
        if (socket) {
          c.bytesSent = Math.max(0, socket.bytesWritten - baseWritten);
          c.bytesReceived = Math.max(0, socket.bytesRead - baseRead);
        }
      };
      const finishBody = (ok: boolean) => {
        if (ended !== undefined) return;
        ended = ok;
        c.end = performance.now();
        measure();
        if (bodyDone) bodyDone(ok);
      };
      // What a client that goes away must reach: the contact's controller, or its pending promise.
      this.#pending = resolve;
      let detach: (() => void) | undefined;
      // The connection goes back to the group once per contact: kept when the response ended,
      // closed otherwise (an aborted or failed contact leaves it in an unknown state).
      let returned = false;
      const giveBack = (reusable: boolean) => {
        if (returned) return;
        returned = true;
        group.putBack(peer, conn, reusable);
      };
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (ctl) => {
          controller = ctl;
          this.#pending = undefined;
          if (this.clientGone) {
            ctl.abort(clientGoneError());
            return;
          }
          // The client going away aborts this contact. The controller is reached from the
          // response's listener only, never stored on the exchange: an exchange V8 pretenured
          // (old space) pointing at undici's controller kept every request's objects alive through
          // young-generation collections (28% survival, 10–14 ms pauses, 330 MB RSS under load).
          const onGone = () => ctl.abort(clientGoneError());
          this.res.once('close', onGone);
          detach = () => this.res.off('close', onGone);
          c.sendStart = performance.now();
          if (this.#body !== undefined && !Buffer.isBuffer(this.#body)) this.#bodyUsed = true;
          const s = conn.socket;
          if (s !== undefined && s === conn.used) c.reused = true;
          else if (conn.times) {
            c.tcp = conn.times.tcp;
            if (conn.times.tls !== undefined) {
              c.sslStart = conn.times.tcp;
              c.sslEnd = conn.times.tls;
            }
          }
          conn.used = s;
          socket = s;
          baseWritten = s?.bytesWritten ?? 0;
          baseRead = s?.bytesRead ?? 0;
          if (conf.sendTimeout > 0 && this.#body !== undefined && !Buffer.isBuffer(this.#body)) {
            // proxy_send_timeout: between two writes of the streamed body, not for the whole upload.
            lastSent = performance.now();
            const check = () => {
              const idle = performance.now() - lastSent;
              if (idle >= conf.sendTimeout) {
                sendTimer = undefined;
                ctl.abort(
                  Object.assign(new Error('upstream timed out while sending request'), {
                    code: 'LT_SEND_TIMEOUT',
                  }),
                );
              } else sendTimer = setTimeout(check, conf.sendTimeout - idle);
            };
            sendTimer = setTimeout(check, conf.sendTimeout);
          }
        },
        onBodySent: () => {
          lastSent = performance.now();
        },
        onRequestSent: () => {
          c.sendEnd = performance.now();
          if (sendTimer) clearTimeout(sendTimer);
          armRead();
        },
        onResponseStart: (ctl, statusCode, _headers, statusText) => {
          controller = ctl;
          c.header = performance.now();
          c.sendEnd ??= c.header;
          if (sendTimer) clearTimeout(sendTimer);
          lastRead = c.header;
          armRead();
          if (statusCode < 200) return;
          settled = true;
          ctl.pause();
          resolve({
            kind: 'response',
            status: statusCode,
            statusText: statusText ?? '',
            headers: ((ctl as unknown as { rawHeaders?: Buffer[] }).rawHeaders ?? []) as Buffer[],
            relay: (data, resume) => {
              onData = data;
              onResume = resume;
              return new Promise<boolean>((done) => {
                bodyDone = done;
                for (const q of queued.splice(0)) {
                  if (!data(q)) {
                    ctl.pause();
                    resume(() => ctl.resume());
                  }
                }
                if (ended !== undefined) done(ended);
                else ctl.resume();
              });
            },
            discard: () => {
              if (ended === undefined)
                ctl.abort(Object.assign(new Error('discarded'), { code: 'LT_DISCARD' }));
            },
          });
        },
        onResponseData: (ctl, chunk) => {
          c.responseLength += chunk.length;
          lastRead = performance.now();
          if (!onData) {
            queued.push(chunk);
            ctl.pause();
            return;
          }
          if (!onData(chunk)) {
            ctl.pause();
            onResume?.(() => ctl.resume());
          }
        },
        onResponseEnd: () => {
          stopTimers();
          finishBody(true);
          giveBack(true);
        },
        onResponseError: (_ctl, err) => {
          stopTimers();
          giveBack(false);
          if (!settled) {
            settled = true;
            c.end = performance.now();
            measure();
            resolve({ kind: 'failure', failure: classify(err), error: err });
            return;
          }
          finishBody(false);
        },
      };
      const body = this.#body;
      // A buffered body gets its content-length from undici; a streamed one keeps the client's (or goes chunked).
      const streamedLength =
        body === undefined || Buffer.isBuffer(body) ? undefined : rawHeader(this.req, 'content-length');
      const opts: Dispatcher.DispatchOptions = {
        path,
        method: this.method,
        headers: streamedLength === undefined ? headers : [...headers, 'content-length', streamedLength],
        ...(body !== undefined ? { body } : {}),
        reset: group.keepalive === 0,
        headersTimeout: 0,
        bodyTimeout: 0,
      };
      try {
        conn.client.dispatch(opts, handler);
      } catch (e) {
        giveBack(false);
        settled = true;
        resolve({ kind: 'failure', failure: classify(e), error: e });
      }
    });
  }

  async #relay(r: UpstreamResponse, c: Contact, conf: LevelConf): Promise<void> {
    const res = this.res;
    if (this.clientGone) {
      r.discard();
      c.end ??= performance.now();
      this.#logContact(conf);
      return;
    }
    const flat: string[] = [];
    const h = r.headers;
    for (let i = 0; i < h.length; i += 2) {
      const k = String(h[i]);
      if (DROP_RESPONSE.has(k.toLowerCase())) continue;
      flat.push(k, latin1(h[i + 1] as Buffer | string));
    }
    if (this.#carried) {
      const present = new Set<string>();
      for (let i = 0; i < flat.length; i += 2) present.add((flat[i] as string).toLowerCase());
      for (const [k, v] of this.#carried) if (k === 'set-cookie' || !present.has(k)) flat.push(k, v);
    }
    flat.push('Server', 'logtally');
    const status = this.forcedStatus ?? r.status;
    try {
      if (this.rt.stopping) res.shouldKeepAlive = false;
      res.writeHead(status, flat);
    } catch (e) {
      r.discard();
      this.rt.onError(`upstream sent an invalid header: ${(e as Error).message}`);
      c.end ??= performance.now();
      this.#logContact(conf);
      if (!res.headersSent) this.#plain(502);
      else this.#close();
      return;
    }
    // send_timeout: a client that stops reading is dropped after this long without progress.
    const sendTimeout = conf.clientSendTimeout;
    const ok = await r.relay(
      (chunk) => res.write(chunk),
      (resume) => {
        const timer =
          sendTimeout > 0
            ? setTimeout(() => {
                res.off('close', onClose);
                this.rt.onError(
                  `client timed out reading the response to "${this.method} ${fromLatin1(this.uri)}"`,
                );
                this.#close();
              }, sendTimeout).unref()
            : undefined;
        // Cleared when the client reads again or goes away (a client gone did not time out).
        const onClose = () => clearTimeout(timer);
        res.once('close', onClose);
        res.once('drain', () => {
          clearTimeout(timer);
          res.off('close', onClose);
          resume();
        });
      },
    );
    if (!ok) c.failure = this.clientGone ? 'client' : 'closed';
    this.#logContact(conf);
    if (ok && !this.clientGone) res.end();
    else if (!this.clientGone) this.#close();
  }

  #logContact(conf: LevelConf): void {
    try {
      this.rt.logsOf(conf).upstream.write(this.#source);
      const hook = this.rt.hooks.onContact;
      if (hook) {
        const last = this.groups.at(-1)?.at(-1);
        const r = this.record();
        if (last) {
          r.status = last.status;
          const flags = contactFlags(last);
          if (flags) r.responseFlags = flags;
          else delete r.responseFlags;
          const end = wallSeconds(last.end);
          if (end !== undefined) r.time = end;
        }
        hook(r);
      }
    } catch (e) {
      this.rt.onError(`upstream log: ${(e as Error).message}`);
    }
  }

  /** The canonical request record of this request as it stands (contacts so far). */
  record(): RequestRecord {
    const s = this.state;
    const r: RequestRecord = {
      time: (this.#ended ? s.endTime : Date.now()) / 1000,
      startTime: s.startTime / 1000,
      method: this.req.method ?? '',
      uri: fromLatin1(s.target.path),
      protocol: `HTTP/${this.req.httpVersion}`,
      status: this.variable('status') as number,
      requestBytes: s.requestLength,
      responseBytes: s.bytesSent,
      bodyBytes: s.bodyBytesSent,
      duration: this.variable('request_time') as number,
      upstreams: contactRecords(this.groups),
    };
    if (s.conn.remoteAddress !== undefined) r.clientAddr = s.conn.remoteAddress;
    if (s.conn.remotePort !== undefined) r.clientPort = s.conn.remotePort;
    const host = this.variable('host');
    if (typeof host === 'string') r.host = host;
    const ua = rawHeader(this.req, 'user-agent');
    if (ua !== undefined) r.userAgent = fromLatin1(ua);
    const ref = rawHeader(this.req, 'referer');
    if (ref !== undefined) r.referer = fromLatin1(ref);
    const flags = new Set<string>();
    for (const g of this.groups) {
      const f = g.length ? contactFlags(g[g.length - 1] as Contact) : undefined;
      if (f) for (const x of f.split(',')) flags.add(x);
    }
    if (this.clientGone) flags.add('DC');
    if (this.#noRoute) flags.add('NR');
    if (flags.size) r.responseFlags = [...flags].join(',');
    return r;
  }

  /** Ends the connection from the gateway's side (logged with the status set, not as 499). */
  #close(): void {
    this.#selfClosed = true;
    this.res.destroy();
  }

  #finish(aborted: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    queueMicrotask(this.#resolveFinished);
    try {
      this.state.finish(aborted);
      this.rt
        .logsOf(this.conf ?? this.server?.conf ?? this.rt.config.servers[0]?.conf)
        .access.write(this.#source);
      this.rt.hooks.onRequest?.(this.record());
    } catch (e) {
      this.rt.onError(`access log: ${(e as Error).message}`);
    }
  }
}

function clientGoneError(): Error {
  return Object.assign(new Error('client closed the connection'), { code: 'LT_CLIENT_GONE' });
}

/** Response headers nginx copies from an X-Accel-Redirect response to the redirected one (`redirect` in ngx_http_upstream_headers_in). */
const CARRIED = new Set([
  'content-type',
  'set-cookie',
  'content-disposition',
  'cache-control',
  'expires',
  'accept-ranges',
]);

function carriedHeaders(h: readonly (Buffer | string)[]): [string, string][] | undefined {
  const out: [string, string][] = [];
  for (let i = 0; i < h.length; i += 2) {
    const k = String(h[i]).toLowerCase();
    if (CARRIED.has(k)) out.push([k, latin1(h[i + 1] as Buffer | string)]);
  }
  return out.length ? out : undefined;
}

const UNSAFE_VALUE = /[\r\n\0]/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

interface HeaderPlan {
  /** Headers set by proxy_set_header (Host first), lower-case name → value template. */
  readonly set: readonly (readonly [string, Template])[];
  /** Every name proxy_set_header sets (the client's headers of these names are not passed). */
  readonly names: ReadonlySet<string>;
  readonly namesValid: boolean;
}

const headerPlans = new WeakMap<LevelConf, HeaderPlan>();

/** What proxy_set_header makes of a level, computed once per level. */
function headerPlan(conf: LevelConf): HeaderPlan {
  let plan = headerPlans.get(conf);
  if (!plan) {
    const byName = new Map<string, string>([['host', '$proxy_host']]);
    for (const [k, v] of conf.setHeaders) byName.set(k.toLowerCase(), v);
    const set: [string, Template][] = [];
    for (const [k, v] of byName) if (k === 'host' || !DROP_REQUEST.has(k)) set.push([k, template(v)]);
    plan = { set, names: new Set(byName.keys()), namesValid: [...byName.keys()].every((k) => TOKEN.test(k)) };
    headerPlans.set(conf, plan);
  }
  return plan;
}

function latin1(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}

function headerOf(h: readonly (Buffer | string)[], lower: string): string | undefined {
  for (let i = 0; i < h.length; i += 2) {
    if (String(h[i]).toLowerCase() === lower) return latin1(h[i + 1] as Buffer | string);
  }
  return undefined;
}

function proxyPort(p: ProxyPass): number {
  const m = /:(\d+)$/.exec(p.host);
  return m ? Number(m[1]) : p.scheme === 'https' ? 443 : 80;
}

/** `$proxy_host`: the proxy_pass host, with its port unless it is the scheme's default. */
function proxyHost(p: ProxyPass): string {
  const port = proxyPort(p);
  const bare = p.host.replace(/:\d+$/, '');
  return port === (p.scheme === 'https' ? 443 : 80) ? bare : `${bare}:${port}`;
}
