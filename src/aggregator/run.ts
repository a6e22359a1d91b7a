/**
 * The aggregator program: follow every collector's snapshot stream (with backfill, reconnect
 * with exponential backoff, degrade after 3 consecutive failures), merge, and serve the same
 * LogtallyService, so it can itself be aggregated.
 * @module
 */
import { hostname } from 'node:os';
import { connectionsPerListener } from '../daemon.ts';
import { LogtallyError } from '../format/errors.ts';
import type { StatusResponse } from '../gen/logtally/v1/logtally_pb.ts';
import { createLogtallyClient } from '../rpc/client.ts';
import { decodeColumns } from '../rpc/columns.ts';
import { HealthState } from '../rpc/health.ts';
import { SnapshotAssembler } from '../rpc/message-size.ts';
import type { RpcSecurity } from '../rpc/security.ts';
import { type RpcServer, startRpcServer } from '../rpc/server.ts';
import { type HistoryFlagOptions, type HistoryWriter, historyFromFlags } from '../store/history/index.ts';
import { MergedStore, type MergeOutcome } from '../store/merged-store.ts';
import { RemoteDictionary } from '../store/remote-dictionary.ts';
import { type Member, MergedBackend, newMember } from './merged-backend.ts';

/** With `history`, every published minute (and later changes to it) goes to the sink. */
export interface AggregatorOptions extends HistoryFlagOptions {
  listen: string;
  collectors: readonly string[];
  source?: string;
  version: string;
  log: (line: string) => void;
  /** Reconnect backoff: first delay and cap, ms (default 100 → 30 000). */
  backoff?: { initialMs: number; maxMs: number };
  /** Consecutive failures before a collector is degraded (default 3). */
  degradeAfter?: number;
  /** How long a merged minute waits for every collector that is up before it is sealed (ms, default 15 000). */
  minuteGraceMs?: number;
  /** TLS and bearer token, for the listener and for the connections to collectors. */
  security?: RpcSecurity;
  /** How long a sealed minute waits for late collectors before it is published (ms, default 60 000). */
  settleMs?: number;
  /** Values a collector's stream dictionary may hold before the stream is renewed. */
  dictionaryLimit?: number;
  /** How often a connected collector's Status (lines read, files) is asked for again (ms, default 10 000). */
  statusRefreshMs?: number;
}

/** Default period of the Status refresh of a connected collector. */
export const STATUS_REFRESH_MS = 10_000;

/** Default bound of a stream's dictionary: a few minutes of a busy collector's vocabulary. */
export const DICTIONARY_LIMIT = 250_000;

export interface RunningAggregator {
  readonly rpc: RpcServer;
  readonly backend: MergedBackend;
  readonly history?: HistoryWriter;
  stop(): Promise<void>;
}

