/**
 * The running gateway: listeners (HTTP/1.1, HTTPS with `ssl_certificate`), reload on a new
 * configuration without dropping in-flight requests, log reopen, and a draining stop.
 * @module
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { type GatewayConfig, type Listen, loadGatewayConfig } from './config.ts';
import { Exchange } from './exchange.ts';
import { type GatewayHooks, Runtime } from './runtime.ts';

export interface GatewayOptions {
  /** The configuration file. */
  readonly config: string;
  /** nginx's `-p`: the directory relative log paths are resolved against (default: the file's directory). */
  readonly prefix?: string;
  /** Diagnostics (default: stderr). */
  readonly log?: (line: string) => void;
  /** The canonical record of every contact and every request, for formats of any dialect. */
  readonly hooks?: GatewayHooks;
}

interface Bound {
  readonly listen: Listen;
  readonly server: Server;
  ssl: boolean;
}

/** Loads and checks a configuration, and builds what it needs to run (resolved upstreams, open logs). */
export async function prepare(
  path: string,
  prefix: string | undefined,
  onError: (m: string) => void,
  hooks: GatewayHooks = {},
): Promise<{ config: GatewayConfig; runtime: Runtime; contexts: Map<string, SecureContext> }> {
  const config = loadGatewayConfig(path, prefix !== undefined ? { prefix } : {});
  const contexts = new Map<string, SecureContext>();
  for (const s of config.servers) {
    if (!s.sslCertificate || !s.sslCertificateKey) continue;
    let ctx: SecureContext;
    try {
      ctx = createSecureContext({
        cert: readFileSync(s.sslCertificate),
        key: readFileSync(s.sslCertificateKey),
      });
    } catch (e) {
      throw new Error(
        `cannot load certificate "${s.sslCertificate}": ${(e as Error).message} in ${s.file}:${s.line}`,
      );
    }
    contexts.set(`${s.file}:${s.line}`, ctx);
  }
  const runtime = await Runtime.create(config, onError, hooks);
  return { config, runtime, contexts };
}

/**
 * node:http's own limits, the same on HTTP and HTTPS listeners: nginx's keepalive_timeout 75s and
 * client_header_timeout 60s; no limit on a whole request (client_body_timeout and send_timeout,
 * between reads and writes, are the gateway's).
 */
const SERVER_TIMEOUTS = { keepAliveTimeout: 75_000, requestTimeout: 0, headersTimeout: 60_000 } as const;

