/**
 * The aggregator program: follow every collector's snapshot stream (with backfill, reconnect
 * with exponential backoff, degrade after 3 consecutive failures), merge, and serve the same
 * LogtallyService, so it can itself be aggregated.
 * @module
 */
import { hostname } from 'node:os';
import { LogtallyError } from '../format/errors.ts';
import type { Snapshot } from '../gen/logtally/v1/logtally_pb.ts';
import type { SnapshotData } from '../rpc/backend.ts';
import { createLogtallyClient } from '../rpc/client.ts';
import type { RpcSecurity } from '../rpc/security.ts';
import { type RpcServer, startRpcServer } from '../rpc/server.ts';
import { topIndices } from '../store/bucket.ts';
import { Store } from '../store/store.ts';
import { type Member, MergedBackend } from './merged-backend.ts';

export interface AggregatorOptions {
  listen: string;
  collectors: readonly string[];
  source?: string;
  version: string;
  log: (line: string) => void;
  /** Reconnect backoff: first delay and cap, ms (default 100 → 30 000). */
  backoff?: { initialMs: number; maxMs: number };
  /** Consecutive failures before a collector is degraded (default 3). */
  degradeAfter?: number;
  /** How long to wait for every collector's minute before publishing a merged minute (ms). */
  minuteGraceMs?: number;
  /** TLS and bearer token, for the listener and for the connections to collectors. */
  security?: RpcSecurity;
}

export interface RunningAggregator {
  readonly rpc: RpcServer;
  readonly backend: MergedBackend;
  stop(): Promise<void>;
}

const FINE_KEEP = 50_000;

function snapshotEntries(s: Snapshot) {
  return s.entries.map((e) => ({
    labels: [e.website, e.prefix, e.uri, e.status, e.upstream, e.method],
    requests: e.count,
    bytes: e.bytes,
    time: e.time,
  }));
}

export async function startAggregator(o: AggregatorOptions): Promise<RunningAggregator> {
  if (o.collectors.length === 0) {
    throw new LogtallyError('ERR_FORMAT_OPTION', 'aggregator: --collectors names no collector');
  }
  const source = o.source || hostname();
  const members: Member[] = o.collectors.map((address) => ({
    address,
    source: address,
    state: 'up',
    lastSnapshot: 0,
    failures: 0,
    store: new Store({ external: true }),
    files: [],
    linesRead: 0,
    parseErrors: 0,
    droppedKeys: 0,
    malformed: 0,
  }));
  const backend = new MergedBackend(source, o.version, members);
  const controller = new AbortController();
  const { initialMs, maxMs } = o.backoff ?? { initialMs: 100, maxMs: 30_000 };
  const degradeAfter = o.degradeAfter ?? 3;
  const published = new Set<number>();
  const pending = new Map<number, NodeJS.Timeout>();

  const publishMinute = (start: number) => {
    if (published.has(start)) return;
    published.add(start);
    if (published.size > 240) published.delete(Math.min(...published));
    const t = pending.get(start);
    if (t) clearTimeout(t);
    pending.delete(start);
    const merged = new Map<
      string,
      { labels: readonly string[]; requests: number; bytes: number; time: number }
    >();
    let totalRequests = 0;
    let totalBytes = 0;
    let totalTime = 0;
    for (const m of members) {
      if (m.state !== 'up') continue;
      const b = m.store.rings().fine.find((x) => x.start === start);
      if (!b) continue;
      totalRequests += b.totalRequests;
      totalBytes += b.totalBytes;
      totalTime += b.totalTime;
      for (const e of m.store.entries(b)) {
        const key = e.labels.join('\u0000');
        const cur = merged.get(key);
        if (cur) {
          cur.requests += e.requests;
          cur.bytes += e.bytes;
          cur.time += e.time;
        } else merged.set(key, { ...e });
      }
    }
    let entries = [...merged.values()];
    if (entries.length > FINE_KEEP) {
      const top = topIndices(
        entries.map((e) => e.requests),
        entries.length,
        FINE_KEEP,
      );
      entries = [...top].map((i) => entries[i] as (typeof entries)[number]);
    }
    const snap: SnapshotData = { source, start, span: 60, entries, totalRequests, totalBytes, totalTime };
    backend.publish(snap);
  };

  const onMinute = (start: number) => {
    if (published.has(start)) return;
    const ready = members.every(
      (m) => m.state !== 'up' || m.store.rings().fine.some((b) => b.start >= start),
    );
    if (ready) publishMinute(start);
    else if (!pending.has(start)) {
      const t = setTimeout(() => publishMinute(start), o.minuteGraceMs ?? 15_000);
      t.unref();
      pending.set(start, t);
    }
  };

  const follow = async (m: Member) => {
    const client = createLogtallyClient(m.address, '--collectors', o.security);
    let delay = initialMs;
    const fail = (why: string) => {
      m.failures++;
      if (m.failures >= degradeAfter && m.state === 'up') {
        m.state = 'degraded';
        o.log(
          `${m.address}: degraded after ${m.failures} consecutive failures (${why}); its counts are left out until it is back`,
        );
      } else if (m.failures <= degradeAfter) {
        o.log(`${m.address}: ${why}; retrying in ${delay} ms`);
      }
    };
    while (!controller.signal.aborted) {
      try {
        const st = await client.status({}, { signal: controller.signal, timeoutMs: 10_000 });
        m.source = st.source;
        m.files = st.files.map((f) => ({ ...f }));
        m.linesRead = st.linesRead;
        m.parseErrors = st.parseErrors;
        m.droppedKeys = st.droppedKeys;
        m.malformed = st.malformed;
        if (m.state === 'up') m.failures = 0;
        for await (const s of client.streamSnapshots({ backfill: true }, { signal: controller.signal })) {
          m.source = s.source;
          const added = m.store.ingestBucket(s.start, s.span, snapshotEntries(s), {
            requests: s.totalCount,
            bytes: s.totalBytes,
            time: s.totalTime,
          });
          if (m.state === 'degraded') o.log(`${m.address}: back; reintegrated`);
          m.state = 'up';
          m.failures = 0;
          delay = initialMs;
          if (s.span === 60) {
            m.lastSnapshot = Math.max(m.lastSnapshot, s.start + 60);
            if (added) onMinute(s.start);
          }
        }
        if (!controller.signal.aborted) fail('stream ended');
      } catch (e) {
        if (controller.signal.aborted) return;
        fail((e as Error).message);
      }
      await new Promise<void>((r) => {
        const onAbort = () => {
          clearTimeout(t);
          r();
        };
        const t = setTimeout(() => {
          controller.signal.removeEventListener('abort', onAbort);
          r();
        }, delay);
        controller.signal.addEventListener('abort', onAbort, { once: true });
      });
      delay = Math.min(delay * 2, maxMs);
    }
  };

  const rpc = await startRpcServer(o.listen, backend, o.security);
  const loops = members.map((m) => follow(m));
  return {
    rpc,
    backend,
    async stop() {
      controller.abort();
      for (const t of pending.values()) clearTimeout(t);
      await Promise.allSettled(loops);
      await rpc.close();
    },
  };
}
