/**
 * A loaded configuration made ready to serve: upstream groups with their peers, the logs of
 * every level (one writer per `access_log`/`upstream_log` directive, shared by the levels that
 * inherit it), `map` variables, and server selection by address and Host.
 * @module
 */
import { compileNginx } from '../format/nginx/compile.ts';
import type { NginxLog, NginxMap, NginxOpenLogFileCache } from '../format/nginx-conf/model.ts';
import type { RequestRecord } from '../format/record/record.ts';
import type { CompiledFormat, RenderSource } from '../format/types.ts';
import { groupOf, type LogGroup } from '../writer/group.ts';
import { createLog, type Log } from '../writer/log.ts';
import type { OpenFileCacheOptions } from '../writer/options.ts';
import { compileTemplate, type Template } from '../writer/template.ts';
import type { GatewayConfig, LevelConf, Listen, Location, ProxyPass, ServerConf } from './config.ts';
import { groupFromAddress, groupFromConf, type UpstreamGroup } from './upstream.ts';

/** Callbacks with the canonical request record (any dialect renders it: `renderRecord`). */
export interface GatewayHooks {
  /** When an upstream contact ends (as its upstream_log line is written): `upstreams` ends with that contact, `status` and `responseFlags` are the contact's. */
  readonly onContact?: (record: RequestRecord) => void;
  /** When a request ends (as its access_log line is written). */
  readonly onRequest?: (record: RequestRecord) => void;
}

export interface LevelLogs {
  readonly access: LogGroup;
  readonly upstream: LogGroup;
}

interface CompiledMap {
  readonly source: Template;
  readonly exact: ReadonlyMap<string, Template>;
  readonly regex: readonly (readonly [RegExp, Template])[];
  readonly fallback: Template | undefined;
}

function cacheOf(c: NginxOpenLogFileCache | undefined): OpenFileCacheOptions | 'off' {
  if (!c || c.off || c.max === undefined) return 'off';
  return { max: c.max, inactive: c.inactive, minUses: c.minUses, valid: c.valid };
}

export class Runtime {
  readonly config: GatewayConfig;
  readonly groups = new Map<string, UpstreamGroup>();
  readonly #maps = new Map<string, CompiledMap>();
  readonly #logs = new Map<NginxLog, Log>();
  readonly #levelLogs = new WeakMap<LevelConf, LevelLogs>();
  readonly #formats = new Map<string, CompiledFormat>();
  /** The servers of each listening address, and its default one. */
  readonly #byListen = new Map<
    string,
    {
      candidates: ServerConf[];
      fallback: ServerConf;
      regexNames: readonly (readonly [RegExp, ServerConf])[];
    }
  >();
  readonly onError: (message: string) => void;
  readonly hooks: GatewayHooks;
  /** Set when the gateway stops: responses not yet started end their keep-alive. */
  stopping = false;

  private constructor(config: GatewayConfig, onError: (message: string) => void, hooks: GatewayHooks) {
    this.config = config;
    this.onError = onError;
    this.hooks = hooks;
    for (const m of config.maps) this.#maps.set(m.variable.toLowerCase(), compileMap(m));
  }

