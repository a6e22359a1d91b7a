/**
 * The gRPC server: LogtallyService over HTTP/2 (gRPC, gRPC-Web and Connect protocols, via
 * connect-es), backed by any QueryBackend.
 * @module
 */
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import {
  DictionaryDeltaSchema,
  FileStatusSchema,
  LogtallyService,
  type Snapshot,
  SnapshotColumnsSchema,
  SnapshotEntrySchema,
  SnapshotSchema,
  TargetSchema,
  TopNEntrySchema,
  TrendPointSchema,
} from '../gen/logtally/v1/logtally_pb.ts';
import { trendSpan } from '../store/history/range.ts';
import { type HostPort, parseHostPort } from './address.ts';
import type { QueryBackend, SnapshotData, TargetInfo } from './backend.ts';
import { MAX_MESSAGE_BYTES, snapshotParts, topNEntryBytes } from './message-size.ts';
import { toDimension, toFilter, toN, toOrder, toRange, toWindow } from './requests.ts';
import { type RpcSecurity, requireToken } from './security.ts';

function target(t: TargetInfo) {
  return create(TargetSchema, {
    source: t.source,
    address: t.address,
    state: t.state,
    lastSnapshot: t.lastSnapshot,
    failures: t.failures,
  });
}

export function snapshotMessage(s: SnapshotData): Snapshot {
  return create(SnapshotSchema, {
    source: s.source,
    start: s.start,
    span: s.span,
    totalCount: s.totalRequests,
    totalBytes: s.totalBytes,
    totalTime: s.totalTime,
    amend: s.amend === true,
    subtract: s.subtract === true,
    ...(s.columns
      ? {
          columns: create(SnapshotColumnsSchema, {
            dictionary: s.columns.dictionary.map((d) =>
              create(DictionaryDeltaSchema, { ids: [...d.ids], values: [...d.values] }),
            ),
            keys: s.columns.keys,
            counts: s.columns.counts,
          }),
        }
      : {}),
    entries: s.entries.map((e) =>
      create(SnapshotEntrySchema, {
        website: e.labels[0] ?? '',
        prefix: e.labels[1] ?? '',
        uri: e.labels[2] ?? '',
        status: e.labels[3] ?? '',
        upstream: e.labels[4] ?? '',
        method: e.labels[5] ?? '',
        count: e.requests,
        bytes: e.bytes,
        time: e.time,
      }),
    ),
  });
}

/** Registers LogtallyService on a connect router. */
export function logtallyRoutes(backend: QueryBackend): (router: ConnectRouter) => void {
  return (router) => {
    router.service(LogtallyService, {
      async topN(req) {
        const range = toRange(req.window, req.from, req.to, backend.history);
        const q = {
          filter: toFilter(req.filter),
          groupBy: toDimension(req.groupBy),
          n: toN(req.n),
          orderBy: toOrder(req.orderBy),
        };
        const entries =
          range && backend.history
            ? await backend.history.topN({ ...q, range })
            : backend.topN({ ...q, window: toWindow(req.window) });
        // The first entries that fit in 4 MiB (a client's default limit); the rest are cut.
        let bytes = 64 + backend.source.length * 3;
        let fit = 0;
        while (fit < entries.length) {
          bytes += topNEntryBytes((entries[fit] as (typeof entries)[number]).label);
          if (bytes > MAX_MESSAGE_BYTES) break;
          fit++;
        }
        return {
          source: backend.source,
          entries: entries
            .slice(0, fit)
            .map((e) =>
              create(TopNEntrySchema, { label: e.label, count: e.requests, bytes: e.bytes, time: e.time }),
            ),
          truncated: fit < entries.length,
        };
      },
      async trend(req) {
        const range = toRange(req.window, req.from, req.to, backend.history);
        const filter = toFilter(req.filter);
        const points =
          range && backend.history
            ? await backend.history.trend({ range, filter, span: trendSpan(range) })
            : backend.trend(toWindow(req.window), filter);
        return {
          source: backend.source,
          points: points.map((p) =>
            create(TrendPointSchema, {
              start: p.start,
              span: p.span,
              count: p.requests,
              bytes: p.bytes,
              time: p.time,
            }),
          ),
        };
      },
      async *streamSnapshots(req, ctx) {
        // Parts under 4 MiB each: what every gRPC client accepts by default.
        for await (const s of backend.snapshots(
          req.backfill,
          ctx.signal,
          req.columnar,
          Number.isFinite(req.since) ? req.since : 0,
        ))
          for (const m of snapshotParts(s, snapshotMessage)) yield m;
      },
      listTargets() {
        return { targets: backend.targets().map(target) };
      },
      status() {
        const s = backend.status();
        return {
          source: s.source,
          version: s.version,
          uptimeSeconds: s.uptimeSeconds,
          files: s.files.map((f) => create(FileStatusSchema, { ...f })),
          linesRead: s.linesRead,
          parseErrors: s.parseErrors,
          droppedKeys: s.droppedKeys,
          malformed: s.malformed,
          targets: s.targets.map(target),
          syslogDatagrams: s.syslogDatagrams,
          syslogLines: s.syslogLines,
          ...(s.history
            ? {
                history: s.history.sink,
                historyQueuedMinutes: s.history.queuedMinutes,
                historyOldestQueued: s.history.oldestQueued,
                historyDroppedMinutes: s.history.droppedMinutes,
                historyWriteErrors: s.history.writeErrors,
                historyLastError: s.history.lastError,
                historyWrittenMinutes: s.history.writtenMinutes,
              }
            : {}),
        };
      },
    });
  };
}

