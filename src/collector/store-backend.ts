/**
 * QueryBackend over a collector's Store.
 * @module
 */
import type { FileInfo, HistoryQueries, StatusInfo, TargetInfo } from '../rpc/backend.ts';
import { BucketStoreBackend } from '../rpc/bucket-backend.ts';
import type { Store } from '../store/store.ts';

export interface IngestCounters {
  files(): FileInfo[];
  linesRead: number;
  parseErrors: number;
  syslogDatagrams: number;
  syslogLines: number;
  /** The state file's saves (with --state-file). */
  state?(): { saveFailures: number; lastError: string; lastSaved: number } | undefined;
}

export class StoreBackend extends BucketStoreBackend<Store> {
  readonly ingest: IngestCounters;

  constructor(
    store: Store,
    source: string,
    version: string,
    ingest: IngestCounters,
    history?: HistoryQueries,
  ) {
    super(store, source, version, history);
    this.ingest = ingest;
  }

  targets(): TargetInfo[] {
    return [{ source: this.source, address: '', state: 'up', lastSnapshot: 0, failures: 0 }];
  }

  status(): StatusInfo {
    const st = this.store.stats();
    return {
      source: this.source,
      version: this.version,
      uptimeSeconds: (Date.now() - this.started) / 1000,
      files: this.ingest.files(),
      linesRead: this.ingest.linesRead,
      parseErrors: this.ingest.parseErrors,
      droppedKeys: st.droppedKeys,
      malformed: st.malformed,
      targets: this.targets(),
      syslogDatagrams: this.ingest.syslogDatagrams,
      syslogLines: this.ingest.syslogLines,
      ...(this.history ? { history: this.history.stats() } : {}),
      ...(() => {
        const state = this.ingest.state?.();
        return state ? { state } : {};
      })(),
      linesTooOld: st.tooOld,
    };
  }
}
