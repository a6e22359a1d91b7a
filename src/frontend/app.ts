/**
 * The dashboard's HTTP application (hono): `/` (dashboard, `raw=1` JSON, filter-box
 * redirects) and `/targets`. Every response carries the security headers; a target that
 * cannot be reached gives a 502 page, never a stack trace.
 * @module
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { type Context, Hono } from 'hono';
import { createLogtallyClient, type LogtallyClient } from '../rpc/client.ts';
import type { RpcSecurity } from '../rpc/security.ts';
import { AnswerCache } from './cache.ts';
import { dashboardBody, dashboardHref, filterPanel } from './dashboard.ts';
import { applyExpression, ExpressionError } from './expression.ts';
import type { Child } from './html.ts';
import { errorBody, page, type Shell } from './layout.ts';
import { SECURITY_HEADERS, TargetPolicy } from './security.ts';
import {
  DEFAULTS,
  encodeQueryValue,
  filterMessage,
  MAX_ROWS_HTML,
  MAX_ROWS_RAW,
  parseFilters,
  parseView,
  type StateDefaults,
  type ViewState,
} from './state.ts';
import { type TargetRow, targetsBody } from './targets-view.ts';

export interface FrontendAppOptions {
  /** Default gRPC endpoint, `host:port` (aggregator or collector). */
  readonly target: string;
  /** Other endpoints `?target=` may name. */
  readonly allowTargets?: readonly string[];
  /** Default number of table rows (25). */
  readonly n?: number;
  /** Seconds between automatic reloads of the page; 0 disables (30). */
  readonly refresh?: number;
  /** TLS and bearer token for the gRPC connections. */
  readonly security?: RpcSecurity;
  /** Deadline of each gRPC call, ms (10 000). */
  readonly timeoutMs?: number;
  /** How long an answer is shared by viewers of the same view, ms (1 000; 0 disables). */
  readonly cacheMs?: number;
  readonly version?: string;
  /** Diagnostics, one line each (failed targets, internal errors). */
  readonly log?: (line: string) => void;
  /** Current time, epoch seconds (tests). */
  readonly now?: () => number;
}

interface Failure {
  readonly status: 400 | 404 | 500 | 502 | 504;
  readonly heading: string;
  readonly detail: string;
  readonly more?: Child;
}

