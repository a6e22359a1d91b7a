/**
 * The flags the query commands share (targets, output, filters, transport security) and their
 * validation. Everything is checked before any connection; every error names its flag.
 * @module
 */
import { LogtallyError } from '../../format/errors.ts';
import type { Filter as FilterMessage } from '../../gen/logtally/v1/logtally_pb.ts';
import { parseHostPortList } from '../../rpc/address.ts';
import { filterMessage, type PlainFilter } from '../../rpc/filter-message.ts';
import { MAX_N } from '../../rpc/requests.ts';
import { loadSecurity, type RpcSecurity } from '../../rpc/security.ts';
import { DIMENSIONS, type Dimension, isDimension, ORDERS, type Order } from '../../store/dimensions.ts';
import { type Filter, parseStatusFilter } from '../../store/filter.ts';
import { HISTORY_WINDOWS, isHistoryWindow, parseTime, resolveRange } from '../../store/history/range.ts';
import { clientRegexProblem } from '../../store/regex.ts';
import { isWindow, WINDOWS, type Window } from '../../store/windows.ts';

export {
  addFilterOptions,
  addTargetOptions,
  addWindowOptions,
  DEFAULT_TARGET,
  type FilterFlags,
  type RangeFlags,
  type TargetFlags,
} from './flags.ts';

import type { FilterFlags, RangeFlags, TargetFlags } from './flags.ts';

function bad(flag: string, message: string): LogtallyError {
  return new LogtallyError('ERR_FORMAT_OPTION', `${flag}: ${message}`);
}

/** The validated endpoint list: trimmed, without duplicates, each a valid host:port. */
export function parseTargets(list: string): string[] {
  const out = parseHostPortList(list, '--target');
  if (out.length === 0) throw bad('--target', 'expected host:port[,host:port...], got an empty list');
  return out;
}

/** `--timeout` in milliseconds. */
export function parseTimeout(s: string | undefined): number {
  if (s === undefined) return 10_000;
  const n = Number(s);
  if (!/^\s*\d*\.?\d+\s*$/.test(s) || !(n > 0) || n > 86_400) {
    throw bad('--timeout', `expected a number of seconds greater than 0, got "${s}"`);
  }
  return Math.round(n * 1000);
}

const WINDOW_ALIASES: Record<string, string> = { '1h': '60m', '1d': '24h', '1w': '7d' };

/** Every window the CLI accepts: the rings' and the history sink's. */
export const ALL_WINDOWS = [...WINDOWS, ...Object.keys(HISTORY_WINDOWS)];

export function parseWindow(s: string): Window | '7d' | '30d' {
  const w = WINDOW_ALIASES[s] ?? s;
  if (!isWindow(w) && !isHistoryWindow(w))
    throw bad('--window', `unknown window "${s}" (expected one of ${ALL_WINDOWS.join(', ')})`);
  return w;
}

/**
 * The window or range of a request: `{window}` or `{window: '', from, to}` (epoch seconds,
 * resolved on this host's clock). --from/--to replace --window.
 */
export function parseRange(
  f: RangeFlags,
  nowSeconds = Date.now() / 1000,
): { window: string; from: number; to: number } {
  if (f.from === undefined && f.to === undefined) return { window: parseWindow(f.window), from: 0, to: 0 };
  const time = (flag: '--from' | '--to', v: string | undefined): number => {
    if (v === undefined) return 0;
    const t = parseTime(v, nowSeconds);
    if (typeof t === 'string') throw bad(flag, t);
    return t;
  };
  const from = time('--from', f.from);
  const to = time('--to', f.to);
  const r = resolveRange(from, to, nowSeconds);
  if (typeof r === 'string') throw bad(f.from === undefined ? '--to' : '--from', r);
  return { window: '', from: r.from, to: r.to };
}

export function parseGroupBy(s: string): Dimension {
  if (!isDimension(s)) {
    throw bad('--group-by', `unknown dimension "${s}" (expected one of ${DIMENSIONS.join(', ')})`);
  }
  return s;
}

export function parseOrderBy(s: string): Order {
  if (!(ORDERS as readonly string[]).includes(s)) {
    throw bad('--order-by', `unknown order "${s}" (expected one of ${ORDERS.join(', ')})`);
  }
  return s as Order;
}

export function parseN(s: string): number {
  const n = Number(s);
  if (!/^\s*\d+\s*$/.test(s) || n < 1 || n > MAX_N) {
    throw bad('--n', `expected an integer from 1 to ${MAX_N}, got "${s}"`);
  }
  return n;
}

function checkRegex(source: string, flag: string): void {
  const problem = clientRegexProblem(source);
  if (problem) throw bad(flag, problem);
}

/** The filter flags as a store filter (for matching snapshots locally) and as a request message. */
export function parseFilter(f: FilterFlags): { filter: Filter; message: FilterMessage } {
  const filter: Filter = {};
  const message: PlainFilter = {};
  for (const key of ['website', 'prefix', 'uri', 'upstream', 'method'] as const) {
    const v = f[key];
    if (v === undefined) continue;
    filter[key] = v;
    message[key] = v;
  }
  if (f.status !== undefined) {
    const s = parseStatusFilter(f.status);
    if (!s) {
      throw bad('--status', `expected a status code or a comparison such as >=500, got "${f.status}"`);
    }
    filter.status = s;
    message.status = `${s.op}${s.value}`;
  }
  if (f.websiteReNeg && f.websiteRe === undefined) throw bad('--website-re-neg', 'needs --website-re');
  if (f.uriReNeg && f.uriRe === undefined) throw bad('--uri-re-neg', 'needs --uri-re');
  if (f.websiteRe !== undefined) {
    checkRegex(f.websiteRe, '--website-re');
    filter.websiteRe = f.websiteRe;
    filter.websiteReNegate = f.websiteReNeg === true;
    message.websiteRe = f.websiteRe;
    message.websiteReNegate = f.websiteReNeg === true;
  }
  if (f.uriRe !== undefined) {
    checkRegex(f.uriRe, '--uri-re');
    filter.uriRe = f.uriRe;
    filter.uriReNegate = f.uriReNeg === true;
    message.uriRe = f.uriRe;
    message.uriReNegate = f.uriReNeg === true;
  }
  return { filter, message: filterMessage(message) };
}

export interface Endpoints {
  readonly targets: string[];
  readonly json: boolean;
  readonly security: RpcSecurity;
  readonly timeoutMs: number;
}

/** Validates --target, --json, --timeout and the security flags (files are read here). */
export function parseEndpoints(f: TargetFlags): Endpoints {
  const targets = parseTargets(f.target);
  const timeoutMs = parseTimeout(f.timeout);
  return { targets, json: f.json === true, security: loadSecurity(f), timeoutMs };
}
