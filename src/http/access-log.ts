/**
 * `accessLog(options)`: access logging for `node:http` servers, in any dialect, with nginx
 * `access_log` semantics (see src/writer). One record per finished request — or per request
 * whose client went away first (status 499 as nginx logs it; Envoy: `RESPONSE_CODE` 0 and
 * `RESPONSE_FLAGS` `DC`). Variables are computed only when a format asks for them.
 * @module
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { compileNginx, compileNginxPreset } from '../format/nginx/compile.ts';
import { NGINX_PRESETS } from '../format/nginx/presets.ts';
import type { CompiledFormat, Dialect, RenderSource, RenderValue } from '../format/types.ts';
import { createLogs, groupOf, type LogGroup, type LogSpec } from '../writer/group.ts';
import type { Log } from '../writer/log.ts';
import type { LogOptions } from '../writer/options.ts';
import { envoyGetter } from './envoy-vars.ts';
import type { Getter, VariableContext } from './getter.ts';
import { getLogvar } from './logvars.ts';
import { nginxGetter } from './nginx-vars.ts';
import { RequestState } from './state.ts';
import { uwsgiGetter } from './uwsgi-vars.ts';

/** What a custom variable receives: the request, the response and the measurements. */
export type RequestContext = RequestState;

export interface AccessLogOptions extends Omit<LogOptions, 'format'> {
  /**
   * Where to write: a file path (may contain `$variables`), `syslog:…`, or `off`. Default
   * `/dev/stdout`. Ignored when `logs` is given.
   */
  readonly path?: string;
  /** A compiled format of any dialect, an nginx format string, or a preset name; default `combined`. */
  readonly format?: CompiledFormat | string;
  /** Several logs (nginx: several `access_log` at one level), or logs built elsewhere. */
  readonly logs?: LogGroup | Log | readonly LogSpec[];
  /** `$server_name`, and `$host` when a request names no host; default "" (nginx's default). */
  readonly serverName?: string;
  /** Extra or overriding variables by name (the dialect's spelling), e.g. a `map` result for `if=`. */
  readonly variables?: Readonly<Record<string, (ctx: RequestContext) => RenderValue>>;
  /** uWSGI `%(metric.NAME)`. */
  readonly metric?: (name: string) => RenderValue;
  /** Requests for which this returns true are not logged. */
  readonly skip?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** The middleware: `(req, res, next?)`, plus its logs. */
export interface AccessLogHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  readonly logs: LogGroup;
  /** A request listener that logs, then calls `handler`: `http.createServer(log.wrap(app))`. */
  wrap(handler: RequestListener): RequestListener;
  flush(): void;
  reopen(): void;
  close(): void;
}

function formatOf(f: CompiledFormat | string | undefined): CompiledFormat {
  if (f === undefined) return compileNginxPreset('combined');
  if (typeof f !== 'string') return f;
  return Object.hasOwn(NGINX_PRESETS, f) ? compileNginxPreset(f) : compileNginx(f);
}

function groupFrom(o: AccessLogOptions): LogGroup {
  const l = o.logs;
  if (l === undefined) {
    const { path, format, logs: _l, serverName: _s, variables: _v, metric: _m, skip: _k, ...rest } = o;
    return createLogs([{ ...rest, target: path ?? '/dev/stdout', format: formatOf(format) }]);
  }
  if (Array.isArray(l)) return createLogs(l as readonly LogSpec[]);
  if ('logs' in (l as LogGroup)) return l as LogGroup;
  return groupOf([l as Log]);
}

type Resolver = (name: string) => Getter;

function resolverFor(dialect: Dialect, o: AccessLogOptions): Resolver {
  const table = new Map<string, Getter>();
  const custom = o.variables ?? {};
  return (name) => {
    let g = table.get(name);
    if (g !== undefined) return g;
    const own = Object.hasOwn(custom, name) ? custom[name] : undefined;
    if (own) g = (s) => own(s);
    else {
      g =
        dialect === 'nginx'
          ? nginxGetter(name)
          : dialect === 'uwsgi'
            ? uwsgiGetter(name, o.metric)
            : envoyGetter(name);
      // Names no table knows are user-defined logvars (setLogvar).
      g ??= (s) => getLogvar(s.req, name);
    }
    table.set(name, g);
    return g;
  };
}

/**
 * Creates the access-log middleware.
 * @example
 * const log = accessLog({ path: '/var/log/app/access.log', format: 'combined', buffer: '64k', flush: '5s' });
 * http.createServer(log.wrap((req, res) => res.end('ok'))).listen(8080);
 * // Express / Connect: app.use(log)
 */
export function accessLog(options: AccessLogOptions = {}): AccessLogHandler {
  const group = groupFrom(options);
  const ctx: VariableContext = { serverName: options.serverName ?? '' };
  const logs = group.logs.map((log) => ({ log, resolve: resolverFor(log.format.dialect, options) }));
  const skip = options.skip;
  const tracked = new WeakSet<IncomingMessage>();

  const write = (s: RequestState) => {
    if (skip?.(s.req, s.res)) return;
    for (const { log, resolve } of logs) {
      const src: RenderSource = (name) => resolve(name)(s, ctx);
      log.write(src);
    }
  };

  const handler = ((req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => {
    if (!tracked.has(req)) {
      tracked.add(req);
      try {
        const s = new RequestState(req, res);
        let done = false;
        const finish = (aborted: boolean) => {
          if (done) return;
          done = true;
          try {
            s.finish(aborted);
            write(s);
          } catch {
            // logging never breaks the response
          }
        };
        // Before Node's own 'finish' listener, which may hand the socket to the next pipelined response.
        res.prependListener('finish', () => finish(false));
        res.once('close', () => finish(!res.writableFinished));
      } catch {
        // never into the request path
      }
    }
    next?.();
  }) as AccessLogHandler;

  Object.defineProperties(handler, {
    logs: { value: group },
    wrap: {
      value:
        (h: RequestListener): RequestListener =>
        (req, res) => {
          handler(req, res);
          h(req, res);
        },
    },
    flush: { value: () => group.flush() },
    reopen: { value: () => group.reopen() },
    close: { value: () => group.close() },
  });
  return handler;
}
