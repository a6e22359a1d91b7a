/**
 * The gRPC server: LogtallyService over HTTP/2 and HTTP/1.1 on one port (gRPC, gRPC-Web and
 * Connect protocols, via connect-es), backed by any QueryBackend.
 * @module
 */
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { file_grpc_health_v1_health, Health } from '../gen/grpc/health/v1/health_pb.ts';
import {
  DictionaryDeltaSchema,
  FileStatusSchema,
  file_logtally_v1_logtally,
  LogtallyService,
  type Snapshot,
  SnapshotColumnsSchema,
  SnapshotEntrySchema,
  SnapshotSchema,
  TargetSchema,
  TopNEntrySchema,
  TrendPointSchema,
} from '../gen/logtally/v1/logtally_pb.ts';
import { OTHER_TEXT } from '../store/dimensions.ts';
import { trendSpan } from '../store/history/range.ts';
import { type HostPort, parseHostPort } from './address.ts';
import type { QueryBackend, SnapshotData, TargetInfo } from './backend.ts';
import { HealthState, healthRoutes } from './health.ts';
import { MAX_MESSAGE_BYTES, snapshotParts, topNEntryBytes } from './message-size.ts';
import { reflectionRoutes } from './reflection.ts';
import { toDimension, toFilter, toN, toOrder, toRange, toWindow } from './requests.ts';
import { bearerAccepted, type RpcSecurity, TOKEN_REFUSED } from './security.ts';

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
          entries: entries.slice(0, fit).map((e) =>
            create(TopNEntrySchema, {
              ...(e.label === OTHER_TEXT ? { other: true } : { label: e.label }),
              count: e.requests,
              bytes: e.bytes,
              time: e.time,
            }),
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
          ...(s.state
            ? {
                stateSaveFailures: s.state.saveFailures,
                stateSaveError: s.state.lastError,
                stateLastSaved: s.state.lastSaved,
              }
            : {}),
          linesTooOld: s.linesTooOld ?? 0,
        };
      },
    });
  };
}

/**
 * Answers UNAUTHENTICATED in the caller's protocol without reading the request body: gRPC and
 * gRPC-Web as a trailers-only response, a Connect stream as its end-of-stream message, Connect
 * unary as HTTP 401 with the JSON error. An HTTP/1.1 connection is closed after it (its unread
 * body is not read to keep the connection).
 */
function refuseUnauthenticated(
  req: IncomingMessage | http2.Http2ServerRequest,
  response: ServerResponse | http2.Http2ServerResponse,
): void {
  // Both response kinds have these two methods with these arguments.
  const res = response as ServerResponse;
  const type = String(req.headers['content-type'] ?? '');
  const close = req.httpVersionMajor === 1 ? { connection: 'close' } : {};
  if (type.startsWith('application/grpc')) {
    res.writeHead(200, {
      ...close,
      'content-type': type.startsWith('application/grpc-web') ? type : 'application/grpc',
      'grpc-status': '16',
      'grpc-message': encodeURIComponent(TOKEN_REFUSED),
    });
    res.end();
  } else if (type.startsWith('application/connect+')) {
    const json = Buffer.from(JSON.stringify({ error: { code: 'unauthenticated', message: TOKEN_REFUSED } }));
    const frame = Buffer.alloc(5 + json.length);
    frame[0] = 0b10; // end of stream
    frame.writeUInt32BE(json.length, 1);
    json.copy(frame, 5);
    res.writeHead(200, { ...close, 'content-type': type });
    res.end(frame);
  } else {
    res.writeHead(401, { ...close, 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'unauthenticated', message: TOKEN_REFUSED }));
  }
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

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * Serves LogtallyService on `listen` (`:9090`, `127.0.0.1:0`, …) over HTTP/2 and HTTP/1.1 on
 * the same port: cleartext (the protocol told apart by the HTTP/2 connection preface), or TLS
 * when `security` has a certificate (chosen by ALPN; mutual TLS when it also has a CA), with a
 * bearer token required when it has one (but for the health service: probes send none). Besides
 * LogtallyService it serves grpc.health.v1.Health (`options.health`, else SERVING) and server
 * reflection v1 and v1alpha. gRPC needs HTTP/2; the Connect protocol (JSON or
 * binary, e.g. `curl -H 'content-type: application/json' -d '{}' http://host:9090/logtally.v1.LogtallyService/Status`)
 * and gRPC-Web work over both.
 */