  /** Builds the runtime: resolves every upstream server name and creates every log. */
  static async create(
    config: GatewayConfig,
    onError: (message: string) => void,
    hooks: GatewayHooks = {},
  ): Promise<Runtime> {
    const rt = new Runtime(config, onError, hooks);
    const passes: ProxyPass[] = [];
    const collect = (c: LevelConf) => {
      if (c.proxyPass) passes.push(c.proxyPass);
    };
    const walk = (l: Location) => {
      collect(l.conf);
      for (const i of l.ifs) collect(i.conf);
      if (l.limitExcept) collect(l.limitExcept.conf);
      for (const n of l.nested) walk(n);
    };
    for (const s of config.servers) {
      collect(s.conf);
      for (const i of s.ifs) collect(i.conf);
      for (const l of s.locations) walk(l);
    }
    for (const p of passes) {
      const key = `${p.scheme}://${p.host}`;
      if (rt.groups.has(key)) continue;
      const conf = config.upstreams.get(p.host);
      try {
        rt.groups.set(
          key,
          conf
            ? await groupFromConf(conf, p.scheme === 'https')
            : await groupFromAddress(p.host, p.scheme === 'https'),
        );
      } catch (e) {
        throw new Error(`${(e as Error).message} in ${p.file}:${p.line}`);
      }
    }
    // Create every log now, so a log that cannot be opened is reported at start.
    const levels = (c: LevelConf) => rt.logsOf(c);
    for (const s of config.servers) {
      levels(s.conf);
      const walkLogs = (l: Location) => {
        levels(l.conf);
        for (const i of l.ifs) levels(i.conf);
        if (l.limitExcept) levels(l.limitExcept.conf);
        for (const n of l.nested) walkLogs(n);
      };
      for (const l of s.locations) walkLogs(l);
    }
    return rt;
  }

  groupFor(p: ProxyPass): UpstreamGroup {
    return this.groups.get(`${p.scheme}://${p.host}`) as UpstreamGroup;
  }

