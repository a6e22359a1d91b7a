/**
 * The trend sparkline: inline SVG, one bar per bucket of `Trend` (with a hover `<title>`),
 * placed on a time axis so missing buckets show as gaps. Text lives in the outer SVG (user
 * units are CSS pixels, so labels never stretch); the bars live in a nested SVG whose viewBox
 * is time × rate and which stretches to the width. Heights are requests per minute, so the
 * 5-minute and 1-minute buckets of the 6h/24h windows compare fairly.
 * @module
 */
import { dayHhmm, hhmm, plural, thousands, WINDOW_SECONDS } from './format.ts';
import { type Html, html } from './html.ts';

export interface SparkPoint {
  /** Bucket start, epoch seconds. */
  readonly start: number;
  /** Bucket length, seconds. */
  readonly span: number;
  readonly count: number;
}

const TOP = 22;
const PLOT = 100;
const HEIGHT = TOP + PLOT + 24;

function num(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** `window` is the query window (`5m`…); the last point is the current minute so far. */
export function sparkline(points: readonly SparkPoint[], window: string, label: string): Html {
  if (points.length === 0) {
    return html`<p class="empty">No data in this window yet.</p>`;
  }
  const end = Math.max(...points.map((p) => p.start + p.span));
  const first = Math.min(...points.map((p) => p.start));
  const begin = Math.min(first, end - (WINDOW_SECONDS[window] ?? 300) - 60);
  const range = Math.max(1, end - begin);
  // Times carry their date when the axis spans hours (6h, 24h, 7d, 30d) or crosses midnight UTC.
  const dated = range > 3 * 3600 || Math.floor(begin / 86_400) !== Math.floor(end / 86_400);
  const at = dated ? dayHhmm : hhmm;
  // Longer buckets (5 minutes, hours) are drawn as their average rate per minute, and labelled so.
  const span = Math.max(...points.map((p) => p.span));
  const coarse = span > 60;
  const bucket = span % 3600 === 0 ? `${span / 3600}-hour` : `${span / 60}-minute`;
  const unit = coarse ? `req/min (${bucket} average)` : 'req/min';
  const rate = (p: SparkPoint) => (p.count * 60) / Math.max(1, p.span);
  const peakPoint = points.reduce((a, b) => (rate(b) > rate(a) ? b : a));
  const peak = rate(peakPoint);
  const scale = peak > 0 ? PLOT / peak : 0;
  const total = points.reduce((s, p) => s + p.count, 0);
  const live = points.length - 1;
  const bars = points.map((p, i) => {
    const x = p.start - begin;
    const gap = p.span * 0.12;
    const h = p.count > 0 ? Math.max(1.5, rate(p) * scale) : 0;
    const r = rate(p);
    const perMinute = p.span === 60 ? '' : ` (${r > 0 && r < 10 ? r.toFixed(1) : thousands(r)}/min)`;
    const title = `${at(p.start)}–${at(p.start + p.span)} UTC: ${plural(p.count, 'request')}${perMinute}${
      i === live ? ', so far' : ''
    }`;
    return html`<g class="${i === live ? 'pt live' : 'pt'}" data-start="${p.start}" data-count="${p.count}"><title>${title}</title><rect class="hit" x="${num(x)}" y="0" width="${num(p.span)}" height="${PLOT}"></rect><rect class="bar" x="${num(x + gap / 2)}" y="${num(PLOT - h)}" width="${num(p.span - gap)}" height="${num(h)}"></rect></g>`;
  });
  const desc = `${plural(points.length, 'bucket')} from ${at(first)} to ${at(end)} UTC; ${plural(total, 'request')} in all; peak ${thousands(peak)} per minute at ${at(peakPoint.start)}.`;
  return html`<svg class="spark" width="100%" height="${HEIGHT}" role="img" aria-labelledby="spark-title spark-desc"><title id="spark-title">${label}</title><desc id="spark-desc">${desc}</desc><text class="ylab" x="0" y="${TOP - 8}">${thousands(peak)} ${unit}</text><text class="ylab" x="100%" y="${TOP - 8}" text-anchor="end">${coarse ? `requests per minute, ${bucket} buckets` : 'requests per minute'}</text><line class="grid" x1="0" x2="100%" y1="${TOP + 0.5}" y2="${TOP + 0.5}"></line><line class="grid" x1="0" x2="100%" y1="${TOP + PLOT / 2 + 0.5}" y2="${TOP + PLOT / 2 + 0.5}"></line><svg class="plot" x="0" y="${TOP}" width="100%" height="${PLOT}" viewBox="0 0 ${num(range)} ${PLOT}" preserveAspectRatio="none">${bars}</svg><line class="axis" x1="0" x2="100%" y1="${TOP + PLOT + 0.5}" y2="${TOP + PLOT + 0.5}"></line><text class="xlab" x="0" y="${HEIGHT - 6}">${at(begin)}</text><text class="xlab" x="50%" y="${HEIGHT - 6}" text-anchor="middle">${at(begin + range / 2)}</text><text class="xlab" x="100%" y="${HEIGHT - 6}" text-anchor="end">${at(end)} UTC</text></svg>`;
}
