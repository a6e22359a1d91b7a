/**
 * The distributed history sink: ClickHouse over HTTP through @clickhouse/client
 * (`--history clickhouse://HOST:8123/DB`, `--history-cluster NAME`). Works with ClickHouse
 * 18.16 (Debian's), so it uses nothing newer: no query parameters (values are bound as escaped
 * literals, never a client's text in the SQL otherwise), no TTL, no insert deduplication tokens.
 *
 * Tables in DB (schema version 1; minutes and hours are DateTime('UTC')):
 *   logtally_meta  (key String, value String)                TinyLog   -- schema_version = '1'
 *   minute_keys    (minute, website, prefix, uri, status UInt16, upstream, method,
 *                   requests Int64, bytes Float64, time Float64)
 *                  SummingMergeTree((requests, bytes, time)) PARTITION BY toYYYYMMDD(minute)
 *                  ORDER BY (website, status, minute, prefix, uri, upstream, method)
 *   minute_totals  (minute, requests, bytes, time)   SummingMergeTree, by day, ORDER BY minute
 *   hour_keys      as minute_keys by `hour`, fed by the materialized view hour_keys_mv
 *   hour_totals    as minute_totals by `hour`, fed by hour_totals_mv
 *   minute_writes  (source String, minute, seq Int64, part String)
 *                  MergeTree, by day, ORDER BY (minute, source, seq)        -- the idempotency ledger
 * With --history-cluster NAME, each of them but the meta also as `<table>_all`, a Distributed
 * table over the cluster's shards.
 *
 * ORDER BY: every query has a time range, and whole days of it are cut by the partitions; inside
 * a day the key serves the filters operators use most (website, then status), and `minute` third
 * keeps a day's rows of one website/status in time order so minute ranges at the ends of a range
 * still skip granules. The counts are not in the key, so SummingMergeTree folds the rows of
 * every write to one key and minute (a sealed minute, its late deltas, and the same key from
 * other collectors) into one row in the background; queries always sum, so unmerged parts never
 * change an answer. The source is not a column of the summed tables: the sink is a fleet view
 * (the rings answer per host).
 *
 * Writes go to the local tables of the server in the URL, also with a cluster: each writer
 * (collector or aggregator) is the shard key, every insert is synchronous and its success means
 * the data is on disk (a Distributed insert in 18.16 is queued on the receiving server and
 * forwarded later: acknowledged before it is stored where it belongs, so a retry could not know
 * whether to repeat it). Reads go through the Distributed tables, which ask every shard and sum.
 *
 * Idempotency: ClickHouse has no transaction over several inserts, so each table's rows of a
 * write are acknowledged on their own: the keys, then the ledger row (source, minute, seq,
 * 'keys'), then the totals and their ledger row ('totals'). A retry skips each part whose ledger
 * row is there, so a write that failed half way is completed, not doubled (and, as every sink,
 * a seal of a minute whose changes were written before it: see `unwritten`). Only a lost
 * acknowledgement between a part and its ledger row can still double that part: on a current
 * server use `insert_deduplication_token` with `non_replicated_deduplication_window` instead.
 * @module
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { DIM, OTHER_TEXT } from '../dimensions.ts';
import type { TopEntry, TrendPoint } from '../query.ts';
import {
  type HistoryEntry,
  HistoryError,
  type HistorySink,
  type HistoryTopNQuery,
  type HistoryTrendQuery,
  type HistoryUrl,
  type MinuteWrite,
  SCHEMA_VERSION,
  type TimeRange,
  unwritten,
} from './sink.ts';
import { type Bind, COLUMN, filterIsEmpty, otherLast, whereClause } from './sql.ts';

/** A ClickHouse string literal: quotes and backslashes escaped, control bytes as \xNN. */
export function literal(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}

const KEY_COLUMNS = `website String, prefix String, uri String, status UInt16, upstream String, method String,
  requests Int64, bytes Float64, time Float64`;
const KEY_ORDER = (t: string) => `(website, status, ${t}, prefix, uri, upstream, method)`;
const DAILY = (t: string) => `PARTITION BY toYYYYMMDD(${t})`;

/** The local tables and how to create them. */
const TABLES: [string, string][] = [
  [
    'minute_keys',
    `(minute DateTime('UTC'), ${KEY_COLUMNS}) ENGINE = SummingMergeTree((requests, bytes, time)) ${DAILY('minute')} ORDER BY ${KEY_ORDER('minute')}`,
  ],
  [
    'minute_totals',
    `(minute DateTime('UTC'), requests Int64, bytes Float64, time Float64) ENGINE = SummingMergeTree((requests, bytes, time)) ${DAILY('minute')} ORDER BY minute`,
  ],
  [
    'hour_keys',
    `(hour DateTime('UTC'), ${KEY_COLUMNS}) ENGINE = SummingMergeTree((requests, bytes, time)) ${DAILY('hour')} ORDER BY ${KEY_ORDER('hour')}`,
  ],
  [
    'hour_totals',
    `(hour DateTime('UTC'), requests Int64, bytes Float64, time Float64) ENGINE = SummingMergeTree((requests, bytes, time)) ${DAILY('hour')} ORDER BY hour`,
  ],
  [
    'minute_writes',
    `(source String, minute DateTime('UTC'), seq Int64, part String) ENGINE = MergeTree() ${DAILY('minute')} ORDER BY (minute, source, seq)`,
  ],
];