  #format(l: NginxLog & { off: false }): CompiledFormat {
    const key = `${l.format.escape}\0${l.format.format}`;
    let f = this.#formats.get(key);
    if (!f) {
      f = compileNginx(l.format.format, { escape: l.format.escape });
      this.#formats.set(key, f);
    }
    return f;
  }

  #log(l: NginxLog & { off: false }, cache: NginxOpenLogFileCache | undefined): Log {
    let log = this.#logs.get(l);
    if (!log) {
      log = createLog(l.path, {
        format: this.#format(l),
        ...(l.buffer !== undefined ? { buffer: l.buffer } : {}),
        ...(l.gzip !== undefined ? { gzip: l.gzip } : {}),
        ...(l.flush !== undefined ? { flush: l.flush } : {}),
        ...(l.if !== undefined ? { if: l.if } : {}),
        ...(l.ifNot !== undefined ? { ifNot: l.ifNot } : {}),
        ...(l.hasVariables ? { openFileCache: cacheOf(cache) } : {}),
        onError: (d) => this.onError(`${l.directive} "${l.rawPath}" (${l.file}:${l.line}): ${d.message}`),
      });
      this.#logs.set(l, log);
    }
    return log;
  }

  /** The access and upstream logs of a level (`off` among a level's logs cancels them all). */
  logsOf(c: LevelConf): LevelLogs {
    let ll = this.#levelLogs.get(c);
    if (!ll) {
      const build = (list: readonly NginxLog[], cache: NginxOpenLogFileCache | undefined): LogGroup => {
        if (list.some((l) => l.off)) return groupOf([]);
        return groupOf(list.map((l) => this.#log(l as NginxLog & { off: false }, cache)));
      };
      ll = {
        access: build(c.accessLogs, c.openLogFileCache),
        upstream: build(c.upstreamLogs, c.upstreamOpenLogFileCache),
      };
      this.#levelLogs.set(c, ll);
    }
    return ll;
  }

  /** Every log writer of this configuration. */
  get logs(): readonly Log[] {
    return [...this.#logs.values()];
  }

  /** True when a `map` defines the variable (lower-case name). */
  isMap(name: string): boolean {
    return this.#maps.has(name);
  }

  /** The value of a `map` variable, or `null` when `name` is not one. */
  mapValue(name: string, text: (name: string) => string): string | null {
    const m = this.#maps.get(name);
    if (!m) return null;
    const src: RenderSource = (n) => text(n.toLowerCase());
    const key = m.source(src);
    const exact = m.exact.get(key.toLowerCase());
    if (exact) return exact(src);
    for (const [re, value] of m.regex) if (re.test(key)) return value(src);
    return m.fallback ? m.fallback(src) : '';
  }

  /** nginx's server selection: the listen socket's servers, by exact, wildcard, then regex name; else the default. */
  selectServer(local: Listen, host: string | undefined): ServerConf {
    const key = `${local.host}:${local.port}`;
    let at = this.#byListen.get(key);
    if (!at) {
      const candidates = this.config.servers.filter((s) =>
        s.listens.some(
          (l) => l.port === local.port && (l.host === local.host || l.host === '0.0.0.0' || l.host === '::'),
        ),
      );
      const fallback =
        candidates.find((s) => s.listens.some((l) => l.port === local.port && l.defaultServer)) ??
        candidates[0] ??
        (this.config.servers[0] as ServerConf);
      // Regular-expression names compiled once here, not for every request.
      const regexNames = candidates.flatMap((srv) =>
        srv.names.filter((n) => n.startsWith('~')).map((n) => [new RegExp(n.slice(1), 'i'), srv] as const),
      );
      at = { candidates, fallback, regexNames };
      this.#byListen.set(key, at);
    }
    const { candidates, fallback, regexNames } = at;
    if (host === undefined || candidates.length <= 1) return fallback;
    const h = host.toLowerCase().replace(/\.$/, '');
    for (const s of candidates) if (s.names.includes(h)) return s;
    let best: ServerConf | undefined;
    let bestLen = -1;
    for (const s of candidates) {
      for (const n of s.names) {
        if (n.startsWith('*.') || n.startsWith('.')) {
          const suffix = n.startsWith('*') ? n.slice(1) : n;
          if ((h.endsWith(suffix) || (n.startsWith('.') && h === n.slice(1))) && suffix.length > bestLen) {
            best = s;
            bestLen = suffix.length;
          }
        }
      }
    }
    if (best) return best;
    for (const s of candidates) {
      for (const n of s.names) {
        if (n.endsWith('.*') && h.startsWith(n.slice(0, -1))) return s;
      }
    }
    for (const [re, srv] of regexNames) if (re.test(h)) return srv;
    return fallback;
  }

  /** Flushes and closes every log and idle upstream connection. */
  close(): void {
    for (const l of this.#logs.values()) l.close();
    for (const g of this.groups.values()) g.close();
  }
}

function compileMap(m: NginxMap): CompiledMap {
  const exact = new Map<string, Template>();
  const regex: [RegExp, Template][] = [];
  for (const e of m.entries) {
    const value = compileTemplate(e.value);
    if (e.regex) regex.push([new RegExp(e.match, e.caseInsensitive ? 'i' : ''), value]);
    else if (!exact.has(e.match.toLowerCase())) exact.set(e.match.toLowerCase(), value);
  }
  return {
    source: compileTemplate(m.source),
    exact,
    regex,
    fallback: m.default !== undefined ? compileTemplate(m.default) : undefined,
  };
}

/** nginx's location search (`ngx_http_core_find_location`): exact, longest prefix, `^~`, then regexes in order, nested first. */
export function findLocation(locations: readonly Location[], uri: string): Location | undefined {
  let best: Location | undefined;
  for (const l of locations) {
    if (l.kind === 'exact') {
      if (l.pattern === uri) return l;
      continue;
    }
    if ((l.kind === 'prefix' || l.kind === 'noregex') && uri.startsWith(l.pattern)) {
      if (!best || l.pattern.length > best.pattern.length) best = l;
    }
  }
  if (best) {
    const nested = findLocation(best.nested, uri);
    if (nested && (nested.kind === 'exact' || nested.kind === 'regex' || nested.kind === 'noregex'))
      return nested;
    if (best.kind === 'noregex') return nested ?? best;
    const r = findRegex(locations, uri);
    if (r) return r;
    return nested ?? best;
  }
  return findRegex(locations, uri);
}

function findRegex(locations: readonly Location[], uri: string): Location | undefined {
  for (const l of locations) {
    if (l.kind === 'regex' && l.regex?.test(uri)) {
      const nested = findLocation(l.nested, uri);
      return nested ?? l;
    }
  }
  return undefined;
}
