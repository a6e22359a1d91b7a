/**
 * History sinks: where a collector or an aggregator keeps its completed minutes beyond the
 * rings' 24 hours (DuckDB, one embedded file; or ClickHouse, one server or a cluster), and the
 * queries they answer over any range.
 *
 * A minute is written once when it is sealed (`seq` 0) and every later change to it (late lines,
 * an aggregator's amendment or withdrawal) as additional delta rows (`seq` 1, 2, …; counts may
 * be negative). Readers always sum, so a minute's value is the sum of its writes. `(source,
 * minute, seq)` identifies a write: a sink skips a write it already holds, so a retry after a
 * timeout does not double it (where the engine allows; see each sink), and a seal of a minute
 * whose changes its source wrote first is skipped (see `unwritten`).
 * @module
 */
import { LogtallyError } from '../../format/errors.ts';
import type { Dimension, Order } from '../dimensions.ts';
import type { Filter } from '../filter.ts';
import type { TopEntry, TrendPoint } from '../query.ts';

/** One key of a minute with its counts (labels in dimension order). */
export interface HistoryEntry {
  readonly labels: readonly string[];
  readonly requests: number;
  readonly bytes: number;
  readonly time: number;
}

/** One write: a sealed minute (seq 0) or a delta to it (seq ≥ 1). */
export interface MinuteWrite {
  readonly source: string;
  /** Minute start, epoch seconds. */
  readonly minute: number;
  readonly seq: number;
  /**
   * A seal's time, in milliseconds after the minute's start (a change's seq is the same measure):
   * orders it among the changes of its minute. Absent in writes queued by an older logtally.
   */
  readonly at?: number;
  readonly entries: readonly HistoryEntry[];
  /** Totals over everything the minute saw (kept keys or not). */
  readonly totals: { readonly requests: number; readonly bytes: number; readonly time: number };
}

/** A write a sink already holds (a row of its ledger). */
export interface LedgerRow {
  readonly source: string;
  readonly minute: number;
  readonly seq: number;
}

/**
 * The writes of `batch` a sink must store, in order, given the ledger rows it holds for the
 * batch's minutes: not a write it holds or that comes earlier in the batch (a retry, or the same
 * write queued twice), and not a seal (seq 0) of a minute its source changed before sealing it:
 * one with a change in the ledger, or in the batch from before the seal's time. A minute that had
 * nothing when it was first published (or was published behind a later one) reaches the sink as
 * changes only; a restarted aggregator re-takes it whole from its collectors and seals it again,
 * and that seal would count those changes twice. (A seal is always written before its own
 * changes; a queue on disk sorts a minute's writes by seq, so order in the batch says nothing.)
 */
export function unwritten<W extends MinuteWrite>(batch: readonly W[], held: Iterable<LedgerRow>): W[] {
  const done = new Set<string>();
  // Per source and minute: the earliest change known (-Infinity: one is written already).
  const changed = new Map<string, number>();
  const change = (minute: string, seq: number) => {
    changed.set(minute, Math.min(changed.get(minute) ?? Infinity, seq));
  };
  for (const r of held) {
    done.add(`${r.source}\n${r.minute}\n${r.seq}`);
    if (r.seq !== 0) change(`${r.source}\n${r.minute}`, -Infinity);
  }
  for (const w of batch) if (w.seq !== 0) change(`${w.source}\n${w.minute}`, w.seq);
  const out: W[] = [];
  for (const w of batch) {
    const key = `${w.source}\n${w.minute}\n${w.seq}`;
    if (done.has(key)) continue;
    if (w.seq === 0 && (changed.get(`${w.source}\n${w.minute}`) ?? Infinity) < (w.at ?? 0)) continue;
    done.add(key);
    out.push(w);
  }
  return out;
}

/** A half-open time range [from, to), epoch seconds, aligned to minutes. */
export interface TimeRange {
  readonly from: number;
  readonly to: number;
}

