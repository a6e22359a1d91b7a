/**
 * The collector program: tail logs (and/or listen for syslog), parse each line with the
 * format its server was configured with, count into the store, serve gRPC and Prometheus.
 * @module
 */

import { existsSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { LogtallyError } from '../format/errors.ts';
import type { FormatSpec } from '../format/registry.ts';
import { createSyslogListener, type SyslogListener } from '../ingest/syslog-listener.ts';
import { createTailer, type Tailer } from '../ingest/tailer.ts';
import type { RpcSecurity } from '../rpc/security.ts';
import type { RpcServer } from '../rpc/server.ts';
import { startRpcServer } from '../rpc/server.ts';
import { readState, saveState } from '../store/persist.ts';
import { Store } from '../store/store.ts';
import { type CollectorInputs, inputMatcher, resolveInputs } from './inputs.ts';
import { CollectorMetrics } from './metrics.ts';
import { Pipeline, type SourceFormat } from './pipeline.ts';
import { StoreBackend } from './store-backend.ts';

export interface CollectorOptions {
  listen: string;
  logs?: string;
  logsFile?: string;
  nginxConf?: string;
  syslogListen?: string;
  source?: string;
  v4prefix: number;
  v6prefix: number;
  format: FormatSpec;
  /** Empty disables. */
  metricsListen: string;
  maxLineBytes?: number;
  /** Read existing files from their start instead of their end (backfill a log). */
  fromStart?: boolean;
  version: string;
  /** Diagnostics (one line each). */
  log: (line: string) => void;
  /** Snapshot the rings here on shutdown and every `stateIntervalMs`; restore them at start. */
  stateFile?: string;
  stateIntervalMs?: number;
  /** TLS and bearer token of the gRPC listener. */
  security?: RpcSecurity;
  /** Injected clock (tests). */
  now?: () => number;
}

export interface RunningCollector {
  readonly store: Store;
  readonly rpc: RpcServer;
  readonly metricsPort?: number;
  readonly syslogPort?: number;
  readonly inputs: CollectorInputs;
  readonly pipeline: Pipeline;
  stop(): Promise<void>;
}

export async function startCollector(o: CollectorOptions): Promise<RunningCollector> {
  const inputs = resolveInputs({
    ...(o.logs === undefined ? {} : { logs: o.logs }),
    ...(o.logsFile === undefined ? {} : { logsFile: o.logsFile }),
    ...(o.nginxConf === undefined ? {} : { nginxConf: o.nginxConf }),
    format: o.format,
  });
  for (const w of inputs.warnings) o.log(`warning: ${w}`);
  if (inputs.files.length === 0 && !o.syslogListen && inputs.syslogByTag.size === 0) {
    throw new LogtallyError(
      'ERR_FORMAT_OPTION',
      `no logs to read: ${o.nginxConf ?? 'the configuration'} names no access_log or upstream_log file (give --logs or --syslog-listen)`,
    );
  }
  const source = o.source || hostname();
  const store = new Store({ v4prefix: o.v4prefix, v6prefix: o.v6prefix, ...(o.now ? { now: o.now } : {}) });
  if (o.stateFile && existsSync(o.stateFile)) {
    try {
      store.importState(readState(o.stateFile));
      const st = store.stats();
      o.log(`${o.stateFile}: restored ${st.fineBuckets} minute and ${st.coarseBuckets} five-minute buckets`);
    } catch (e) {
      // Keep the unreadable file for inspection; start empty rather than not at all.
      const aside = `${o.stateFile}.bad-${Date.now()}`;
      renameSync(o.stateFile, aside);
      o.log(`${o.stateFile}: cannot restore (${(e as Error).message}); moved to ${aside}, starting empty`);
    }
  }
  const save = () => {
    if (!o.stateFile) return;
    try {
      const bytes = saveState(store, o.stateFile);
      o.log(`${o.stateFile}: saved ${(bytes / 1048576).toFixed(1)} MB`);
    } catch (e) {
      o.log(`${o.stateFile}: cannot save: ${(e as Error).message}`);
    }
  };
  let tailer: Tailer | undefined;
  let syslog: SyslogListener | undefined;
  const metrics = new CollectorMetrics({
    linesRead: () => pipeline.linesRead,
    parseErrors: () => pipeline.parseErrors,
    malformed: () => store.stats().malformed + sum((c) => c.malformed),
    droppedKeys: () => store.stats().droppedKeys,
    syslogDatagrams: () => syslog?.stats().datagrams ?? 0,
    syslogLines: () => syslog?.stats().lines ?? 0,
    filesTailed: () => tailer?.stats().totals.files ?? 0,
  });
  const pipeline = new Pipeline(
    store,
    (r) => o.log(`${r.source}: line ${r.line}: ${r.message}`),
    (k) => metrics.observe(k.website, k.method, k.status, k.bytes, k.time, k.upstream),
  );
  const sum = (f: (c: { malformed: number }) => number) => {
    let n = 0;
    for (const c of pipeline.counters.values()) n += f(c);
    return n;
  };
  // A bug triggered by one batch of lines must never stop the daemon: report it and go on.
  let internalErrors = 0;
  const feed = (lines: string[], source: string, src: SourceFormat) => {
    try {
      pipeline.feed(lines, source, src);
    } catch (e) {
      internalErrors++;
      if (internalErrors <= 5)
        o.log(
          `${source}: internal error on a batch of ${lines.length} line(s), skipped: ${(e as Error).stack ?? e}`,
        );
    }
  };
  const match = inputMatcher(inputs.files);
  if (inputs.files.length > 0) {
    tailer = createTailer({
      patterns: inputs.files.map((f) => f.pattern),
      ...(o.maxLineBytes ? { maxLineBytes: o.maxLineBytes } : {}),
      ...(o.fromStart ? { startAt: 'beginning' as const } : {}),
      onLines(lines, file) {
        const input = match(file);
        if (input) feed(lines, file, input.source);
      },
      onEvent(e) {
        if (e.type === 'opened' && e.reason !== 'startup') o.log(`${e.path}: opened (${e.reason})`);
        else if (e.type === 'rotated' || e.type === 'truncated') o.log(`${e.path}: ${e.type}`);
        else if (e.type === 'overlong')
          o.log(`${e.path}: ${e.count} line(s) longer than ${e.maxLineBytes} bytes skipped`);
        else if (e.type === 'missing') o.log(`${e.path}: does not exist yet; waiting for it`);
        else if (e.type === 'no-match') o.log(`${e.pattern}: matches no file yet; watching`);
        else if (e.type === 'dir-problem') o.log(`${e.dir}: ${e.message}; retrying`);
        else if (e.type === 'error') o.log(`${e.path}: ${e.message}`);
      },
    });
    await tailer.start();
  }
  let syslogPort: number | undefined;
  if (o.syslogListen) {
    syslog = createSyslogListener({
      address: o.syslogListen,
      onLines(lines, from) {
        const src =
          (from.tag !== undefined ? inputs.syslogByTag.get(from.tag) : undefined) ?? inputs.syslogDefault;
        feed(lines, `syslog:${from.tag ?? from.address}`, src);
      },
    });
    syslogPort = (await syslog.start()).port;
  }
  const backend = new StoreBackend(store, source, o.version, {
    files: () =>
      (tailer?.stats().files ?? []).map((f) => {
        const c = pipeline.counters.get(f.path);
        return {
          path: f.path,
          offset: f.offset,
          lines: c?.lines ?? f.linesRead,
          parseErrors: c?.parseErrors ?? 0,
          format: match(f.path)?.source.name ?? '',
        };
      }),
    get linesRead() {
      return pipeline.linesRead;
    },
    get parseErrors() {
      return pipeline.parseErrors;
    },
    get syslogDatagrams() {
      return syslog?.stats().datagrams ?? 0;
    },
    get syslogLines() {
      return syslog?.stats().lines ?? 0;
    },
  });
  // A listener that cannot bind (address in use …) must not leave the tailer running.
  let rpc: RpcServer;
  let metricsServer: Awaited<ReturnType<CollectorMetrics['serve']>> | undefined;
  try {
    rpc = await startRpcServer(o.listen, backend, o.security);
    try {
      metricsServer = o.metricsListen ? await metrics.serve(o.metricsListen) : undefined;
    } catch (e) {
      await rpc.close();
      throw e;
    }
  } catch (e) {
    await Promise.all([tailer?.stop(), syslog?.stop()]);
    throw e;
  }
  // Rotate minutes even when no line arrives.
  const ticker = setInterval(() => store.tick(), 1000);
  ticker.unref();
  const saver = o.stateFile ? setInterval(save, o.stateIntervalMs ?? 300_000) : undefined;
  saver?.unref();
  return {
    store,
    rpc,
    inputs,
    pipeline,
    ...(metricsServer ? { metricsPort: metricsServer.port } : {}),
    ...(syslogPort === undefined ? {} : { syslogPort }),
    async stop() {
      clearInterval(ticker);
      if (saver) clearInterval(saver);
      await Promise.all([tailer?.stop(), syslog?.stop()]);
      save();
      await rpc.close();
      if (metricsServer) {
        metricsServer.server.closeAllConnections();
        await new Promise<void>((r) => metricsServer.server.close(() => r()));
      }
    },
  };
}