export async function startAggregator(o: AggregatorOptions): Promise<RunningAggregator> {
  if (o.collectors.length === 0) {
    throw new LogtallyError('ERR_FORMAT_OPTION', 'aggregator: --collectors names no collector');
  }
  const source = o.source || hostname();
  const members = o.collectors.map(newMember);
  const store = new MergedStore({
    graceMs: o.minuteGraceMs ?? 15_000,
    ...(o.settleMs !== undefined ? { settleMs: o.settleMs } : {}),
  });
  const history = await historyFromFlags(o, { source, log: o.log });
  // Published minutes (and amendments to them: late data, withdrawn members) go to the sink.
  history?.follow(store);
  const backend = new MergedBackend(source, o.version, members, store, history);
  const controller = new AbortController();
  const { initialMs, maxMs } = o.backoff ?? { initialMs: 100, maxMs: 30_000 };
  const degradeAfter = o.degradeAfter ?? 3;
  const seal = () => store.seal(members.filter((m) => m.state === 'up').map((m) => m.address));
  // Minutes waiting for a collector that stays silent are sealed after the grace time.
  const sealTimer = setInterval(seal, Math.max(50, Math.min(1000, o.minuteGraceMs ?? 1000)));
  sealTimer.unref();
  const warned = new Set<string>();
  // SERVING while some collector is up and has answered since it last failed.
  const health = new HealthState(false);
  const answered = new Set<Member>();
  const updateHealth = () => health.set(members.some((m) => m.state === 'up' && answered.has(m)));

  const follow = async (m: Member) => {
    const client = createLogtallyClient(m.address, '--collectors', o.security);
    let delay = initialMs;
    const fail = (why: string) => {
      m.failures++;
      answered.delete(m);
      updateHealth();
      if (m.failures >= degradeAfter && m.state === 'up') {
        m.state = 'degraded';
        const minute = store.withdraw(m.address);
        const what =
          minute === undefined
            ? 'it had sent no minute'
            : `its last minute (${new Date(minute * 1000).toISOString().slice(11, 16)} UTC) is subtracted until it is back`;
        o.log(`${m.address}: degraded after ${m.failures} consecutive failures (${why}); ${what}`);
        seal();
      } else if (m.failures <= degradeAfter) {
        o.log(`${m.address}: ${why}; retrying in ${delay} ms`);
      }
    };
    const applyStatus = (st: StatusResponse) => {
      m.source = st.source;
      m.files = st.files.map((f) => ({ ...f }));
      m.linesRead = st.linesRead;
      m.parseErrors = st.parseErrors;
      m.droppedKeys = st.droppedKeys;
      m.malformed = st.malformed;
    };
    // While the stream is open, the collector's figures (lines read, files) are asked for again
    // every statusRefreshMs: the targets view shows them, and a stream says nothing of them.
    let refreshing = false;
    const refresh = () => {
      if (refreshing || controller.signal.aborted) return;
      refreshing = true;
      client
        .status({}, { signal: controller.signal, timeoutMs: 10_000 })
        .then(applyStatus, () => {
          // The stream reports a collector that is gone; a missed refresh changes nothing.
        })
        .finally(() => {
          refreshing = false;
        });
    };
    while (!controller.signal.aborted) {
      try {
        applyStatus(await client.status({}, { signal: controller.signal, timeoutMs: 10_000 }));
        if (m.state === 'up') m.failures = 0;
        answered.add(m);
        updateHealth();
        // Keys arrive dictionary-coded: each value once per stream, ids after that. The
        // dictionary keeps every value it was sent alive, so past a bound the stream is renewed
        // (a new stream sends the values still in use again). A renewed or reconnected stream
        // backfills only what this aggregator has not taken from the collector yet.
        const dictionary = new RemoteDictionary(store.interners);
        let renew = false;
        const refresher = setInterval(refresh, o.statusRefreshMs ?? STATUS_REFRESH_MS);
        refresher.unref();
        try {
          const since = store.resumeFrom(m.address);
          const parts = new SnapshotAssembler();
          for await (const part of client.streamSnapshots(
            { backfill: true, columnar: true, since },
            { signal: controller.signal },
          )) {
            const s = parts.add(part);
            if (!s) continue;
            m.source = s.source;
            const totals = { requests: s.totalCount, bytes: s.totalBytes, time: s.totalTime };
            let outcome: MergeOutcome;
            if (s.amend)
              outcome = store.amend(m.address, s.start, s.entries, totals, s.subtract ? -1 : 1, s.span || 60);
            else if (s.columns) {
              dictionary.apply(s.columns.dictionary);
              const columns = decodeColumns(s.columns, (n) => store.columnBuffers(n));
              outcome = store.addColumns(m.address, dictionary, s.start, s.span, columns, totals);
            } else outcome = store.add(m.address, s.start, s.span, s.entries, totals);
            if (outcome !== 'added' && outcome !== 'duplicate' && !warned.has(`${m.address} ${outcome}`)) {
              warned.add(`${m.address} ${outcome}`);
              o.log(
                `${m.address}: snapshot ${s.start}+${s.span}s ignored (${ignoredReason(outcome)}); said once`,
              );
            }
            if (m.state === 'degraded') o.log(`${m.address}: back; reintegrated`);
            m.state = 'up';
            m.failures = 0;
            answered.add(m);
            updateHealth();
            delay = initialMs;
            if (s.span === 60) m.lastSnapshot = Math.max(m.lastSnapshot, s.start + 60);
            seal();
            // Renewed only once this stream moved the watermark on (else it would resend the same
            // history, reach the bound at the same place, and loop).
            if (
              dictionary.size > (o.dictionaryLimit ?? DICTIONARY_LIMIT) &&
              store.resumeFrom(m.address) > since
            ) {
              renew = true;
              break;
            }
          }
        } finally {
          clearInterval(refresher);
          dictionary.release();
        }
        if (renew) continue;
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

  let rpc: RpcServer;
  try {
    rpc = await startRpcServer(o.listen, backend, o.security, {
      maxConnections: connectionsPerListener(1),
      health,
    });
  } catch (e) {
    clearInterval(sealTimer);
    await history?.close();
    throw e;
  }
  const loops = members.map((m) => follow(m));
  return {
    rpc,
    backend,
    ...(history ? { history } : {}),
    async stop() {
      health.set(false);
      controller.abort();
      clearInterval(sealTimer);
      await Promise.allSettled(loops);
      await rpc.close();
      await history?.close();
    },
  };
}

function ignoredReason(outcome: string): string {
  switch (outcome) {
    case 'invalid':
      return 'span not 60 or 300 s, start not aligned to it, or a key id its dictionary never defined';
    case 'future':
      return "starts over 10 minutes after this host's clock";
    default:
      return "older than the aggregator's 24 hours";
  }
}
