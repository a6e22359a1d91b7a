/**
 * Shared by the dashboard's unit and browser tests: an XSS corpus for labels, and a structural
 * check that a rendered page contains only the markup the dashboard writes.
 */
import assert from 'node:assert/strict';

/** Payloads placed in hosts, URIs, user agents, upstreams and methods. */
export const XSS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  'javascript:alert(1)',
  '</title><script>alert(1)</script>',
  '<svg><script>alert(1)</script></svg>',
  '<a href="javascript:alert(1)">x</a>',
  '</style><iframe src=javascript:alert(1)>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  '\u202eevil\u0007',
] as const;

/** The payloads that cannot appear verbatim in correctly escaped HTML. */
export const XSS_MARKUP = XSS.filter((p) => /[<>"']/.test(p));

const ALLOWED_TAGS = new Set(
  'html head meta title link style body a header div span p nav main footer ul li ol section form label input button code strong figure figcaption svg desc text line g rect table caption thead tbody tr th td'.split(
    ' ',
  ),
);

/**
 * Asserts that `body` (an HTML page) has only the dashboard's own tags, no event-handler
 * attribute, no raw payload, and links that stay on this server.
 */
export function assertNoInjectedMarkup(body: string): void {
  for (const p of XSS_MARKUP) assert.ok(!body.includes(p), `raw payload in page: ${p}`);
  // Outside <style>, escaped text never contains "<", so every "<x" starts a real tag.
  const withoutStyle = body.replace(/<style>[^<]*<\/style>/, '<style></style>');
  for (const m of withoutStyle.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>/g)) {
    const tag = (m[1] as string).toLowerCase();
    assert.ok(ALLOWED_TAGS.has(tag), `unexpected <${tag}> in page`);
    const attrs = (m[2] as string).replace(/"[^"]*"/g, '""');
    assert.ok(!/\son[a-z]+\s*=/i.test(attrs), `event handler attribute in <${tag}${m[2]}>`);
    assert.ok(!/'/.test(attrs), `single-quoted or unquoted attribute in <${tag}${m[2]}>`);
    for (const h of (m[2] as string).matchAll(/\s(?:href|src|action)="([^"]*)"/g)) {
      const url = h[1] as string;
      assert.ok(/^(?:\/(?!\/)|#|data:image\/svg\+xml,)/.test(url), `URL that leaves the server: ${url}`);
    }
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
export { freePort as closedPort } from './listening.ts';
