/**
 * The embedded history sink: one DuckDB file, no server (`--history duckdb:PATH`).
 *
 * Tables (schema version 1):
 *   logtally_meta  (key VARCHAR PRIMARY KEY, value VARCHAR)         -- schema_version = '1'
 *   minute_keys    (minute BIGINT, source VARCHAR, website VARCHAR, prefix VARCHAR, uri VARCHAR,
 *                   status USMALLINT, upstream VARCHAR, method VARCHAR,
 *                   requests BIGINT, bytes DOUBLE, time DOUBLE)     -- kept keys, and deltas
 *   minute_totals  (minute BIGINT, source VARCHAR, requests BIGINT, bytes DOUBLE, time DOUBLE)
 *   minute_writes  (source VARCHAR, minute BIGINT, seq BIGINT, written_at BIGINT,
 *                   PRIMARY KEY (source, minute, seq))             -- idempotency ledger
 * Minutes are epoch seconds. Rows arrive in time order, so DuckDB's per-row-group min/max of
 * `minute` skips everything outside a query's range without an index. Deltas are plain rows;
 * queries sum. A write is one transaction: its ledger row and its rows commit together, and a
 * write whose ledger row exists is skipped (a retry never doubles).
 * @module
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { DIM, OTHER_TEXT } from '../dimensions.ts';
import type { TopEntry, TrendPoint } from '../query.ts';
import {
  HistoryError,
  type HistorySink,
  type HistoryTopNQuery,
  type HistoryTrendQuery,
  type MinuteWrite,
  SCHEMA_VERSION,
  unwritten,
} from './sink.ts';
import { type Bind, COLUMN, filterIsEmpty, otherLast, whereClause } from './sql.ts';

const TABLES = ['minute_keys', 'minute_totals', 'minute_writes'];

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS minute_keys (minute BIGINT NOT NULL, source VARCHAR NOT NULL,
     website VARCHAR NOT NULL, prefix VARCHAR NOT NULL, uri VARCHAR NOT NULL, status USMALLINT NOT NULL,
     upstream VARCHAR NOT NULL, method VARCHAR NOT NULL,
     requests BIGINT NOT NULL, bytes DOUBLE NOT NULL, time DOUBLE NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS minute_totals (minute BIGINT NOT NULL, source VARCHAR NOT NULL,
     requests BIGINT NOT NULL, bytes DOUBLE NOT NULL, time DOUBLE NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS minute_writes (source VARCHAR NOT NULL, minute BIGINT NOT NULL,
     seq BIGINT NOT NULL, written_at BIGINT NOT NULL, PRIMARY KEY (source, minute, seq))`,
];

export class DuckDBSink implements HistorySink {
  readonly description: string;
  readonly #db: DuckDBInstance;
  readonly #conn: DuckDBConnection;
  /** One statement at a time on the connection (a write's transaction must not interleave). */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, db: DuckDBInstance, conn: DuckDBConnection) {
    this.description = `duckdb:${path}`;
    this.#db = db;
    this.#conn = conn;
  }

  /** Opens (creating if needed) the file and its schema; refuses a schema it does not know. */
  static async open(path: string): Promise<DuckDBSink> {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    let db: DuckDBInstance;
    try {
      db = await DuckDBInstance.create(path);
    } catch (e) {
      throw new HistoryError(`--history duckdb:${path}: cannot open: ${(e as Error).message}`);
    }
    const conn = await db.connect();
    const sink = new DuckDBSink(path, db, conn);
    try {
      await sink.#prepare(path);
    } catch (e) {
      conn.closeSync();
      db.closeSync();
      throw e;
    }
    return sink;
  }

  async #prepare(path: string): Promise<void> {
    const c = this.#conn;
    const tables = new Set(
      (await c.runAndReadAll(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'`))
        .getRowObjectsJS()
        .map((r) => String(r.table_name)),
    );
    if (tables.has('logtally_meta')) {
      const rows = (
        await c.runAndReadAll(`SELECT value FROM logtally_meta WHERE key = 'schema_version'`)
      ).getRowObjectsJS();
      const v = Number(rows[0]?.value);
      if (v !== SCHEMA_VERSION) {
        throw new HistoryError(
          Number.isInteger(v) && v > SCHEMA_VERSION
            ? `--history duckdb:${path}: written by a newer logtally (schema ${v}; this one reads schema ${SCHEMA_VERSION}); upgrade logtally or use another file`
            : `--history duckdb:${path}: unknown logtally schema version "${rows[0]?.value ?? ''}" (this logtally reads schema ${SCHEMA_VERSION}); move the file aside to start a new history`,
        );
      }
    } else if (TABLES.some((t) => tables.has(t))) {
      throw new HistoryError(
        `--history duckdb:${path}: has ${TABLES.filter((t) => tables.has(t)).join(', ')} but no logtally_meta: not a logtally history file (or from a pre-release logtally); move it aside`,
      );
    }
    await c.run('BEGIN');
    try {
      await c.run(
        'CREATE TABLE IF NOT EXISTS logtally_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)',
      );
      for (const s of SCHEMA) await c.run(s);
      await c.run(
        `INSERT INTO logtally_meta VALUES ('schema_version', '${SCHEMA_VERSION}') ON CONFLICT DO NOTHING`,
      );
      await c.run('COMMIT');
    } catch (e) {
      await c.run('ROLLBACK');
      throw new HistoryError(`--history duckdb:${path}: cannot create the schema: ${(e as Error).message}`);
    }
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(f, f);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  write(batch: readonly MinuteWrite[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    return this.#serial(async () => {
      const c = this.#conn;
      await c.run('BEGIN');
      try {
        // Which of these writes the file already holds (a retry after a failed commit report).
        const minutes = batch.map((w) => w.minute);
        const rows = (
          await c.runAndReadAll(
            'SELECT source, minute, seq FROM minute_writes WHERE minute >= $1 AND minute <= $2',
            [Math.min(...minutes), Math.max(...minutes)],
          )
        ).getRowObjectsJS();
        const fresh = unwritten(
          batch,
          rows.map((r) => ({ source: String(r.source), minute: Number(r.minute), seq: Number(r.seq) })),
        );
        if (fresh.length > 0) {
          const now = BigInt(Math.floor(Date.now() / 1000));
          const writes = await c.createAppender('minute_writes');
          const totals = await c.createAppender('minute_totals');
          const keys = await c.createAppender('minute_keys');
          try {
            for (const w of fresh) {
              const minute = BigInt(w.minute);
              writes.appendVarchar(w.source);
              writes.appendBigInt(minute);
              writes.appendBigInt(BigInt(w.seq));
              writes.appendBigInt(now);
              writes.endRow();
              totals.appendBigInt(minute);
              totals.appendVarchar(w.source);
              totals.appendBigInt(BigInt(Math.round(w.totals.requests)));
              totals.appendDouble(w.totals.bytes);
              totals.appendDouble(w.totals.time);
              totals.endRow();
              appendKeys(keys, w, minute);
            }
            writes.flushSync();
            totals.flushSync();
            keys.flushSync();
          } finally {
            writes.closeSync();
            totals.closeSync();
            keys.closeSync();
          }
        }
        await c.run('COMMIT');
      } catch (e) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  topN(q: HistoryTopNQuery): Promise<TopEntry[]> {
    return this.#serial(async () => {
      const params: (string | number)[] = [];
      const bind: Bind = (v) => {
        params.push(v);
        return `$${params.length}`;
      };
      const where = whereClause(q.range, q.filter, bind, 'regexp_matches');
      const col = COLUMN[q.groupBy];
      const label = q.groupBy === 'status' ? `CAST(${col} AS VARCHAR)` : col;
      const order = q.orderBy === 'bytes' ? 'b' : q.orderBy === 'time' ? 't' : 'r';
      // The residuals' entry first (then moved last), and the top n after it.
      const sql = `SELECT ${label} AS label, SUM(requests)::DOUBLE AS r, SUM(bytes) AS b, SUM(time) AS t
        FROM minute_keys WHERE ${where} GROUP BY ${col}
        HAVING SUM(requests) <> 0 ORDER BY (label = ${bind(OTHER_TEXT, 'string')}) DESC, ${order} DESC, label ASC
        LIMIT ${bind(q.n + 1, 'int')}`;
      const rows = (await this.#conn.runAndReadAll(sql, params)).getRowObjectsJS();
      return otherLast(
        rows.map((r) => ({
          label: String(r.label),
          requests: Number(r.r),
          bytes: Number(r.b),
          time: Number(r.t),
        })),
        q.n,
      );
    });
  }

  trend(q: HistoryTrendQuery): Promise<TrendPoint[]> {
    return this.#serial(async () => {
      const params: (string | number)[] = [];
      const bind: Bind = (v) => {
        params.push(v);
        return `$${params.length}`;
      };
      const table = filterIsEmpty(q.filter) ? 'minute_totals' : 'minute_keys';
      const where = whereClause(q.range, q.filter, bind, 'regexp_matches');
      const span = bind(q.span, 'int');
      const sql = `SELECT (minute // ${span}) * ${span} AS start, SUM(requests)::DOUBLE AS r, SUM(bytes) AS b, SUM(time) AS t
        FROM ${table} WHERE ${where} GROUP BY start ORDER BY start`;
      const rows = (await this.#conn.runAndReadAll(sql, params)).getRowObjectsJS();
      return rows.map((r) => ({
        start: Number(r.start),
        span: q.span,
        requests: Number(r.r),
        bytes: Number(r.b),
        time: Number(r.t),
      }));
    });
  }

  expire(before: number): Promise<void> {
    return this.#serial(async () => {
      const c = this.#conn;
      await c.run('BEGIN');
      try {
        for (const t of TABLES) await c.run(`DELETE FROM ${t} WHERE minute < $1`, [before]);
        await c.run('COMMIT');
      } catch (e) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    await this.#serial(async () => {
      // Fold the write-ahead log into the file, so the file alone is the history.
      await this.#conn.run('CHECKPOINT').catch(() => undefined);
    });
    this.#conn.closeSync();
    this.#db.closeSync();
  }
}

function appendKeys(a: DuckDBAppender, w: MinuteWrite, minute: bigint): void {
  for (const e of w.entries) {
    const l = e.labels;
    const status = Number(l[DIM.status]);
    a.appendBigInt(minute);
    a.appendVarchar(w.source);
    a.appendVarchar(l[DIM.website] ?? '');
    a.appendVarchar(l[DIM.prefix] ?? '');
    a.appendVarchar(l[DIM.uri] ?? '');
    a.appendUSmallInt(Number.isInteger(status) && status >= 0 && status < 1000 ? status : 0);
    a.appendVarchar(l[DIM.upstream] ?? '');
    a.appendVarchar(l[DIM.method] ?? '');
    a.appendBigInt(BigInt(Math.round(e.requests)));
    a.appendDouble(e.bytes);
    a.appendDouble(e.time);
    a.endRow();
  }
}