const VIEWS: [string, string][] = [
  [
    'hour_keys_mv',
    'TO hour_keys AS SELECT toStartOfHour(minute) AS hour, website, prefix, uri, status, upstream, method, requests, bytes, time FROM minute_keys',
  ],
  [
    'hour_totals_mv',
    'TO hour_totals AS SELECT toStartOfHour(minute) AS hour, requests, bytes, time FROM minute_totals',
  ],
];

/** Ranges longer than this read whole hours from the hourly rollup. */
export const HOURLY_AFTER_SECONDS = 7 * 86_400;

export class ClickHouseSink implements HistorySink {
  readonly description: string;
  readonly #client: ClickHouseClient;
  readonly #db: string;
  readonly #cluster: string | undefined;

  private constructor(
    description: string,
    client: ClickHouseClient,
    db: string,
    cluster: string | undefined,
  ) {
    this.description = description;
    this.#client = client;
    this.#db = db;
    this.#cluster = cluster;
  }

  /**
   * Opens the sink and creates its schema. A server that does not answer (refused, unreachable,
   * timed out) does not stop the start: with `log`, that is said and the schema is created
   * before the first write or query that reaches it (until then they fail, and the writer queues
   * the minutes); a server that answers and refuses (a schema of a newer logtally, no such
   * cluster, bad credentials) is an error.
   */
  static async open(
    u: Extract<HistoryUrl, { kind: 'clickhouse' }>,
    cluster?: string,
    log?: (line: string) => void,
  ): Promise<ClickHouseSink> {
    if (cluster !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(cluster))
      throw new HistoryError(`--history-cluster: a cluster name (letters, digits, _), got "${cluster}"`);
    const { createClient, ClickHouseLogLevel } = await import('@clickhouse/client');
    const description = `clickhouse://${u.url.replace(/^https?:\/\//, '')}/${u.database}${cluster ? ` (cluster ${cluster})` : ''}`;
    const client = createClient({
      url: u.url,
      ...(u.username ? { username: u.username } : {}),
      ...(u.password ? { password: u.password } : {}),
      request_timeout: 60_000,
      application: 'logtally',
      log: { level: ClickHouseLogLevel.OFF },
    });
    const sink = new ClickHouseSink(description, client, u.database, cluster);
    try {
      await sink.#ready();
    } catch (e) {
      if (log && !(e instanceof HistoryError) && unreachable(e)) {
        log(
          `history ${description}: the server does not answer (${(e as Error).message}); starting without it: completed minutes are queued and written (the schema created first) once it answers`,
        );
        return sink;
      }
      await client.close();
      if (e instanceof HistoryError) throw e;
      throw new HistoryError(`--history ${description}: ${(e as Error).message}`);
    }
    return sink;
  }

  /** The schema is in place (checked and created once per process). */
  #prepared = false;
  #preparing: Promise<void> | undefined;

  async #ready(): Promise<void> {
    if (this.#prepared) return;
    this.#preparing ??= this.#prepare()
      .then(() => {
        this.#prepared = true;
      })
      .finally(() => {
        this.#preparing = undefined;
      });
    await this.#preparing;
  }

