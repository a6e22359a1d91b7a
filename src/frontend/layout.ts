/**
 * The page shell shared by every HTML response (dashboard, targets, errors): head with the
 * hashed stylesheet, viewport and colour-scheme metas, optional meta refresh, and the header.
 * @module
 */
import { hhmmss } from './format.ts';
import { attr, type Child, type Html, html, trustedConstant, visible } from './html.ts';
import { STYLE } from './style.ts';

/** A tiny bar-chart favicon as a data: URL (allowed by `img-src data:`). */
const ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect x='1' y='9' width='3' height='6' fill='%233b7ddd'/%3E%3Crect x='6' y='4' width='3' height='11' fill='%233b7ddd'/%3E%3Crect x='11' y='1' width='3' height='14' fill='%233b7ddd'/%3E%3C/svg%3E";

export interface Shell {
  readonly title: string;
  readonly version: string;
  /** Seconds between automatic reloads; 0 for none. */
  readonly refresh: number;
  /** Which view the header marks as current. */
  readonly current: 'dashboard' | 'targets' | 'none';
  readonly dashboardHref: string;
  readonly targetsHref: string;
  /** The endpoint the page shows (`host:port`) and its source name when known. */
  readonly target: string;
  readonly source?: string;
  /** Epoch seconds when the page was rendered. */
  readonly now: number;
}

export function page(s: Shell, body: Child): Html {
  const cur = (v: Shell['current']) => (s.current === v ? 'page' : undefined);
  const refreshMeta =
    s.refresh > 0 ? html`<meta http-equiv="refresh" content="${String(s.refresh)}">` : undefined;
  const meta = [
    `Updated ${hhmmss(s.now)} UTC`,
    s.refresh > 0 ? ` · refreshes every ${s.refresh} s` : ' · auto-refresh off',
  ].join('');
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
${refreshMeta}
<title>${visible(s.title)}</title>
<link rel="icon" href="${ICON}">
<style>${STYLE_MARKUP}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="wrap">
<a class="brand" href="${s.dashboardHref}">log<span>tally</span></a>
<p class="where">${s.source === undefined ? undefined : html`<span class="source">${visible(s.source)}</span>`}<span class="target">${visible(s.target)}</span></p>
<nav class="views" aria-label="Views"><a href="${s.dashboardHref}"${attr('aria-current', cur('dashboard'))}>Dashboard</a><a href="${s.targetsHref}"${attr('aria-current', cur('targets'))}>Targets</a></nav>
<p class="meta">${meta}</p>
</div></header>
<main id="main" class="wrap">
${body}
</main>
<footer class="bottom wrap">logtally ${s.version} · server-rendered, no JavaScript · times in UTC</footer>
</body>
</html>
`;
}

/** The stylesheet is a constant of this repository, inserted verbatim (its hash is in the CSP). */
const STYLE_MARKUP = trustedConstant(STYLE);

export interface ErrorPage {
  readonly status: number;
  readonly heading: string;
  readonly detail: string;
  /** Extra markup under the detail (a link back, a hint). */
  readonly more?: Child;
}

export function errorBody(e: ErrorPage): Html {
  return html`<section class="panel err" aria-labelledby="err-h"><p class="none">HTTP ${e.status}</p><h1 id="err-h">${e.heading}</h1><p class="why" role="alert">${e.detail}</p>${e.more === undefined ? undefined : html`<p>${e.more}</p>`}</section>`;
}
