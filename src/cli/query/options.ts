/**
 * The flags the query commands share (targets, output, filters, transport security) and their
 * validation. Everything is checked before any connection; every error names its flag.
 * @module
 */
import type { Command } from 'commander';
import { LogtallyError } from '../../format/errors.ts';
import type { Filter as FilterMessage } from '../../gen/logtally/v1/logtally_pb.ts';
import { parseHostPortList } from '../../rpc/address.ts';
import { filterMessage, type PlainFilter } from '../../rpc/filter-message.ts';
import { addSecurityFlags } from '../../rpc/flags.ts';
import { MAX_N } from '../../rpc/requests.ts';
import { loadSecurity, type RpcSecurity, type SecurityFlags } from '../../rpc/security.ts';
import { DIMENSIONS, type Dimension, isDimension, ORDERS, type Order } from '../../store/dimensions.ts';
import { type Filter, parseStatusFilter } from '../../store/filter.ts';
import { HISTORY_WINDOWS, isHistoryWindow, parseTime, resolveRange } from '../../store/history/range.ts';
import { clientRegexProblem } from '../../store/regex.ts';
import { isWindow, WINDOWS, type Window } from '../../store/windows.ts';

export const DEFAULT_TARGET = 'localhost:9090';

function bad(flag: string, message: string): LogtallyError {
  return new LogtallyError('ERR_FORMAT_OPTION', `${flag}: ${message}`);
}

export interface TargetFlags extends SecurityFlags {
  target: string;
  json?: boolean;
  timeout?: string;
}

export interface FilterFlags {
  website?: string;
  prefix?: string;
  uri?: string;
  status?: string;
  upstream?: string;
  method?: string;
  websiteRe?: string;
  websiteReNeg?: boolean;
  uriRe?: string;
  uriReNeg?: boolean;
}

/** Adds --target, --json and the transport-security flags. */
export function addTargetOptions(
  cmd: Command,
  timeout: boolean,
  json = 'print newline-delimited JSON (one object per target) instead of a table',
): Command {
  cmd
    .option(
      '--target <host:port,...>',
      'comma-separated endpoints (collectors or aggregators), queried concurrently',
      DEFAULT_TARGET,
    )
    .option('--json', json);
  if (timeout)
    cmd.option('--timeout <seconds>', 'give up on a target that has not answered after this long', '10');
  return addSecurityFlags(cmd);
}

/** Adds the filter flags. */
export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--website <name>', 'only this website (Host)')
    .option('--prefix <prefix>', 'only this client prefix, like 192.0.2.0/24 or 2001:db8:1::/48')
    .option('--uri <path>', 'only this request path (without query string)')
    .option('--status <expr>', 'only this HTTP status (429) or a comparison: >=500, <400, !=200')
    .option('--upstream <addr>', 'only this upstream address (host:port)')
    .option('--method <method>', 'only this request method (GET, POST, ...)')
    .option('--website-re <regex>', 'only websites matching this regular expression (RE2 syntax)')
    .option('--website-re-neg', 'negate --website-re: only websites NOT matching it')
    .option('--uri-re <regex>', 'only paths matching this regular expression (RE2 syntax)')
    .option('--uri-re-neg', 'negate --uri-re: only paths NOT matching it');
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

export interface RangeFlags {
  window: string;
  from?: string;
  to?: string;
}

/** Adds --window (with its description) and --from/--to. */
export function addWindowOptions(cmd: Command): Command {
  return cmd
    .option(
      '--window <window>',
      'time window: 1m, 5m, 15m, 60m, 6h or 24h (from memory), 7d or 30d (from the --history sink)',
      '5m',
    )
    .option(
      '--from <time>',
      'a range instead of --window, from the history sink: -3d, -12h, -90m, now, or an ISO time (2026-11-02T14:00Z); default 7 days before --to',
    )
    .option('--to <time>', 'end of the range (default now); same forms as --from');
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