/** The largest request message the service accepts (a TopN with every filter at its limits is < 4 KiB). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** A connection with no HTTP/2 frames for this long is closed. */
export const IDLE_CONNECTION_MS = 5 * 60_000;

/** Connections served at once; more are refused (closed) until some end. */
export const MAX_CONNECTIONS = 1024;

export interface RpcServer {
  readonly address: HostPort;
  close(): Promise<void>;
}

/**
 * Serves LogtallyService on `listen` (`:9090`, `127.0.0.1:0`, …) over HTTP/2: cleartext, or TLS
 * when `security` has a certificate (mutual TLS when it also has a CA), with a bearer token
 * required when it has one.
 */
export async function startRpcServer(
  listen: string,
  backend: QueryBackend,
  security?: RpcSecurity,
  limits: { maxConnections?: number; idleMs?: number } = {},
): Promise<RpcServer> {
  const addr = parseHostPort(listen, '--listen');
  const handler = connectNodeAdapter({
    routes: logtallyRoutes(backend),
    // Every request of the service is small: a larger one is refused (RESOURCE_EXHAUSTED) from
    // its length prefix, before it is buffered.
    readMaxBytes: MAX_REQUEST_BYTES,
    ...(security?.token ? { interceptors: [requireToken(security.token)] } : {}),
  });
  let server: http2.Http2Server | http2.Http2SecureServer;
  if (security?.cert && security.key) {
    server = http2.createSecureServer(
      {
        cert: security.cert,
        key: security.key,
        ...(security.ca ? { ca: security.ca, requestCert: true, rejectUnauthorized: true } : {}),
      },
      handler,
    );
  } else {
    server = http2.createServer(handler);
  }
  const sessions = new Set<http2.ServerHttp2Session>();
  // At most this many connections at once: idle sockets cannot exhaust the descriptors.
  server.maxConnections = limits.maxConnections ?? MAX_CONNECTIONS;
  // A connection with no frames for this long is closed (a StreamSnapshots stream sends a
  // snapshot every minute, so it is never idle that long). The session's own destroy leaves the
  // TCP connection open, hence its socket first.
  const idleMs = limits.idleMs ?? IDLE_CONNECTION_MS;
  server.on('session', (s: http2.ServerHttp2Session) => {
    s.setTimeout(idleMs, () => {
      try {
        s.socket?.destroy();
      } catch {
        // already gone
      }
      s.destroy();
    });
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.listen(addr.port, addr.host || undefined);
  await once(server, 'listening');
  const bound = server.address() as AddressInfo;
  return {
    address: { host: addr.host, port: bound.port },
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      for (const s of sessions) s.close();
      setTimeout(() => {
        for (const s of sessions) s.destroy();
      }, 2000).unref();
      await closed;
    },
  };
}
