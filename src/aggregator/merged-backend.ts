/**
 * The aggregator's view: one store per collector, fed by its snapshot stream, merged at query
 * time. A degraded collector is left out of every answer (its contribution subtracted) until
 * its next snapshot reintegrates it.
 * @module
 */
import { Code, ConnectError } from '@connectrpc/connect';
import type { FileInfo, QueryBackend, SnapshotData, StatusInfo, TargetInfo } from '../rpc/backend.ts';
import type { Filter } from '../store/filter.ts';
import { type Store, selectTop, type TopEntry, type TopNQuery, type TrendPoint } from '../store/store.ts';
import type { Window } from '../store/windows.ts';

/** Minutes a snapshot subscriber may fall behind before it is dropped. */
const MAX_QUEUED = 60;

export interface Member {
  readonly address: string;
  source: string;
  state: 'up' | 'degraded';
  lastSnapshot: number;
  failures: number;
  readonly store: Store;
  files: FileInfo[];
  linesRead: number;
  parseErrors: number;
  droppedKeys: number;
  malformed: number;
}

export class MergedBackend implements QueryBackend {
  readonly source: string;
  readonly version: string;
  readonly members: Member[];
  readonly #started = Date.now();
  readonly #subscribers = new Set<(s: SnapshotData) => void>();
  readonly #recent: SnapshotData[] = [];

  constructor(source: string, version: string, members: Member[]) {
    this.source = source;
    this.version = version;
    this.members = members;
  }

  #up(): Member[] {
    return this.members.filter((m) => m.state === 'up');
  }

  topN(q: TopNQuery): TopEntry[] {
    const merged = new Map<string, { requests: number; bytes: number; time: number }>();
    for (const m of this.#up()) {
      for (const e of m.store.aggregateAll({
        groupBy: q.groupBy,
        window: q.window,
        ...(q.filter ? { filter: q.filter } : {}),
      })) {
        const cur = merged.get(e.label);
        if (cur) {
          cur.requests += e.requests;
          cur.bytes += e.bytes;
          cur.time += e.time;
        } else merged.set(e.label, { requests: e.requests, bytes: e.bytes, time: e.time });
      }
    }
    const labels = [...merged.keys()];
    const order = new Float64Array(labels.length);
    const key = q.orderBy ?? 'requests';
    labels.forEach((l, i) => {
      order[i] = (merged.get(l) as { requests: number; bytes: number; time: number })[key];
    });
    const ids = labels.map((_, i) => i);
    return selectTop(ids, order, q.n, (i) => labels[i] as string).map((i) => {
      const label = labels[i] as string;
      return { label, ...(merged.get(label) as { requests: number; bytes: number; time: number }) };
    });
  }

  trend(window: Window, filter: Filter): TrendPoint[] {
    const byStart = new Map<
      number,
      { start: number; span: number; requests: number; bytes: number; time: number }
    >();
    for (const m of this.#up()) {
      for (const p of m.store.trend(window, filter)) {
        if (p.requests === 0 && p.bytes === 0 && p.time === 0 && p.start >= m.lastSnapshot + 60) continue;
        const cur = byStart.get(p.start);
        if (cur) {
          cur.requests += p.requests;
          cur.bytes += p.bytes;
          cur.time += p.time;
        } else byStart.set(p.start, { ...p });
      }
    }
    return [...byStart.values()].sort((a, b) => a.start - b.start);
  }

  /** Called by the members' streams with each completed minute, already merged per minute. */
  publish(s: SnapshotData): void {
    this.#recent.push(s);
    if (this.#recent.length > 60) this.#recent.shift();
    for (const f of this.#subscribers) f(s);
  }

  async *snapshots(backfill: boolean, signal: AbortSignal): AsyncIterable<SnapshotData> {
    const queue: SnapshotData[] = backfill ? [...this.#recent] : [];
    let wake: (() => void) | undefined;
    // A subscriber that stops reading is dropped once it is an hour behind, not buffered forever.
    let overflow = false;
    const sub = (s: SnapshotData) => {
      if (queue.length >= MAX_QUEUED) {
        overflow = true;
        queue.length = 0;
      } else queue.push(s);
      wake?.();
    };
    this.#subscribers.add(sub);
    const aborted = new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    try {
      while (!signal.aborted) {
        if (overflow) {
          throw new ConnectError(
            `subscriber more than ${MAX_QUEUED} minutes behind; reconnect`,
            Code.ResourceExhausted,
          );
        }
        const s = queue.shift();
        if (s) {
          yield s;
          continue;
        }
        await Promise.race([new Promise<void>((r) => (wake = r)), aborted]);
        wake = undefined;
      }
    } finally {
      this.#subscribers.delete(sub);
    }
  }

  targets(): TargetInfo[] {
    return this.members.map((m) => ({
      source: m.source,
      address: m.address,
      state: m.state,
      lastSnapshot: m.lastSnapshot,
      failures: m.failures,
    }));
  }

  status(): StatusInfo {
    const up = this.#up();
    const sum = (f: (m: Member) => number) => up.reduce((n, m) => n + f(m), 0);
    return {
      source: this.source,
      version: this.version,
      uptimeSeconds: (Date.now() - this.#started) / 1000,
      files: up.flatMap((m) => m.files.map((f) => ({ ...f, path: `${m.source}:${f.path}` }))),
      linesRead: sum((m) => m.linesRead),
      parseErrors: sum((m) => m.parseErrors),
      droppedKeys: sum((m) => m.droppedKeys),
      malformed: sum((m) => m.malformed),
      targets: this.targets(),
      syslogDatagrams: 0,
      syslogLines: 0,
    };
  }
}
