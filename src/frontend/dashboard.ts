/**
 * The dashboard body: window and dimension tabs, the breadcrumb strip with the filter box,
 * the trend sparkline, and the ranked table with drilldown links. Every link is built from a
 * ViewState by `toQuery`, so it keeps every other part of the state.
 * @module
 */
import { conditionText, toExpression } from './expression.ts';
import { bytes, percent, plural, seconds, thousands } from './format.ts';
import { attr, type Child, type Html, html, visible } from './html.ts';
import { type SparkPoint, sparkline } from './sparkline.ts';
import {
  DIMENSIONS,
  type Dimension,
  drill,
  FILTER_KEYS,
  type FilterKey,
  type Filters,
  isHistoryWindow,
  NEXT_DIMENSION,
  ORDERS,
  type Order,
  toQuery,
  type ViewState,
  WINDOWS,
  withoutFilter,
} from './state.ts';

export interface Entry {
  readonly label: string;
  /** The sum of keys not kept one by one (label empty): shown as "(other)", not a link. */
  readonly other?: boolean;
  readonly count: number;
  readonly bytes: number;
  readonly time: number;
}

export interface TrendBucket extends SparkPoint {
  readonly bytes: number;
  readonly time: number;
}

export interface DashboardModel {
  readonly state: ViewState;
  /** The frontend's default number of rows (left out of URLs). */
  readonly defaultN: number;
  readonly entries: readonly Entry[];
  readonly trend: readonly TrendBucket[];
  /** The filter box's text when it differs from the active filters (a rejected expression). */
  readonly expression?: string;
  /** A problem with `expression`, shown above the box. */
  readonly expressionError?: string;
  /** The target keeps a history sink: the 7d and 30d windows are offered. */
  readonly history?: boolean;
}

const DIMENSION_TITLE: Record<Dimension, string> = {
  website: 'Website',
  prefix: 'Client prefix',
  uri: 'URI',
  status: 'Status',
  upstream: 'Upstream',
  method: 'Method',
};

const PLURAL: Record<Dimension, string> = {
  website: 'websites',
  prefix: 'client prefixes',
  uri: 'URIs',
  status: 'statuses',
  upstream: 'upstreams',
  method: 'methods',
};

const ORDER_TITLE: Record<Order, string> = { requests: 'Requests', bytes: 'Bytes', time: 'Time' };

const FILTER_FIELD: Record<FilterKey, string> = {
  website: 'website',
  websiteRe: 'website',
  prefix: 'prefix',
  uri: 'uri',
  uriRe: 'uri',
  status: 'status',
  upstream: 'upstream',
  method: 'method',
};

/** The URL of a state (a relative link to the dashboard). */
export function dashboardHref(s: ViewState, defaultN: number): string {
  return `/${toQuery(s, defaultN)}`;
}

function tabs(label: string, items: readonly { text: string; href: string; current: boolean }[]): Html {
  return html`<nav class="tabs" aria-label="${label}"><span class="tabs-label" aria-hidden="true">${label}</span><ul>${items.map(
    (t) =>
      html`<li><a href="${t.href}"${attr('aria-current', t.current ? 'page' : undefined)}>${t.text}</a></li>`,
  )}</ul></nav>`;
}

/** A label as shown: visible escapes for invisible characters; `(none)` for the empty label. */
export function labelMarkup(dim: Dimension, label: string): Html {
  if (label === '') return html`<span class="blank">(none)</span>`;
  if (dim === 'status' && /^[1-5]\d\d$/.test(label)) {
    return html`<span class="${`st s${label[0]}`}">${label}</span>`;
  }
  return html`${visible(label)}`;
}

/** A filter's operator and raw value, as the breadcrumb shows them. */
function parts(k: FilterKey, f: Filters): { op: string; value: string } {
  const v = f[k];
  if (v === undefined) return { op: '=', value: '' };
  if (typeof v !== 'string') return { op: v.negate ? '!~=' : '~=', value: v.source };
  if (k !== 'status') return { op: '=', value: v };
  const m = /^(!=|<=|>=|<|>)?(.*)$/.exec(v);
  return { op: m?.[1] ?? '=', value: m?.[2] ?? v };
}

