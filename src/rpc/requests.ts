/**
 * Validates RPC requests into store queries. Every problem is INVALID_ARGUMENT with a message
 * naming the field.
 * @module
 */
import { Code, ConnectError } from '@connectrpc/connect';
import type { Filter as FilterMsg } from '../gen/logtally/v1/logtally_pb.ts';
import { type Dimension, isDimension, ORDERS, type Order } from '../store/dimensions.ts';
import { type Filter, parseStatusFilter } from '../store/filter.ts';
import { isHistoryWindow, resolveRange, windowRange } from '../store/history/range.ts';
import type { TimeRange } from '../store/history/sink.ts';
import { clientRegexProblem } from '../store/regex.ts';
import { isWindow, WINDOWS, type Window } from '../store/windows.ts';
import { plainFilter } from './filter-message.ts';

export const MAX_N = 100_000;

function invalid(field: string, message: string): ConnectError {
  return new ConnectError(`${field}: ${message}`, Code.InvalidArgument);
}

export function toWindow(s: string, field = 'window'): Window {
  if (s === '') return '5m';
  if (!isWindow(s))
    throw invalid(field, `unknown window "${s}" (expected one of ${WINDOWS.join(', ')}, 7d, 30d)`);
  return s;
}

/**
 * The range a request asks the history sink for (a 7d/30d window, or from/to), or undefined
 * when the rings answer it. Errors name the field.
 */
export function toRange(
  window: string,
  from: number,
  to: number,
  history: { now(): number } | undefined,
): TimeRange | undefined {
  const ranged = from !== 0 || to !== 0;
  if (!ranged && !isHistoryWindow(window)) return undefined;
  if (ranged && window !== '') throw invalid('window', 'give a window or from/to, not both');
  if (!history) {
    throw new ConnectError(
      `${ranged ? 'from/to' : `window ${window}`}: this endpoint keeps no history beyond its 24-hour rings (start it with --history)`,
      Code.FailedPrecondition,
    );
  }
  const nowSeconds = history.now();
  if (!ranged) return windowRange(window as '7d' | '30d', nowSeconds);
  for (const [f, v] of [
    ['from', from],
    ['to', to],
  ] as const)
    if (!Number.isFinite(v) || v < 0) throw invalid(f, `expected epoch seconds, got ${v}`);
  const r = resolveRange(from, to, nowSeconds);
  if (typeof r === 'string') throw invalid('from', r);
  return r;
}

export function toDimension(s: string, field = 'group_by'): Dimension {
  if (s === '') return 'website';
  if (!isDimension(s)) {
    throw invalid(
      field,
      `unknown dimension "${s}" (expected website, prefix, uri, status, upstream or method)`,
    );
  }
  return s;
}

export function toOrder(s: string): Order {
  if (s === '') return 'requests';
  if (!(ORDERS as readonly string[]).includes(s)) {
    throw invalid('order_by', `unknown order "${s}" (expected requests, bytes or time)`);
  }
  return s as Order;
}

export function toN(n: number): number {
  if (n === 0) return 10;
  if (n > MAX_N) throw invalid('n', `at most ${MAX_N}, got ${n}`);
  return n;
}

function checkRegex(source: string | undefined, field: string): void {
  if (source === undefined) return;
  const problem = clientRegexProblem(source);
  if (problem) throw invalid(field, problem);
}

export function toFilter(m: FilterMsg | undefined): Filter {
  const out: Filter = {};
  if (!m) return out;
  const f = plainFilter(m);
  if (f.website !== undefined) out.website = f.website;
  if (f.prefix !== undefined) out.prefix = f.prefix;
  if (f.uri !== undefined) out.uri = f.uri;
  if (f.upstream !== undefined) out.upstream = f.upstream;
  if (f.method !== undefined) out.method = f.method;
  if (f.status !== undefined) {
    const s = parseStatusFilter(f.status);
    if (!s)
      throw invalid('filter.status', `expected a status or a comparison such as >=400, got "${f.status}"`);
    out.status = s;
  }
  checkRegex(f.websiteRe, 'filter.website_re');
  checkRegex(f.uriRe, 'filter.uri_re');
  if (f.websiteRe !== undefined) {
    out.websiteRe = f.websiteRe;
    out.websiteReNegate = f.websiteReNegate === true;
  }
  if (f.uriRe !== undefined) {
    out.uriRe = f.uriRe;
    out.uriReNegate = f.uriReNegate === true;
  }
  return out;
}
