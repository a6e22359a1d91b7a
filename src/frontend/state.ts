/**
 * The dashboard's whole state lives in the URL: window, dimension, rows, order, filters and
 * target. This module parses a query string into a validated `ViewState`, and writes the one
 * canonical URL for a state, so every link (tabs, drilldown, breadcrumbs) is a plain GET.
 * @module
 */
import type { Filter } from '../gen/logtally/v1/logtally_pb.ts';
import { type PlainFilter, filterMessage as toFilterMessage } from '../rpc/filter-message.ts';
import { DIMENSIONS, type Dimension, isDimension, ORDERS, type Order } from '../store/dimensions.ts';
import { parseStatusFilter } from '../store/filter.ts';
import { type HistoryWindow, isHistoryWindow } from '../store/history/range.ts';
import { clientRegexProblem } from '../store/regex.ts';
import { isWindow, WINDOWS as RING_WINDOWS, type Window as RingWindow } from '../store/windows.ts';

/** The rings' windows, then the history sink's (offered only for a target that has one). */
export const WINDOWS = [...RING_WINDOWS, '7d', '30d'] as const;
export type Window = RingWindow | HistoryWindow;
export { DIMENSIONS, type Dimension, isHistoryWindow, ORDERS, type Order, RING_WINDOWS };

/** A regular expression filter (RE2 syntax); `negate` keeps what does not match. */
export interface RegexFilter {
  readonly source: string;
  readonly negate: boolean;
}

/** Active filters; an absent key does not filter. `status` is canonical: `429`, `>=400`, `!=200`. */
export interface Filters {
  readonly website?: string;
  readonly websiteRe?: RegexFilter;
  readonly prefix?: string;
  readonly uri?: string;
  readonly uriRe?: RegexFilter;
  readonly status?: string;
  readonly upstream?: string;
  readonly method?: string;
}

export type FilterKey = keyof Filters;

/** Filter keys in display and URL order. */
export const FILTER_KEYS: readonly FilterKey[] = [
  'website',
  'websiteRe',
  'prefix',
  'uri',
  'uriRe',
  'status',
  'upstream',
  'method',
];

/** The URL parameter of each filter. */
export const FILTER_PARAMS: Record<FilterKey, string> = {
  website: 'f_website',
  websiteRe: 'f_website_re',
  prefix: 'f_prefix',
  uri: 'f_uri',
  uriRe: 'f_uri_re',
  status: 'f_status',
  upstream: 'f_upstream',
  method: 'f_method',
};

/** The parameter that negates a regex filter (`1` negates). */
export const NEGATE_PARAMS = { websiteRe: 'f_website_re_neg', uriRe: 'f_uri_re_neg' } as const;

export interface ViewState {
  readonly window: Window;
  readonly by: Dimension;
  readonly n: number;
  readonly order: Order;
  readonly filters: Filters;
  /** `host:port` of a non-default target; undefined for the default. */
  readonly target?: string;
}

export interface StateDefaults {
  readonly n: number;
  readonly window: Window;
  readonly by: Dimension;
}

export const DEFAULTS: StateDefaults = { n: 25, window: '5m', by: 'website' };

export { MAX_ROWS_HTML, MAX_ROWS_RAW } from './limits.ts';
/** Longest accepted parameter value (labels are URIs; nginx caps request lines near 8 KiB). */
export const MAX_VALUE = 8192;

/** Drilldown order: website → prefix → uri → status → website; upstream and method go to website. */
export const NEXT_DIMENSION: Record<Dimension, Dimension> = {
  website: 'prefix',
  prefix: 'uri',
  uri: 'status',
  status: 'website',
  upstream: 'website',
  method: 'website',
};

/** Checks a regular expression the way the service compiles it (RE2); returns the problem or undefined. */
export const regexProblem = clientRegexProblem;

/** `429`, `=429`, `== 429` → `429`; `>= 400` → `>=400`; undefined when not a status filter. */
export function canonicalStatus(s: string): string | undefined {
  const p = parseStatusFilter(s);
  if (!p) return undefined;
  return p.op === '=' ? String(p.value) : `${p.op}${p.value}`;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/**
 * Reads window, dimension, rows and order (not filters) from the query. `maxRows` depends on
 * whether the answer is HTML or JSON.
 */
export function parseView(
  q: URLSearchParams,
  defaults: StateDefaults,
  maxRows: number,
): ParseResult<Omit<ViewState, 'filters' | 'target'>> {
  const errors: string[] = [];
  const w = q.get('w') ?? '';
  const by = q.get('by') ?? '';
  const n = q.get('n') ?? '';
  const order = q.get('order') ?? '';
  if (w !== '' && !isWindow(w) && !isHistoryWindow(w))
    errors.push(`w: unknown window "${w}" (expected ${WINDOWS.join(', ')})`);
  if (by !== '' && !isDimension(by)) {
    errors.push(`by: unknown dimension "${by}" (expected ${DIMENSIONS.join(', ')})`);
  }
  let rows = defaults.n;
  if (n !== '') {
    rows = /^\d{1,6}$/.test(n) ? Number(n) : Number.NaN;
    if (!(rows >= 1 && rows <= maxRows)) {
      errors.push(`n: expected a number of rows from 1 to ${maxRows}, got "${n}"`);
    }
  }
  if (order !== '' && !(ORDERS as readonly string[]).includes(order)) {
    errors.push(`order: unknown order "${order}" (expected ${ORDERS.join(', ')})`);
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      window: w === '' ? defaults.window : (w as Window),
      by: by === '' ? defaults.by : (by as Dimension),
      n: rows,
      order: order === '' ? 'requests' : (order as Order),
    },
  };
}