function breadcrumbs(m: DashboardModel): Html {
  const s = m.state;
  const active = FILTER_KEYS.filter((k) => s.filters[k] !== undefined);
  if (active.length === 0) {
    return html`<p class="crumbs none">No filters: all traffic. Click a row to drill down, or type an expression.</p>`;
  }
  const items = active.map((k) => {
    const { op, value } = parts(k, s.filters);
    const text = conditionText(k, s.filters);
    const href = dashboardHref(withoutFilter(s, k), m.defaultN);
    return html`<li class="tok" data-filter="${k}"><span class="k">${FILTER_FIELD[k]}</span><span class="op">${op}</span><span class="v">${value === '' ? html`<span class="blank">(none)</span>` : visible(value)}</span><a class="x" href="${href}" aria-label="${`Remove filter ${visible(text)}`}" title="Remove this filter">×</a></li>`;
  });
  const clear = dashboardHref({ ...s, filters: {} }, m.defaultN);
  return html`<ol class="crumbs" aria-label="Active filters"><li class="lead" aria-hidden="true">Filters</li>${items}${
    active.length > 1 ? html`<li><a href="${clear}">Clear all</a></li>` : undefined
  }</ol>`;
}

function filterForm(m: DashboardModel): Html {
  const s = m.state;
  const value = m.expression ?? toExpression(s.filters);
  const hidden: [string, string][] = [
    ['w', s.window],
    ['by', s.by],
  ];
  if (s.n !== m.defaultN) hidden.push(['n', String(s.n)]);
  if (s.order !== 'requests') hidden.push(['order', s.order]);
  if (s.target !== undefined) hidden.push(['target', s.target]);
  const error =
    m.expressionError === undefined
      ? undefined
      : html`<div class="alert" role="alert" id="q-error"><strong>Cannot use this filter:</strong> ${m.expressionError}</div>`;
  return html`${error}<form class="filter" method="get" action="/" role="search"><label for="q">Filter</label><input id="q" name="q" type="text" value="${value}" placeholder="status&gt;=400 AND website~=^api\\. AND uri~=^/v1/" autocomplete="off" autocapitalize="off" spellcheck="false" aria-describedby="${m.expressionError === undefined ? 'q-hint' : 'q-error q-hint'}">${hidden.map(
    ([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`,
  )}<button type="submit">Apply</button></form><p class="hint" id="q-hint">Conditions joined by <code>AND</code>: <code>field=value</code> for website, prefix, uri, status, upstream, method; <code>status&gt;=400</code> (also != &lt; &lt;= &gt;); <code>~=</code> and <code>!~=</code> for regular expressions on website and uri. Quote values with spaces: <code>uri="/a b"</code>. An empty box clears every filter.</p>`;
}

function measure(order: Order, e: { count: number; bytes: number; time: number }): number {
  return order === 'bytes' ? e.bytes : order === 'time' ? e.time : e.count;
}

function measureText(order: Order, v: number): string {
  return order === 'bytes' ? bytes(v) : order === 'time' ? seconds(v) : thousands(v);
}

function shareBar(share: number): Html {
  const w = Math.max(0, Math.min(100, share * 100));
  return html`<svg class="share-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false"><rect class="track" width="100" height="10"></rect><rect class="fill" width="${String(Math.round(w * 100) / 100)}" height="10"></rect></svg><span class="pct">${percent(share)}</span>`;
}

function table(m: DashboardModel): Html {
  const s = m.state;
  const total = m.trend.length > 0 ? m.trend.reduce((a, p) => a + measure(s.order, p), 0) : 0;
  const denominator = total > 0 ? total : m.entries.reduce((a, e) => a + measure(s.order, e), 0);
  const extra = s.order !== 'requests';
  const next = NEXT_DIMENSION[s.by];
  const rows: Child =
    m.entries.length === 0
      ? html`<tr><td colspan="${extra ? 5 : 4}" class="empty">No requests match in this window.</td></tr>`
      : m.entries.map((e, i) => {
          const share = denominator > 0 ? measure(s.order, e) / denominator : 0;
          const title = `Filter on ${s.by} = ${e.label === '' ? '(none)' : visible(e.label)}, then group by ${next}`;
          const label = e.other
            ? html`<span class="blank" title="Requests of keys not kept one by one (a minute's table was full, or past a bucket's top keys)">(other)</span>`
            : html`<a href="${dashboardHref(drill(s, e.label), m.defaultN)}" title="${title}">${labelMarkup(s.by, e.label)}</a>`;
          return html`<tr><td class="rank num">${e.other ? '' : String(i + 1)}</td><td class="num count">${thousands(e.count)}</td>${
            extra
              ? html`<td class="num measure">${measureText(s.order, measure(s.order, e))}</td>`
              : undefined
          }<td class="share">${shareBar(share)}</td><td class="label">${label}</td></tr>`;
        });
  const filtered = FILTER_KEYS.some((k) => s.filters[k] !== undefined);
  const shown = m.entries.length === 0 ? s.n : m.entries.length;
  const noun =
    shown === 1 ? DIMENSION_TITLE[s.by].replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase()) : PLURAL[s.by];
  return html`<table class="ranked"><caption>Top ${shown} ${noun} by ${s.order} <span class="sub">· last ${s.window}${filtered ? ' · filtered' : ''} · ${thousands(
    m.trend.reduce((a, p) => a + p.count, 0),
  )} requests in all</span></caption><thead><tr><th scope="col" class="num">#</th><th scope="col" class="num">Requests</th>${
    extra ? html`<th scope="col" class="num">${ORDER_TITLE[s.order]}</th>` : undefined
  }<th scope="col">Share<span class="vh"> of all ${s.order}</span></th><th scope="col">${DIMENSION_TITLE[s.by]}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function tableFoot(m: DashboardModel): Html {
  const s = m.state;
  const sizes = [...new Set([10, 25, 50, 100, m.defaultN])].sort((a, b) => a - b);
  return html`<div class="foot"><nav aria-label="Rows"><span>Rows </span><ul>${sizes.map(
    (n) =>
      html`<li><a href="${dashboardHref({ ...s, n }, m.defaultN)}"${attr('aria-current', n === s.n ? 'page' : undefined)}>${n}</a></li>`,
  )}</ul></nav><nav aria-label="Rank by"><span>Rank by </span><ul>${ORDERS.map(
    (o) =>
      html`<li><a href="${dashboardHref({ ...s, order: o }, m.defaultN)}"${attr('aria-current', o === s.order ? 'page' : undefined)}>${o}</a></li>`,
  )}</ul></nav><a href="${`${dashboardHref(s, m.defaultN)}&raw=1`}">This table as JSON</a></div>`;
}

