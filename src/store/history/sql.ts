/**
 * The SQL both sinks share: a filter as a WHERE clause with bound parameters (never a client's
 * string inside the SQL text), and the column names of the dimensions.
 * @module
 */
import { type Dimension, OTHER_TEXT } from '../dimensions.ts';
import type { Filter } from '../filter.ts';

/** Column of each dimension (status is a number column; its label is its decimal text). */
export const COLUMN: Record<Dimension, string> = {
  website: 'website',
  prefix: 'prefix',
  uri: 'uri',
  status: 'status',
  upstream: 'upstream',
  method: 'method',
};

/** Binds a value and returns its placeholder in the dialect's syntax. */
export type Bind = (value: string | number, type: 'string' | 'int') => string;

/**
 * `minute >= … AND minute < … AND …` for the range and the filter. Regular expressions were
 * validated as RE2 (re2js) before they get here; DuckDB's regexp_matches and ClickHouse's match
 * are RE2 too, and both find a match anywhere in the value, as the rings' filters do.
 */
export function whereClause(
  range: { from: number; to: number },
  filter: Filter,
  bind: Bind,
  regexFn: 'regexp_matches' | 'match',
  minute = 'minute',
  minuteBind: (v: number) => string = (v) => bind(v, 'int'),
): string {
  const parts = [`${minute} >= ${minuteBind(range.from)}`, `${minute} < ${minuteBind(range.to)}`];
  for (const d of ['website', 'prefix', 'uri', 'upstream', 'method'] as const) {
    const v = filter[d];
    if (v !== undefined) parts.push(`${COLUMN[d]} = ${bind(v, 'string')}`);
  }
  if (filter.status) {
    const op = filter.status.op;
    parts.push(`status ${op} ${bind(filter.status.value, 'int')}`);
  }
  // A residual's OTHER (values not known one by one) is not known to match: a negated expression
  // keeps it (a filter and its negation add up to the whole), as the rings' filters do.
  if (filter.websiteRe !== undefined)
    parts.push(
      `${filter.websiteReNegate ? 'NOT ' : ''}(${regexFn}(website, ${bind(filter.websiteRe, 'string')}) AND website <> ${bind(OTHER_TEXT, 'string')})`,
    );
  if (filter.uriRe !== undefined)
    parts.push(
      `${filter.uriReNegate ? 'NOT ' : ''}(${regexFn}(uri, ${bind(filter.uriRe, 'string')}) AND uri <> ${bind(OTHER_TEXT, 'string')})`,
    );
  return parts.join(' AND ');
}

/** Whether the filter restricts anything (an unfiltered Trend reads the minutes' totals). */
export function filterIsEmpty(f: Filter): boolean {
  return Object.values(f).every((v) => v === undefined || v === false);
}

/**
 * Rows of a TopN query ordered with the residuals' entry (`OTHER_TEXT`) first, if any, then the
 * top: the top `n`, then that entry, as the rings answer.
 */
export function otherLast<T extends { label: string }>(rows: readonly T[], n: number): T[] {
  const first = rows[0];
  if (first?.label !== OTHER_TEXT) return rows.slice(0, n);
  return [...rows.slice(1, n + 1), first];
}