  #t(table: string): string {
    return `${this.#db}.${table}`;
  }

  /** The table queries read: the Distributed one with a cluster. */
  #read(table: string): string {
    return this.#t(this.#cluster ? `${table}_all` : table);
  }

  async #command(query: string): Promise<void> {
    await this.#client.command({ query });
  }

  async #rows<T>(query: string): Promise<T[]> {
    const r = await this.#client.query({ query, format: 'JSONEachRow' });
    return r.json<T>();
  }

  async #prepare(): Promise<void> {
    await this.#command(`CREATE DATABASE IF NOT EXISTS ${this.#db}`);
    const existing = new Set(
      (
        await this.#rows<{ name: string }>(
          `SELECT name FROM system.tables WHERE database = ${literal(this.#db)}`,
        )
      ).map((r) => r.name),
    );
    if (existing.has('logtally_meta')) {
      const versions = (
        await this.#rows<{ value: string }>(
          `SELECT DISTINCT value FROM ${this.#t('logtally_meta')} WHERE key = 'schema_version'`,
        )
      ).map((r) => r.value);
      const v = Number(versions[0]);
      if (versions.length !== 1 || v !== SCHEMA_VERSION) {
        throw new HistoryError(
          Number.isInteger(v) && v > SCHEMA_VERSION && versions.length === 1
            ? `--history ${this.description}: written by a newer logtally (schema ${v}; this one reads schema ${SCHEMA_VERSION}); upgrade logtally or use another database`
            : `--history ${this.description}: unknown logtally schema version(s) ${JSON.stringify(versions)} (this logtally reads schema ${SCHEMA_VERSION}); use another database`,
        );
      }
    } else {
      const ours = [...TABLES.map(([t]) => t), ...VIEWS.map(([t]) => t)].filter((t) => existing.has(t));
      if (ours.length > 0)
        throw new HistoryError(
          `--history ${this.description}: has ${ours.join(', ')} but no logtally_meta: not a logtally history database; use another database`,
        );
      await this.#command(
        `CREATE TABLE IF NOT EXISTS ${this.#t('logtally_meta')} (key String, value String) ENGINE = TinyLog`,
      );
      await this.#command(
        `INSERT INTO ${this.#t('logtally_meta')} VALUES ('schema_version', ${literal(String(SCHEMA_VERSION))})`,
      );
    }
    for (const [name, def] of TABLES)
      await this.#command(`CREATE TABLE IF NOT EXISTS ${this.#t(name)} ${def}`);
    for (const [name, def] of VIEWS)
      await this.#command(
        `CREATE MATERIALIZED VIEW IF NOT EXISTS ${this.#t(name)} ${def.replace(/\b(hour_keys|hour_totals|minute_keys|minute_totals)\b/g, (t) => this.#t(t))}`,
      );
    if (this.#cluster) {
      const clusters = await this.#rows<{ n: string }>(
        `SELECT count() AS n FROM system.clusters WHERE cluster = ${literal(this.#cluster)}`,
      );
      if (Number(clusters[0]?.n ?? 0) === 0)
        throw new HistoryError(
          `--history-cluster: the server has no cluster "${this.#cluster}" in its remote_servers configuration`,
        );
      for (const [name] of TABLES)
        await this.#command(
          `CREATE TABLE IF NOT EXISTS ${this.#t(`${name}_all`)} AS ${this.#t(name)} ENGINE = Distributed(${this.#cluster}, ${this.#db}, ${name})`,
        );
    }
  }

  async write(batch: readonly MinuteWrite[]): Promise<void> {
    if (batch.length === 0) return;
    await this.#ready();
    const minutes = batch.map((w) => w.minute);
    const ledger = await this.#rows<{ source: string; m: number; seq: string; part: string }>(
      `SELECT source, toUInt32(minute) AS m, seq, part FROM ${this.#t('minute_writes')}
       WHERE minute >= toDateTime(${Math.min(...minutes)}) AND minute <= toDateTime(${Math.max(...minutes)})`,
    );
    const parts: [string, string, (ws: readonly MinuteWrite[]) => Record<string, string | number>[]][] = [
      ['keys', 'minute_keys', keyRows],
      [
        'totals',
        'minute_totals',
        (ws) =>
          ws.map((w) => ({
            minute: w.minute,
            requests: Math.round(w.totals.requests),
            bytes: w.totals.bytes,
            time: w.totals.time,
          })),
      ],
    ];
    for (const [part, table, rows] of parts) {
      // Each part on its own ledger rows: a write that stored its keys but not its totals is
      // completed, whatever else of its minute is there.
      const fresh = unwritten(
        batch,
        ledger
          .filter((r) => r.part === part)
          .map((r) => ({ source: r.source, minute: Number(r.m), seq: Number(r.seq) })),
      );
      if (fresh.length === 0) continue;
      const values = rows(fresh);
      if (values.length > 0)
        await this.#client.insert({ table: this.#t(table), format: 'JSONEachRow', values });
      await this.#client.insert({
        table: this.#t('minute_writes'),
        format: 'JSONEachRow',
        values: fresh.map((w) => ({ source: w.source, minute: w.minute, seq: w.seq, part })),
      });
    }
  }

  /**
   * The SELECT of `columns` over the range from minute and hour tables: whole hours from the
   * hourly rollup when the range is longer than 7 days, the minutes at its ends from the minutes.
   */
  #source(
    range: TimeRange,
    where: (r: TimeRange, t: string) => string,
    keys: boolean,
    columns: string,
  ): string {
    const minutes = this.#read(keys ? 'minute_keys' : 'minute_totals');
    const hours = this.#read(keys ? 'hour_keys' : 'hour_totals');
    const parts: string[] = [];
    const sel = (table: string, r: TimeRange, t: string) =>
      `SELECT ${columns.replace(/\bTS\b/g, t)} FROM ${table} WHERE ${where(r, t)}`;
    const h0 = Math.ceil(range.from / 3600) * 3600;
    const h1 = Math.floor(range.to / 3600) * 3600;
    if (range.to - range.from > HOURLY_AFTER_SECONDS && h1 > h0) {
      if (range.from < h0) parts.push(sel(minutes, { from: range.from, to: h0 }, 'minute'));
      parts.push(sel(hours, { from: h0, to: h1 }, 'hour'));
      if (h1 < range.to) parts.push(sel(minutes, { from: h1, to: range.to }, 'minute'));
    } else parts.push(sel(minutes, range, 'minute'));
    return parts.join(' UNION ALL ');
  }

  #where(filter: HistoryTopNQuery['filter']): (r: TimeRange, t: string) => string {
    const bind: Bind = (v, type) => (type === 'int' ? String(Math.trunc(Number(v))) : literal(String(v)));
    return (r, t) => whereClause(r, filter, bind, 'match', t, (v) => `toDateTime(${Math.trunc(v)})`);
  }

  async topN(q: HistoryTopNQuery): Promise<TopEntry[]> {
    await this.#ready();
    const col = COLUMN[q.groupBy];
    const inner = this.#source(
      q.range,
      this.#where(q.filter),
      true,
      `${q.groupBy === 'status' ? `toString(${col})` : col} AS label, requests, bytes, time`,
    );
    const order = q.orderBy === 'bytes' ? 'b' : q.orderBy === 'time' ? 't' : 'r';
    const rows = await this.#rows<{ label: string; r: string; b: number; t: number }>(
      `SELECT label, sum(requests) AS r, sum(bytes) AS b, sum(time) AS t FROM (${inner})
       GROUP BY label HAVING r != 0 ORDER BY (label = ${literal(OTHER_TEXT)}) DESC, ${order} DESC, label ASC
       LIMIT ${Math.trunc(q.n) + 1}`,
    );
    return otherLast(
      rows.map((r) => ({
        label: r.label,
        requests: Number(r.r),
        bytes: Number(r.b),
        time: Number(r.t),
      })),
      q.n,
    );
  }

  async trend(q: HistoryTrendQuery): Promise<TrendPoint[]> {
    await this.#ready();
    const span = Math.trunc(q.span);
    const keys = !filterIsEmpty(q.filter);
    const inner = this.#source(
      q.range,
      this.#where(q.filter),
      keys,
      `intDiv(toUInt32(TS), ${span}) * ${span} AS start, requests, bytes, time`,
    );
    const rows = await this.#rows<{ start: string; r: string; b: number; t: number }>(
      `SELECT start, sum(requests) AS r, sum(bytes) AS b, sum(time) AS t FROM (${inner}) GROUP BY start ORDER BY start`,
    );
    return rows.map((r) => ({
      start: Number(r.start),
      span,
      requests: Number(r.r),
      bytes: Number(r.b),
      time: Number(r.t),
    }));
  }

  /** Drops the whole days before the day of `before` (partitions; works without TTL). */
  async expire(before: number): Promise<void> {
    await this.#ready();
    const day = Number(new Date(before * 1000).toISOString().slice(0, 10).replaceAll('-', ''));
    const parts = await this.#rows<{ table: string; partition: string }>(
      `SELECT DISTINCT table, partition FROM system.parts WHERE database = ${literal(this.#db)} AND active
       AND table IN (${TABLES.map(([t]) => literal(t)).join(', ')})`,
    );
    for (const p of parts) {
      const v = Number(p.partition.replace(/'/g, ''));
      if (Number.isInteger(v) && v < day)
        await this.#command(`ALTER TABLE ${this.#t(p.table)} DROP PARTITION ${v}`);
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

/** A failure to reach the server at all (as opposed to an answer refusing the request). */
function unreachable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return (typeof code === 'string' && /^E[A-Z]+$/.test(code)) || /timeout/i.test((e as Error).message);
}

function keyRows(writes: readonly MinuteWrite[]): Record<string, string | number>[] {
  const out: Record<string, string | number>[] = [];
  for (const w of writes)
    for (const e of w.entries as readonly HistoryEntry[]) {
      const l = e.labels;
      const status = Number(l[DIM.status]);
      out.push({
        minute: w.minute,
        website: l[DIM.website] ?? '',
        prefix: l[DIM.prefix] ?? '',
        uri: l[DIM.uri] ?? '',
        status: Number.isInteger(status) && status >= 0 && status < 1000 ? status : 0,
        upstream: l[DIM.upstream] ?? '',
        method: l[DIM.method] ?? '',
        requests: Math.round(e.requests),
        bytes: e.bytes,
        time: e.time,
      });
    }
  return out;
}