/** Validates one filter value; returns the canonical value or an error message. */
export function checkFilter(
  key: FilterKey,
  value: string,
): { ok: true; value: string } | { ok: false; error: string } {
  if (value.length > MAX_VALUE) return { ok: false, error: `${key}: longer than ${MAX_VALUE} characters` };
  if (key === 'status') {
    const s = canonicalStatus(value);
    if (s === undefined) {
      return {
        ok: false,
        error: `status: expected a status such as 429 or a comparison such as >=400, got "${value}"`,
      };
    }
    return { ok: true, value: s };
  }
  if (key === 'websiteRe' || key === 'uriRe') {
    const problem = regexProblem(value);
    if (problem !== undefined) {
      return { ok: false, error: `${FILTER_PARAMS[key]}: invalid regular expression: ${problem}` };
    }
  }
  return { ok: true, value };
}

/** Reads the `f_*` filters from the query. A parameter that is present but empty filters on "". */
export function parseFilters(q: URLSearchParams): ParseResult<Filters> {
  const errors: string[] = [];
  const out: Record<string, string | RegexFilter> = {};
  for (const key of FILTER_KEYS) {
    const raw = q.get(FILTER_PARAMS[key]);
    if (raw === null) continue;
    const checked = checkFilter(key, raw);
    if (!checked.ok) {
      errors.push(checked.error);
      continue;
    }
    if (key === 'websiteRe' || key === 'uriRe') {
      const neg = q.get(NEGATE_PARAMS[key]);
      out[key] = { source: checked.value, negate: neg === '1' || neg === 'true' };
    } else {
      out[key] = checked.value;
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: out as Filters };
}

/** The gRPC filter message fields for a set of filters. */
export function filterMessage(f: Filters): Filter {
  const m: PlainFilter = {};
  for (const key of ['website', 'prefix', 'uri', 'status', 'upstream', 'method'] as const) {
    const v = f[key];
    if (v !== undefined) m[key] = v;
  }
  if (f.websiteRe !== undefined) {
    m.websiteRe = f.websiteRe.source;
    m.websiteReNegate = f.websiteRe.negate;
  }
  if (f.uriRe !== undefined) {
    m.uriRe = f.uriRe.source;
    m.uriReNegate = f.uriRe.negate;
  }
  return toFilterMessage(m);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Percent-encodes a query value. Beyond encodeURIComponent's unreserved set, `/ : @ , $` stay
 * readable (all valid in a query); `+ & = # % '` and everything else are encoded. Lone surrogates
 * become U+FFFD first, so encoding never throws.
 */
export function encodeQueryValue(s: string): string {
  const wellFormed = s.replace(LONE_SURROGATE, '\ufffd');
  return encodeURIComponent(wellFormed)
    .replace(/%(2F|3A|40|2C|24)/g, (m) => decodeURIComponent(m))
    .replace(/'/g, '%27');
}

/** The canonical query string (`?w=…&by=…`) of a state; `n` and `order` only when not default. */
export function toQuery(s: ViewState, defaultN: number): string {
  const parts: [string, string][] = [
    ['w', s.window],
    ['by', s.by],
  ];
  if (s.n !== defaultN) parts.push(['n', String(s.n)]);
  if (s.order !== 'requests') parts.push(['order', s.order]);
  for (const key of FILTER_KEYS) {
    const v = s.filters[key];
    if (v === undefined) continue;
    if (typeof v === 'string') parts.push([FILTER_PARAMS[key], v]);
    else {
      parts.push([FILTER_PARAMS[key], v.source]);
      if (v.negate) parts.push([NEGATE_PARAMS[key as 'websiteRe' | 'uriRe'], '1']);
    }
  }
  if (s.target !== undefined) parts.push(['target', s.target]);
  return `?${parts.map(([k, v]) => `${k}=${encodeQueryValue(v)}`).join('&')}`;
}

/** State with one filter set (or replaced). */
export function withFilter(s: ViewState, key: FilterKey, value: string | RegexFilter): ViewState {
  return { ...s, filters: { ...s.filters, [key]: value } };
}

/** State without one filter (its negation goes with it). */
export function withoutFilter(s: ViewState, key: FilterKey): ViewState {
  const filters: Record<string, unknown> = { ...s.filters };
  delete filters[key];
  return { ...s, filters: filters as Filters };
}

/** Drilldown from a row: adds `label` as the filter of the current dimension and advances it. */
export function drill(s: ViewState, label: string): ViewState {
  return { ...withFilter(s, s.by, label), by: NEXT_DIMENSION[s.by] };
}