function listenKey(l: Listen): string {
  return `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
}

/** The sockets to bind: one per port and address; a wildcard address takes the whole port. */
function listensOf(config: GatewayConfig): Listen[] {
  const all = config.servers.flatMap((s) => s.listens);
  const out = new Map<string, Listen>();
  for (const l of all) {
    const wildcard = all.some((o) => o.port === l.port && (o.host === '0.0.0.0' || o.host === '::'));
    if (wildcard && l.host !== '0.0.0.0' && l.host !== '::') continue;
    const k = listenKey(l);
    const prev = out.get(k);
    out.set(k, { ...l, ssl: l.ssl || (prev?.ssl ?? false), defaultServer: false });
  }
  return [...out.values()];
}

export class Gateway {
  #runtime: Runtime;
  #contexts: Map<string, SecureContext>;
  readonly #opts: GatewayOptions;
  readonly #bound = new Map<string, Bound>();
  readonly #inflight = new Map<Runtime, number>();
  readonly #retired = new Set<Runtime>();
  readonly #log: (line: string) => void;
  #stopping = false;
  /**
   * Requests in flight. A count, not a set of responses: a long-lived collection pointing at each
   * request's response kept its objects alive through young-generation GCs (10% survival).
   */
  #live = 0;
  #drained: (() => void) | undefined;
  #pid: string | undefined;

  private constructor(opts: GatewayOptions, runtime: Runtime, contexts: Map<string, SecureContext>) {
    this.#opts = opts;
    this.#runtime = runtime;
    this.#contexts = contexts;
    this.#log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
  }

  /** Loads the configuration and listens on every address it names. */
  static async start(opts: GatewayOptions): Promise<Gateway> {
    const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
    const { runtime, contexts } = await prepare(
      opts.config,
      opts.prefix,
      (m) => log(`[error] ${m}`),
      opts.hooks,
    );
    const g = new Gateway(opts, runtime, contexts);
    try {
      await g.#bind();
    } catch (e) {
      runtime.close();
      for (const b of g.#bound.values()) b.server.close();
      throw e;
    }
    const pid = runtime.config.pid;
    if (pid) {
      writeFileSync(pid, `${process.pid}\n`);
      g.#pid = pid;
    }
    return g;
  }

  /** The addresses listened on (`host:port`, with the port actually bound). */
  get addresses(): string[] {
    return [...this.#bound.values()].map((b) => {
      const a = b.server.address() as AddressInfo;
      return `${b.ssl ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    });
  }

  get runtime(): Runtime {
    return this.#runtime;
  }

  async #bind(): Promise<void> {
    const wanted = listensOf(this.#runtime.config);
    const keys = new Set(wanted.map(listenKey));
    // New sockets first: a reload that cannot bind leaves the running ones as they were.
    const added: string[] = [];
    try {
      await this.#bindNew(wanted, added);
    } catch (e) {
      for (const k of added) {
        this.#bound.get(k)?.server.close();
        this.#bound.delete(k);
      }
      throw e;
    }
    for (const [k, b] of this.#bound) {
      if (!keys.has(k)) {
        b.server.close();
        b.server.closeIdleConnections();
        this.#bound.delete(k);
      }
    }
  }

  async #bindNew(wanted: readonly Listen[], added: string[]): Promise<void> {
    for (const l of wanted) {
      const k = listenKey(l);
      const existing = this.#bound.get(k);
      if (existing) {
        if (existing.ssl !== l.ssl)
          throw new Error(`cannot change "ssl" of the listening socket ${k} on reload`);
        continue;
      }
      const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(l, req, res);
      let server: Server;
      if (l.ssl) {
        const ctxFor = (name: string): SecureContext | undefined => {
          const s = this.#runtime.selectServer(l, name);
          return s ? this.#contexts.get(`${s.file}:${s.line}`) : undefined;
        };
        const first = ctxFor('');
        if (!first) throw new Error(`no "ssl_certificate" is defined for ${k}`);
        server = createHttps(
          {
            ...SERVER_TIMEOUTS,
            SNICallback: (name, cb) => cb(null, ctxFor(name) ?? ctxFor('')),
            ...((): object => {
              const s = this.#runtime.selectServer(l, undefined);
              return {
                cert: readFileSync(s.sslCertificate as string),
                key: readFileSync(s.sslCertificateKey as string),
              };
            })(),
          },
          handler,
        ) as unknown as Server;
      } else {
        server = createHttp(SERVER_TIMEOUTS, handler);
      }
      await new Promise<void>((resolve, reject) => {
        const onError = (e: NodeJS.ErrnoException) => {
          reject(new Error(`bind() to ${k} failed (${e.code ?? e.message})`));
        };
        server.once('error', onError);
        server.listen(l.port, l.host, () => {
          server.off('error', onError);
          resolve();
        });
      });
      this.#bound.set(k, { listen: l, server, ssl: l.ssl });
      added.push(k);
    }
  }

  #handle(l: Listen, req: IncomingMessage, res: ServerResponse): void {
    const rt = this.#runtime;
    this.#inflight.set(rt, (this.#inflight.get(rt) ?? 0) + 1);
    this.#live++;
    if (this.#stopping) res.shouldKeepAlive = false;
    const x = new Exchange(rt, l, req, res);
    // A request is over when its handling settled and its access line is written (a contact
    // aborted with the client is logged after the connection closed): only then may a retired
    // configuration close its logs.
    void Promise.all([x.run(), x.finished]).then(() => {
      this.#live--;
      const n = (this.#inflight.get(rt) ?? 1) - 1;
      this.#inflight.set(rt, n);
      if (n === 0 && this.#retired.has(rt)) this.#retire(rt);
      if (this.#stopping) {
        for (const b of this.#bound.values()) b.server.closeIdleConnections();
        if (this.#live === 0) this.#drained?.();
      }
    });
  }

  #retire(rt: Runtime): void {
    this.#retired.delete(rt);
    this.#inflight.delete(rt);
    rt.close();
  }

  /**
   * Loads the configuration again. A configuration that fails to load is reported and the old
   * one keeps serving; requests in flight finish with the configuration they started with.
   * @returns the error message when the new configuration was refused.
   */
  async reload(): Promise<string | undefined> {
    let next: Awaited<ReturnType<typeof prepare>>;
    try {
      next = await prepare(
        this.#opts.config,
        this.#opts.prefix,
        (m) => this.#log(`[error] ${m}`),
        this.#opts.hooks,
      );
    } catch (e) {
      return (e as Error).message;
    }
    const old = this.#runtime;
    const oldContexts = this.#contexts;
    this.#runtime = next.runtime;
    this.#contexts = next.contexts;
    try {
      await this.#bind();
    } catch (e) {
      this.#runtime = old;
      this.#contexts = oldContexts;
      next.runtime.close();
      return (e as Error).message;
    }
    this.#retired.add(old);
    if ((this.#inflight.get(old) ?? 0) === 0) this.#retire(old);
    return undefined;
  }

  /** Flushes and reopens every log file (after logrotate renamed them). */
  reopen(): void {
    for (const l of this.#runtime.logs) l.reopen();
    for (const rt of this.#retired) for (const l of rt.logs) l.reopen();
  }

  /** Stops accepting, lets requests in flight finish (at most `graceMs`), flushes the logs. */
  async stop(graceMs = 30_000): Promise<void> {
    this.#stopping = true;
    // Requests in flight answer with Connection: close; idle keep-alive connections end now.
    // Responses not yet started answer with Connection: close (the exchanges read the flag).
    this.#runtime.stopping = true;
    for (const rt of this.#retired) rt.stopping = true;
    for (const b of this.#bound.values()) {
      b.server.close();
      b.server.closeIdleConnections();
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        this.#drained = resolve;
        if (this.#live === 0) resolve();
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
    if (this.#live > 0) {
      // Past the grace: cut what is left, and give those requests a moment to write their lines.
      for (const b of this.#bound.values()) b.server.closeAllConnections();
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        setTimeout(resolve, 2_000).unref();
      });
    }
    this.#bound.clear();
    this.#runtime.close();
    for (const rt of this.#retired) rt.close();
    if (this.#pid) {
      try {
        unlinkSync(this.#pid);
      } catch {
        // already gone
      }
    }
  }
}
