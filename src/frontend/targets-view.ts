/**
 * The targets view: the endpoint's own status and every collector behind it (from
 * `ListTargets`), each with its state and a link to the dashboard for that collector when the
 * frontend may query it.
 * @module
 */
import { ago, isoUtc, thousands } from './format.ts';
import { type Html, html, visible } from './html.ts';

export interface TargetRow {
  readonly source: string;
  readonly address: string;
  readonly state: string;
  readonly lastSnapshot: number;
  readonly failures: number;
  /** The dashboard for this target, when allowed. */
  readonly href?: string;
}

export interface TargetsModel {
  /** The endpoint asked (`host:port`). */
  readonly endpoint: string;
  readonly source: string;
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly linesRead: number;
  /** The endpoint's history sink ('' for none), its queued minutes and the last write error. */
  readonly history?: { readonly sink: string; readonly queuedMinutes: number; readonly lastError: string };
  readonly rows: readonly TargetRow[];
  /** Epoch seconds now. */
  readonly now: number;
}

function stateMarkup(state: string): Html {
  const cls = state === 'up' ? 'state up' : 'state degraded';
  return html`<span class="${cls}">${visible(state)}</span>`;
}

export function targetsBody(m: TargetsModel): Html {
  const up = m.rows.filter((r) => r.state === 'up').length;
  const rows = m.rows.map((r) => {
    const address = r.address === '' ? html`<span class="blank">this endpoint</span>` : visible(r.address);
    const last =
      r.lastSnapshot > 0
        ? html`<span title="${isoUtc(r.lastSnapshot)}">${ago(m.now - r.lastSnapshot)} ago</span>`
        : html`<span class="blank">${r.address === '' ? 'live' : 'never'}</span>`;
    const link =
      r.href === undefined
        ? html`<span class="blank" title="${`Start the frontend with --allow-target ${r.address} to query it directly`}">not in --allow-target</span>`
        : html`<a href="${r.href}">Dashboard<span class="vh"> for ${visible(r.source)}</span></a>`;
    return html`<tr><th scope="row" class="label">${visible(r.source)}</th><td class="label">${address}</td><td>${stateMarkup(r.state)}</td><td>${last}</td><td class="num">${thousands(r.failures)}</td><td>${link}</td></tr>`;
  });
  return html`<section class="panel"><table class="ranked targets"><caption>Targets behind ${visible(m.source)} <span class="sub">· ${visible(m.endpoint)} · ${up} of ${m.rows.length} up · version ${visible(m.version)} · up ${ago(m.uptimeSeconds)} · ${thousands(m.linesRead)} lines read${
    m.history && m.history.sink !== ''
      ? html` · history ${visible(m.history.sink)}${m.history.queuedMinutes > 0 ? ` (${thousands(m.history.queuedMinutes)} minutes queued)` : ''}${m.history.lastError !== '' ? html`, failing: ${visible(m.history.lastError)}` : ''}`
      : ' · no history beyond 24h'
  }</span></caption><thead><tr><th scope="col">Source</th><th scope="col">Address</th><th scope="col">State</th><th scope="col">Last snapshot</th><th scope="col" class="num">Failures</th><th scope="col">View</th></tr></thead><tbody>${
    rows.length === 0
      ? html`<tr><td colspan="6" class="empty">This endpoint reports no targets.</td></tr>`
      : rows
  }</tbody></table></section>`;
}
