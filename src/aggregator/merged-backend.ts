/**
 * The aggregator's QueryBackend: one merged store for the whole fleet (see MergedStore) and
 * what is known of each member (state, failures, its last Status).
 * @module
 */
import type { FileInfo, HistoryQueries, StatusInfo, TargetInfo } from '../rpc/backend.ts';
import { BucketStoreBackend } from '../rpc/bucket-backend.ts';
import type { MergedStore } from '../store/merged-store.ts';

export interface Member {
  /** host:port, also the member's key in the merged store. */
  readonly address: string;
  source: string;
  state: 'up' | 'degraded';
  /** End of its newest minute received (epoch seconds; 0: none yet). */
  lastSnapshot: number;
  failures: number;
  files: FileInfo[];
  linesRead: number;
  parseErrors: number;
  droppedKeys: number;
  malformed: number;
}

export function newMember(address: string): Member {
  return {
    address,
    source: address,
    state: 'up',
    lastSnapshot: 0,
    failures: 0,
    files: [],
    linesRead: 0,
    parseErrors: 0,
    droppedKeys: 0,
    malformed: 0,
  };
}

export class MergedBackend extends BucketStoreBackend<MergedStore> {
  readonly members: Member[];

  constructor(
    source: string,
    version: string,
    members: Member[],
    store: MergedStore,
    history?: HistoryQueries,
  ) {
    super(store, source, version, history);
    this.members = members;
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
    const up = this.members.filter((m) => m.state === 'up');
    const sum = (f: (m: Member) => number) => up.reduce((n, m) => n + f(m), 0);
    return {
      source: this.source,
      version: this.version,
      uptimeSeconds: (Date.now() - this.started) / 1000,
      files: up.flatMap((m) => m.files.map((f) => ({ ...f, path: `${m.source}:${f.path}` }))),
      linesRead: sum((m) => m.linesRead),
      parseErrors: sum((m) => m.parseErrors),
      droppedKeys: sum((m) => m.droppedKeys) + this.store.droppedKeys,
      malformed: sum((m) => m.malformed),
      targets: this.targets(),
      syslogDatagrams: 0,
      syslogLines: 0,
      ...(this.history ? { history: this.history.stats() } : {}),
    };
  }
}
