/**
 * The collector program: tail logs (and/or listen for syslog), parse each line with the
 * format its server was configured with, count into the store, serve gRPC and Prometheus.
 * @module
 */

import { existsSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { connectionsPerListener } from '../daemon.ts';
import { LogtallyError } from '../format/errors.ts';
import type { FormatSpec } from '../format/registry.ts';
import type { LineBatch } from '../ingest/line-batch.ts';
import { DEFAULT_MAX_LINE_BYTES } from '../ingest/line-splitter.ts';
import { createSyslogListener, type SyslogListener } from '../ingest/syslog-listener.ts';
import { createTailer, type FilePosition, type Tailer } from '../ingest/tailer.ts';
import { HealthState } from '../rpc/health.ts';
import type { RpcSecurity } from '../rpc/security.ts';
import type { RpcServer } from '../rpc/server.ts';
import { startRpcServer } from '../rpc/server.ts';
import { type HistoryFlagOptions, type HistoryWriter, historyFromFlags } from '../store/history/index.ts';
import { PartialRestoreError, StateKeeper } from '../store/journal.ts';
import { Store } from '../store/store.ts';
import { BACKFILL_MIN_BYTES, type Backfill, startBackfill } from './backfill.ts';
import { registerHistoryMetrics } from './history-metrics.ts';
import { type CollectorInputs, inputMatcher, resolveInputs } from './inputs.ts';
import { CollectorMetrics } from './metrics.ts';
import { countInto, Pipeline, type SourceFormat } from './pipeline.ts';
import { StoreBackend } from './store-backend.ts';

export interface CollectorOptions extends HistoryFlagOptions {
  listen: string;
  logs?: string;
  logsFile?: string;
  nginxConf?: string;
  syslogListen?: string;
  /** With syslogListen and nginxConf: also tail the configuration's files. */
  tailFiles?: boolean;
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
  /**
   * Keep the counts and each file's position here (checkpoint every `checkpointIntervalMs`, at
   * a rotation and at shutdown); at start restore them and read every file on from its position.
   */
  stateFile?: string;
  /** Default 10 000. */
  checkpointIntervalMs?: number;
  /** TLS and bearer token of the gRPC listener. */
  security?: RpcSecurity;
  /** Injected clock (tests). */
  now?: () => number;
  /**
   * Threads that read a large unread part of a log at start (see ./backfill.ts); 1: none.
   * Default 1.
   */
  threads?: number;
  /** Unread bytes of a file from which `threads` read it in parts; default 32 MiB. */
  parallelMinBytes?: number;
}

export interface RunningCollector {
  readonly store: Store;
  readonly rpc: RpcServer;
  readonly metricsPort?: number;
  readonly syslogPort?: number;
  readonly inputs: CollectorInputs;
  readonly pipeline: Pipeline;
  readonly history?: HistoryWriter;
  stop(): Promise<void>;
}

export async function startCollector(o: CollectorOptions): Promise<RunningCollector> {
  const inputs = resolveInputs({
    ...(o.logs === undefined ? {} : { logs: o.logs }),
    ...(o.logsFile === undefined ? {} : { logsFile: o.logsFile }),
    ...(o.nginxConf === undefined ? {} : { nginxConf: o.nginxConf }),
    ...(o.syslogListen ? { syslogListen: o.syslogListen } : {}),
    ...(o.tailFiles ? { tailFiles: true } : {}),
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
  // The sink first: a history that cannot be opened stops the start, before any file is read.
  const history = await historyFromFlags(o, { source, log: o.log, now: store.now });
  const keeper = o.stateFile ? new StateKeeper(store, o.stateFile) : undefined;
  let resume: FilePosition[] | undefined;
  if (keeper) {
    try {
      const r = keeper.restore();
      if (r) {
        const meta = r.meta as { positions?: FilePosition[] } | undefined;
        resume = Array.isArray(meta?.positions) ? meta.positions : [];
        const st = store.stats();
        o.log(
          `${keeper.path}: restored ${st.fineBuckets} minute and ${st.coarseBuckets} five-minute buckets` +
            (r.groups > 0 ? ` (snapshot + ${r.groups} checkpoint(s))` : '') +
            `; reading ${resume.length} file(s) on from their saved positions`,
        );
        if (r.journalProblem) o.log(`warning: ${r.journalProblem}`);
      }
    } catch (e) {
      // A read that failed once the store had taken part of the state (the files changed, an I/O
      // error): the counts are in part the file's, so do not start (a restart tries again).
      if (e instanceof PartialRestoreError) throw e;
      // Keep the unreadable file for inspection; start empty rather than not at all.
      const aside = `${keeper.path}.bad-${Date.now()}`;
      renameSync(keeper.path, aside);
      if (existsSync(keeper.journalPath)) renameSync(keeper.journalPath, `${aside}.journal`);
      o.log(`${keeper.path}: cannot restore (${(e as Error).message}); moved to ${aside}, starting empty`);
    }
  }
  /** Failed checkpoints (a full disk …), for Status and /metrics; each is retried at the next interval. */
  const saving = { failures: 0, lastError: '', lastOk: 0 };
  let failedSince = 0;
  const checkpoint = (full: boolean) => {
    if (!keeper) return;
    try {
      const meta = { positions: tailer?.positions() ?? backfill?.positions() ?? resume ?? [] };
      const r = full ? keeper.snapshot(meta) : keeper.checkpoint(meta);
      saving.lastOk = Date.now();
      saving.lastError = '';
      if (failedSince > 0) o.log(`${keeper.path}: saving again after ${failedSince} failed attempt(s)`);
      failedSince = 0;
      if (full) o.log(`${keeper.path}: saved ${(r.bytes / 1048576).toFixed(1)} MB`);
    } catch (e) {
      saving.failures++;
      saving.lastError = (e as Error).message;
      failedSince++;
      if (failedSince <= 3 || failedSince % 60 === 0)
        o.log(
          `${keeper.path}: cannot save (attempt ${failedSince}; retried every interval): ${saving.lastError}`,
        );
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
    linesTooOld: () => store.stats().tooOld,
    stateSaveFailures: () => saving.failures,
    stateLastSaved: () => saving.lastOk / 1000,
  });
  if (history) registerHistoryMetrics(metrics.registry, () => history.stats());
  const pipeline = new Pipeline(
    store,
    (r) => o.log(`${r.source}: line ${r.line}: ${r.message}`),
    countInto(metrics.counts, store),
  );
  const sum = (f: (c: { malformed: number }) => number) => {
    let n = 0;
    for (const c of pipeline.counters.values()) n += f(c);
    return n;
  };
  // A bug triggered by one batch of lines must never stop the daemon: report it and go on.
  let internalErrors = 0;
  const feed = (batch: LineBatch, source: string, src: SourceFormat) => {
    try {
      pipeline.feed(batch, source, src);
    } catch (e) {
      internalErrors++;
      if (internalErrors <= 5)
        o.log(
          `${source}: internal error on a batch of ${batch.count} line(s), skipped: ${(e as Error).stack ?? e}`,
        );
    }
  };
  const match = inputMatcher(inputs.files);
  /** A rotation since the last checkpoint: the next tick checkpoints (the positions moved). */
  let rotatedSinceCheckpoint = false;
  /** The parallel read of large unread parts of logs, before tailing (see ./backfill.ts). */
  let backfill: Backfill | undefined;
  let stopping = false;
  const startTailing = async () => {
    if (inputs.files.length === 0) return;
    const from = await (backfill?.done ?? resume);
    if (stopping) return;
    tailer = createTailer({
      patterns: inputs.files.map((f) => f.pattern),
      ...(o.maxLineBytes ? { maxLineBytes: o.maxLineBytes } : {}),
      ...(o.fromStart ? { startAt: 'beginning' as const } : {}),
      ...(from ? { resume: from } : {}),
      onLines(batch, file) {
        const input = match(file);
        if (input) feed(batch, file, input.source);
      },
      onEvent(e) {
        if (e.type === 'opened' && e.reason !== 'startup') o.log(`${e.path}: opened (${e.reason})`);
        else if (e.type === 'truncated')
          o.log(
            `${e.path}: truncated (copytruncate)${
              e.copy
                ? `; read the ${e.fromCopy} byte(s) still unread from ${e.copy}`
                : `; no copy found: bytes after ${e.offset} not read`
            }`,
          );
        else if (e.type === 'rotated') {
          o.log(`${e.path}: ${e.type}`);
          // A rotated file's position is what a crash would need: save it now.
          rotatedSinceCheckpoint = true;
        } else if (e.type === 'resumed')
          o.log(`${e.path}: reading on from byte ${e.offset}${e.rotated ? ' of its rotated file' : ''}`);
        else if (e.type === 'resume-lost')
          o.log(
            `${e.path}: ${
              e.reason === 'gone'
                ? `the file read up to byte ${e.offset} (inode ${e.inode}) is gone`
                : e.reason === 'shrank'
                  ? `shrank to ${e.size} bytes while the collector was down (it had been read up to byte ${e.offset})`
                  : `inode ${e.inode} now holds another file`
            }: lines after the saved position could not be read again; reading the file there now from its start`,
          );
        else if (e.type === 'overlong')
          o.log(`${e.path}: ${e.count} line(s) longer than ${e.maxLineBytes} bytes skipped`);
        else if (e.type === 'missing') o.log(`${e.path}: does not exist yet; waiting for it`);
        else if (e.type === 'no-match') o.log(`${e.pattern}: matches no file yet; watching`);
        else if (e.type === 'dir-problem') o.log(`${e.dir}: ${e.message}; retrying`);
        else if (e.type === 'error') o.log(`${e.path}: ${e.message}`);
      },
    });
    await tailer.start();
  };
  let syslogPort: number | undefined;
  if (o.syslogListen) {
    syslog = createSyslogListener({
      address: o.syslogListen,
      onLines(batch, from) {
        const src =
          (from.tag !== undefined ? inputs.syslogByTag.get(from.tag) : undefined) ?? inputs.syslogDefault;
        feed(batch, `syslog:${from.tag ?? from.address}`, src);
      },
    });
    syslogPort = (await syslog.start()).port;
  }
  history?.follow(store);
  const backend = new StoreBackend(
    store,
    source,
    o.version,
    {
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
      state: () =>
        keeper
          ? { saveFailures: saving.failures, lastError: saving.lastError, lastSaved: saving.lastOk / 1000 }
          : undefined,
    },
    history,
  );
  // NOT_SERVING until the inputs are open and read, and again while stopping.
  const health = new HealthState(false);
  // A listener that cannot bind (address in use …) must not leave the syslog listener running.
  let rpc: RpcServer;
  let metricsServer: Awaited<ReturnType<CollectorMetrics['serve']>> | undefined;
  try {
    // Idle clients cannot take the descriptors the log files need.
    const perListener = connectionsPerListener(o.metricsListen ? 2 : 1);
    rpc = await startRpcServer(o.listen, backend, o.security, { maxConnections: perListener, health });
    try {
      metricsServer = o.metricsListen ? await metrics.serve(o.metricsListen, perListener) : undefined;
    } catch (e) {
      await rpc.close();
      throw e;
    }
  } catch (e) {
    await Promise.all([tailer?.stop(), syslog?.stop()]);
    await history?.close();
    throw e;
  }
  let tailing: Promise<void> | undefined;
  try {
    // A large unread part of a log on every core first (not with an injected clock: the worker
    // threads count by the wall clock); the tailer goes on from where it ended.
    if (inputs.files.length > 0 && !o.now && (o.threads ?? 1) > 1) {
      backfill = await startBackfill({
        files: inputs.files,
        resume,
        fromStart: o.fromStart === true,
        threads: o.threads ?? 1,
        minBytes: o.parallelMinBytes ?? BACKFILL_MIN_BYTES,
        maxLineBytes: o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
        storeOptions: { v4prefix: o.v4prefix, v6prefix: o.v6prefix },
        store,
        pipeline,
        counts: metrics.counts,
        feed: (batch, path, input) => feed(batch, path, input.source),
        log: o.log,
      });
    }
    if (backfill?.active) {
      // Answering meanwhile (NOT_SERVING until the tailer runs); a stop ends the read.
      tailing = startTailing().then(
        () => {
          if (!stopping) health.set(true);
        },
        (e: Error) => o.log(`cannot start tailing after the parallel read: ${e.message}`),
      );
    } else await startTailing();
  } catch (e) {
    await Promise.all([tailer?.stop(), syslog?.stop(), rpc.close()]);
    metricsServer?.server.closeAllConnections();
    metricsServer?.server.close();
    await history?.close();
    throw e;
  }
  // Rotate minutes even when no line arrives, just after each whole second (so a minute is sealed
  // as it ends, before most queries come); merge late lines at least every second; a dashboard's
  // TopN sums brought up to date with a minute sealed (not at its next query).
  let ticker: NodeJS.Timeout | undefined;
  const scheduleTick = () => {
    ticker = setTimeout(
      () => {
        try {
          store.tick();
          store.flushLate();
          try {
            store.refreshKept();
          } catch (e) {
            // A query's failure (memory for its sums) is the next query's to report, not a crash.
            o.log(`bringing a TopN's sums up to date failed: ${(e as Error).message}`);
          }
          if (rotatedSinceCheckpoint) {
            rotatedSinceCheckpoint = false;
            checkpoint(false);
          }
        } finally {
          if (ticker !== undefined) scheduleTick();
        }
      },
      1000 - (Date.now() % 1000) + 2,
    );
    ticker.unref();
  };
  scheduleTick();
  // The first checkpoint now: the positions the counts start from.
  checkpoint(true);
  const saver = keeper ? setInterval(() => checkpoint(false), o.checkpointIntervalMs ?? 10_000) : undefined;
  saver?.unref();
  if (!tailing) health.set(true);
  return {
    store,
    rpc,
    inputs,
    pipeline,
    ...(history ? { history } : {}),
    ...(metricsServer ? { metricsPort: metricsServer.port } : {}),
    ...(syslogPort === undefined ? {} : { syslogPort }),
    async stop() {
      health.set(false);
      stopping = true;
      clearTimeout(ticker);
      ticker = undefined;
      if (saver) clearInterval(saver);
      // A parallel read stops where its positions match its counts (its first part's progress).
      await backfill?.stop();
      await tailing;
      await Promise.all([tailer?.stop(), syslog?.stop()]);
      checkpoint(true);
      await rpc.close();
      // What is queued is written (one attempt) before the sink closes.
      await history?.close();
      if (metricsServer) {
        metricsServer.server.closeAllConnections();
        await new Promise<void>((r) => metricsServer.server.close(() => r()));
      }
    },
  };
}