/** Builds the app; throws a LogtallyError naming the flag for a malformed target. */
export function createFrontendApp(o: FrontendAppOptions): Hono {
  const policy = new TargetPolicy(o.target, o.allowTargets ?? []);
  const defaults: StateDefaults = { ...DEFAULTS, n: o.n ?? DEFAULTS.n };
  const refresh = o.refresh ?? 30;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const version = o.version ?? '';
  const log = o.log ?? (() => {});
  const now = o.now ?? (() => Date.now() / 1000);
  const clients = new Map<string, LogtallyClient>();
  const answers = new AnswerCache(o.cacheMs ?? 1000);
  const clientFor = (target: string): LogtallyClient => {
    let c = clients.get(target);
    if (!c) {
      c = createLogtallyClient(target, 'target', o.security);
      clients.set(target, c);
    }
    return c;
  };

  const home = (target: string | undefined): ViewState => ({
    window: defaults.window,
    by: defaults.by,
    n: defaults.n,
    order: 'requests',
    filters: {},
    ...(target === undefined ? {} : { target }),
  });
  const targetsHref = (target: string | undefined) =>
    target === undefined ? '/targets' : `/targets?target=${encodeQueryValue(target)}`;
  const shell = (
    title: string,
    current: Shell['current'],
    target: string | undefined,
    extra: Partial<Shell> = {},
  ): Shell => ({
    title,
    version,
    refresh,
    current,
    dashboardHref: dashboardHref(home(target), defaults.n),
    targetsHref: targetsHref(target),
    target: target ?? policy.defaultTarget,
    now: now(),
    ...extra,
  });

  const fail = (c: Context, raw: boolean, f: Failure, target?: string): Response => {
    if (raw) return c.json({ error: f.detail }, f.status);
    // A failing target is retried by the page's own refresh; a bad request is not.
    const retry = f.status === 502 || f.status === 504;
    const s = shell(`${f.heading} · logtally`, 'none', target, retry ? {} : { refresh: 0 });
    return c.html(page(s, errorBody(f)).toString(), f.status);
  };

  const upstreamFailure = (e: unknown, target: string): Failure => {
    if (!(e instanceof ConnectError)) throw e;
    log(`target ${target}: ${Code[e.code] ?? e.code}: ${e.rawMessage}`);
    if (e.code === Code.InvalidArgument) {
      return { status: 400, heading: `${target} rejected the query`, detail: e.rawMessage };
    }
    if (e.code === Code.DeadlineExceeded) {
      return {
        status: 504,
        heading: `No answer from ${target}`,
        detail: `no answer within ${timeoutMs / 1000} s (${e.rawMessage})`,
      };
    }
    const hint =
      e.code === Code.Unauthenticated
        ? 'The target wants credentials: start the frontend with the same --token-file (and TLS flags) as the target.'
        : 'Is the collector or aggregator running and listening there?';
    return {
      status: 502,
      heading: `Cannot reach ${target}`,
      detail: e.rawMessage,
      more: `${hint}${refresh > 0 ? ` This page tries again every ${refresh} s.` : ''}`,
    };
  };

  /** What every page starts with: the query, raw or not, and the target (a 400 page if refused). */
  const request = (c: Context) => {
    const q = new URL(c.req.url).searchParams;
    const raw = q.get('raw') === '1' || q.get('raw') === 'true';
    const chosen = policy.choose(q.get('target'));
    if (!chosen.ok)
      return fail(c, raw, { status: 400, heading: 'Target not allowed', detail: chosen.message });
    // The default target stays out of links, so shared URLs follow the frontend's default.
    return { q, raw, chosen, target: chosen.isDefault ? undefined : chosen.target };
  };

  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });

  app.get('/', async (c) => {
    const asked = request(c);
    if (asked instanceof Response) return asked;
    const { q, raw, chosen, target } = asked;
    const view = parseView(q, defaults, raw ? MAX_ROWS_RAW : MAX_ROWS_HTML);
    if (!view.ok) {
      return fail(c, raw, { status: 400, heading: 'Bad request', detail: view.errors.join('; ') }, target);
    }
    const base: ViewState = { ...view.value, filters: {}, ...(target === undefined ? {} : { target }) };

    // The filter box: redirect to the canonical URL of the expression's filters.
    const expression = q.get('q');
    if (expression !== null) {
      try {
        const to = dashboardHref(applyExpression(base, expression), defaults.n);
        return c.redirect(raw ? `${to}&raw=1` : to, 303);
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
        if (raw) return c.json({ error: e.message }, 400);
        const body = filterPanel({
          state: base,
          defaultN: defaults.n,
          entries: [],
          trend: [],
          expression,
          expressionError: e.message,
        });
        const s = shell('Bad filter expression · logtally', 'dashboard', target, { refresh: 0 });
        return c.html(page(s, body).toString(), 400);
      }
    }

    const filters = parseFilters(q);
    if (!filters.ok) {
      return fail(c, raw, { status: 400, heading: 'Bad filter', detail: filters.errors.join('; ') }, target);
    }
    let state: ViewState = { ...base, filters: filters.value };
    const client = clientFor(chosen.target);
    const filter = filterMessage(state.filters);
    const call = { timeoutMs };
    try {
      const cacheKey = (what: string, req: unknown) =>
        `${chosen.target}\u0000${what}\u0000${JSON.stringify(req)}`;
      const topN = (v: ViewState) => {
        const req = { filter, groupBy: v.by, window: v.window, n: v.n, orderBy: v.order };
        return answers.get(cacheKey('topN', req), () => client.topN(req, call));
      };
      if (raw) {
        const r = await topN(state);
        return c.json({
          source: r.source,
          target: chosen.target,
          entries: r.entries.map((e) => ({
            label: e.label,
            ...(e.other ? { other: true } : {}),
            count: e.count,
            bytes: e.bytes,
            time: e.time,
          })),
        });
      }
      const trendReq = { filter, window: state.window };
      let [top, trend, status] = await Promise.all([
        topN(state),
        answers.get(cacheKey('trend', trendReq), () => client.trend(trendReq, call)),
        // Whether the target keeps a history sink (the 7d and 30d windows are offered then).
        answers.get(cacheKey('status', {}), () => client.status({}, call)),
      ]);
      // A log without a host (nginx's combined, most uWSGI layouts) has one website: "(none)". When
      // the page was opened without choosing a dimension, start on client prefixes instead.
      if (
        q.get('by') === null &&
        state.by === 'website' &&
        top.entries.length === 1 &&
        top.entries[0]?.label === '' &&
        !top.entries[0]?.other
      ) {
        state = { ...state, by: 'prefix' };
        top = await topN(state);
      }
      const body = dashboardBody({
        state,
        defaultN: defaults.n,
        entries: top.entries,
        trend: trend.points,
        history: status.history !== '',
      });
      const s = shell(`${state.by} · ${state.window} · ${top.source} · logtally`, 'dashboard', target, {
        source: top.source,
      });
      return c.html(page(s, body).toString());
    } catch (e) {
      return fail(c, raw, upstreamFailure(e, chosen.target), target);
    }
  });

  app.get('/targets', async (c) => {
    const asked = request(c);
    if (asked instanceof Response) return asked;
    const { raw, chosen, target } = asked;
    const client = clientFor(chosen.target);
    try {
      const [list, status] = await Promise.all([
        client.listTargets({}, { timeoutMs }),
        client.status({}, { timeoutMs }),
      ]);
      if (raw) {
        return c.json({
          source: status.source,
          target: chosen.target,
          targets: list.targets.map((t) => ({
            source: t.source,
            address: t.address,
            state: t.state,
            last_snapshot: t.lastSnapshot,
            failures: t.failures,
          })),
        });
      }
      const rows: TargetRow[] = list.targets.map((t) => {
        let href: string | undefined;
        if (t.address === '') href = dashboardHref(home(target), defaults.n);
        else if (policy.isAllowed(t.address)) {
          const chosenRow = policy.choose(t.address);
          if (chosenRow.ok) {
            href = dashboardHref(home(chosenRow.isDefault ? undefined : chosenRow.target), defaults.n);
          }
        }
        return {
          source: t.source,
          address: t.address,
          state: t.state,
          lastSnapshot: t.lastSnapshot,
          failures: t.failures,
          ...(href === undefined ? {} : { href }),
        };
      });
      const body = targetsBody({
        endpoint: chosen.target,
        source: status.source,
        version: status.version,
        uptimeSeconds: status.uptimeSeconds,
        linesRead: status.linesRead,
        history: {
          sink: status.history,
          queuedMinutes: status.historyQueuedMinutes,
          lastError: status.historyLastError,
        },
        rows,
        now: now(),
      });
      const s = shell(`Targets · ${status.source} · logtally`, 'targets', target, { source: status.source });
      return c.html(page(s, body).toString());
    } catch (e) {
      return fail(c, raw, upstreamFailure(e, chosen.target), target);
    }
  });

  app.notFound((c) =>
    fail(c, false, {
      status: 404,
      heading: 'Not found',
      detail: 'There is nothing at this address.',
      more: 'The dashboard is at / and the targets view at /targets.',
    }),
  );

  app.onError((e, c) => {
    log(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    const r = fail(c, false, {
      status: 500,
      heading: 'Internal error',
      detail: 'The page could not be built; the details are in the frontend’s log.',
    });
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) r.headers.set(k, v);
    return r;
  });

  return app;
}