export interface HistoryTopNQuery {
  readonly range: TimeRange;
  readonly filter: Filter;
  readonly groupBy: Dimension;
  readonly n: number;
  readonly orderBy: Order;
}

export interface HistoryTrendQuery {
  readonly range: TimeRange;
  readonly filter: Filter;
  /** Bucket length, seconds (60, 300 or 3600). */
  readonly span: number;
}

export interface HistorySink {
  /** `duckdb:/path` or `clickhouse://host:8123/db` (without credentials). */
  readonly description: string;
  /** Writes minutes (one transaction / one insert per table); writes already held are skipped. */
  write(batch: readonly MinuteWrite[]): Promise<void>;
  /** Top `n` groups over the range; ties by label, as the rings rank. */
  topN(q: HistoryTopNQuery): Promise<TopEntry[]>;
  /**
   * One point per `span` in the range that holds data. Unfiltered: the minutes' totals
   * (everything seen); filtered: the sums of the kept keys that match (as the rings do).
   */
  trend(q: HistoryTrendQuery): Promise<TrendPoint[]>;
  /** Deletes everything before `before` (epoch seconds; a sink may round down to its partitions). */
  expire(before: number): Promise<void>;
  close(): Promise<void>;
}

/** The schema version this logtally writes and reads. */
export const SCHEMA_VERSION = 1;

/**
 * Thrown for a database logtally cannot use (wrong schema, unreachable at start, …) or a bad
 * `--history*` flag: a start-up error like a bad flag (one line, exit status 2).
 */
export class HistoryError extends LogtallyError {
  constructor(message: string) {
    super('ERR_FORMAT_OPTION', message);
    this.name = 'HistoryError';
  }
}

/** `30d`, `12h`, `90m`, `1w` → seconds. */
export function parseDuration(s: string, flag: string): number {
  const m = /^\s*(\d+)\s*(m|h|d|w)\s*$/.exec(s);
  const unit = { m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
  if (!m) throw new HistoryError(`${flag}: expected a duration such as 30d, 12h or 2w, got "${s}"`);
  const v = Number(m[1]) * unit[m[2] as keyof typeof unit];
  if (v < 3600) throw new HistoryError(`${flag}: at least 1h, got "${s}"`);
  return v;
}

export type HistoryUrl =
  | { readonly kind: 'duckdb'; readonly path: string }
  | {
      readonly kind: 'clickhouse';
      /** http(s)://host:port, without credentials. */
      readonly url: string;
      readonly database: string;
      readonly username?: string;
      readonly password?: string;
    };

/** Parses `--history`: `duckdb:PATH` or `clickhouse://[user[:password]@]HOST:PORT/DB` (https: `clickhouses://`). */
export function parseHistoryUrl(s: string, flag = '--history'): HistoryUrl {
  if (s.startsWith('duckdb:')) {
    const path = s.slice('duckdb:'.length);
    if (path === '' || path === ':memory:')
      throw new HistoryError(`${flag}: duckdb: needs a file path (duckdb:/var/lib/logtally/history.duckdb)`);
    return { kind: 'duckdb', path };
  }
  const m = /^(clickhouses?):\/\//.exec(s);
  if (m) {
    let u: URL;
    try {
      u = new URL(`${m[1] === 'clickhouses' ? 'https' : 'http'}://${s.slice(m[0].length)}`);
    } catch {
      throw new HistoryError(`${flag}: not a valid URL: "${s}"`);
    }
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database))
      throw new HistoryError(
        `${flag}: name the database after the host, as in clickhouse://host:8123/logtally (letters, digits, _), got "${s}"`,
      );
    const port = u.port || (m[1] === 'clickhouses' ? '8443' : '8123');
    return {
      kind: 'clickhouse',
      url: `${u.protocol}//${u.hostname}:${port}`,
      database,
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    };
  }
  throw new HistoryError(
    `${flag}: expected duckdb:PATH or clickhouse://HOST:8123/DB, got "${s.replace(/\/\/[^@/]*@/, '//…@')}"`,
  );
}