/** The breadcrumb strip and the filter box (alone on the page of a rejected expression). */
export function filterPanel(m: DashboardModel): Html {
  const crumbs = m.expressionError === undefined ? breadcrumbs(m) : undefined;
  return html`<section class="panel" aria-label="Filters">${crumbs}${filterForm(m)}</section>`;
}

export function dashboardBody(m: DashboardModel): Html {
  const s = m.state;
  const windowTabs = tabs(
    'Window',
    WINDOWS.filter((w) => m.history === true || w === s.window || !isHistoryWindow(w)).map((w) => ({
      text: w,
      href: dashboardHref({ ...s, window: w }, m.defaultN),
      current: w === s.window,
    })),
  );
  const dimensionTabs = tabs(
    'Group by',
    DIMENSIONS.map((d) => ({
      text: d,
      href: dashboardHref({ ...s, by: d }, m.defaultN),
      current: d === s.by,
    })),
  );
  const requests = m.trend.reduce((a, p) => a + p.count, 0);
  const caption = `Requests per minute, last ${s.window}${
    FILTER_KEYS.some((k) => s.filters[k] !== undefined) ? `, where ${toExpression(s.filters)}` : ''
  }`;
  return html`<div class="controls">${windowTabs}${dimensionTabs}</div>
${filterPanel(m)}
<section class="panel" aria-labelledby="trend-h"><figure class="trend"><figcaption><span id="trend-h"><strong>Trend</strong> · requests per minute${isHistoryWindow(s.window) ? ' (hourly buckets)' : ''} · last ${s.window}</span><span>${plural(requests, 'request')} · ${plural(m.trend.length, 'bucket')}</span></figcaption>${sparkline(m.trend, s.window, visible(caption))}</figure></section>
<section class="panel">${table(m)}${tableFoot(m)}</section>`;
}