export async function startRpcServer(
  listen: string,
  backend: QueryBackend,
  security?: RpcSecurity,
  options: { maxConnections?: number; idleMs?: number; health?: HealthState } = {},
): Promise<RpcServer> {
  const addr = parseHostPort(listen, '--listen');
  const limits = options;
  // Without a health state of its own (tests, tools), the server is SERVING while it listens.
  const health = options.health ?? new HealthState(true);
  const handler = connectNodeAdapter({
    routes: (router) => {
      logtallyRoutes(backend)(router);
      healthRoutes(health, [LogtallyService.typeName])(router);
      reflectionRoutes(
        [file_logtally_v1_logtally, file_grpc_health_v1_health],
        [LogtallyService.typeName, Health.typeName],
      )(router);
    },
    // Every request of the service is small: a larger one is refused (RESOURCE_EXHAUSTED) from
    // its length prefix, before it is buffered.
    readMaxBytes: MAX_REQUEST_BYTES,
  });
  // A connection with no traffic for this long is closed (a StreamSnapshots stream sends a
  // snapshot every minute, so it is never idle that long).
  const idleMs = limits.idleMs ?? IDLE_CONNECTION_MS;
  const sessions = new Set<http2.ServerHttp2Session>();
  /** HTTP/1.1 connections, and those with a request in progress. */
  const http1 = new Set<Socket>();
  const busy = new Set<Socket>();
  let closing = false;
  const serve = (
    req: IncomingMessage | http2.Http2ServerRequest,
    res: ServerResponse | http2.Http2ServerResponse,
  ) => {
    if (req.httpVersionMajor === 1) {
      const socket = req.socket as Socket;
      busy.add(socket);
      res.on('close', () => {
        busy.delete(socket);
        if (closing) socket.destroy();
      });
    }
    // The token is checked on the headers, before a byte of the body is read (health probes
    // send none: the serving status is no secret).
    const token = security?.token;
    if (
      token !== undefined &&
      !req.url?.startsWith('/grpc.health.v1.Health/') &&
      !bearerAccepted(token, req.headers.authorization)
    ) {
      refuseUnauthenticated(req, res);
      return;
    }
    handler(req, res);
  };
  const trackHttp1 = (socket: Socket) => {
    socket.setTimeout(idleMs, () => socket.destroy());
    http1.add(socket);
    socket.on('close', () => http1.delete(socket));
  };
  let h2: http2.Http2Server | http2.Http2SecureServer;
  let listener: Server;
  if (security?.cert && security.key) {
    // ALPN: h2, or http/1.1 for a client that does not offer h2.
    h2 = http2.createSecureServer(
      {
        cert: security.cert,
        key: security.key,
        allowHTTP1: true,
        ...(security.ca ? { ca: security.ca, requestCert: true, rejectUnauthorized: true } : {}),
      },
      serve,
    );
    h2.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol !== 'h2') trackHttp1(socket);
    });
    listener = h2;
  } else {
    h2 = http2.createServer(serve);
    const h1 = http.createServer(serve);
    // Cleartext: a connection that opens with the HTTP/2 preface is HTTP/2 (prior knowledge, as
    // gRPC clients do), anything else HTTP/1.1. Its first bytes are read, then handed back.
    listener = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.setTimeout(idleMs, () => socket.destroy());
      let seen: Buffer = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
        const n = Math.min(seen.length, H2_PREFACE.length);
        const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
        if (isH2 && seen.length < H2_PREFACE.length) return;
        socket.off('data', onData);
        socket.setTimeout(0);
        if (isH2) {
          socket.pause();
          socket.unshift(seen);
          h2.emit('connection', socket);
        } else {
          // node:http reads the socket's handle directly (unshifted bytes would be skipped):
          // the bytes already read go to its data listener.
          trackHttp1(socket);
          h1.emit('connection', socket);
          socket.emit('data', seen);
        }
      };
      socket.on('data', onData);
    });
  }
  // At most this many connections at once: idle sockets cannot exhaust the descriptors.
  listener.maxConnections = limits.maxConnections ?? MAX_CONNECTIONS;
  // The session's own destroy leaves the TCP connection open, hence its socket first.
  h2.on('session', (s: http2.ServerHttp2Session) => {
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
  listener.listen(addr.port, addr.host || undefined);
  await once(listener, 'listening');
  const bound = listener.address() as AddressInfo;
  return {
    address: { host: addr.host, port: bound.port },
    close: async () => {
      const closed = once(listener, 'close');
      closing = true;
      // Health watchers are told NOT_SERVING and their calls end, so connections can close.
      health.end();
      listener.close();
      for (const s of sessions) s.close();
      for (const s of http1) if (!busy.has(s)) s.destroy();
      setTimeout(() => {
        for (const s of sessions) s.destroy();
        for (const s of http1) s.destroy();
      }, 2000).unref();
      await closed;
    },
  };
}
