import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalStatus,
  DEFAULTS,
  drill,
  encodeQueryValue,
  MAX_ROWS_HTML,
  parseFilters,
  parseView,
  toQuery,
  type ViewState,
  withoutFilter,
} from './state.ts';

const start: ViewState = { window: '5m', by: 'website', n: 25, order: 'requests', filters: {} };
const q = (s: string) => new URLSearchParams(s);

describe('URL state', () => {
  it('reads defaults and every parameter', () => {
    const v = parseView(q(''), DEFAULTS, MAX_ROWS_HTML);
    assert.deepEqual(v, { ok: true, value: { window: '5m', by: 'website', n: 25, order: 'requests' } });
    const w = parseView(q('w=24h&by=upstream&n=7&order=bytes'), { ...DEFAULTS, n: 10 }, MAX_ROWS_HTML);
    assert.deepEqual(w, { ok: true, value: { window: '24h', by: 'upstream', n: 7, order: 'bytes' } });
  });

  it('names every bad parameter', () => {
    const v = parseView(q('w=2m&by=colour&n=0&order=fame'), DEFAULTS, MAX_ROWS_HTML);
    assert.equal(v.ok, false);
    assert.deepEqual(!v.ok && v.errors.map((e) => e.split(':')[0]), ['w', 'by', 'n', 'order']);
    assert.equal(parseView(q('n=1001'), DEFAULTS, MAX_ROWS_HTML).ok, false);
    assert.equal(parseView(q('n=5000'), DEFAULTS, 100_000).ok, true);
    assert.equal(parseView(q('n=1e3'), DEFAULTS, MAX_ROWS_HTML).ok, false);
  });

  it('reads filters; a present empty parameter filters on the empty value', () => {
    const f = parseFilters(
      q(
        'f_website=a.example&f_upstream=&f_status=%3E%3D%20400&f_uri_re=%5E/v1/&f_uri_re_neg=1&f_website_re=x',
      ),
    );
    assert.deepEqual(f, {
      ok: true,
      value: {
        website: 'a.example',
        upstream: '',
        status: '>=400',
        uriRe: { source: '^/v1/', negate: true },
        websiteRe: { source: 'x', negate: false },
      },
    });
    const bad = parseFilters(q('f_status=5xx&f_website_re=(&f_uri=ok'));
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.errors.length, 2);
    assert.ok(!bad.ok && bad.errors[0]?.startsWith('f_website_re: invalid regular expression'));
  });

  it('canonical statuses', () => {
    assert.equal(canonicalStatus('=429'), '429');
    assert.equal(canonicalStatus(' == 503 '), '503');
    assert.equal(canonicalStatus('>= 400'), '>=400');
    assert.equal(canonicalStatus('4xx'), undefined);
  });

  it('writes one canonical URL; n and order only when not default', () => {
    assert.equal(toQuery(start, 25), '?w=5m&by=website');
    assert.equal(
      toQuery(
        {
          ...start,
          n: 10,
          order: 'time',
          target: '[::1]:9090',
          filters: { method: 'GET', website: 'a b&c=d+e#f%', prefix: '192.0.2.0/24', status: '!=200' },
        },
        25,
      ),
      '?w=5m&by=website&n=10&order=time&f_website=a%20b%26c%3Dd%2Be%23f%25&f_prefix=192.0.2.0/24&f_status=!%3D200&f_method=GET&target=%5B::1%5D:9090',
    );
    // The URL reads back as the same state.
    const s: ViewState = {
      ...start,
      filters: { website: '<x y="z">', uriRe: { source: '^/a?b', negate: true }, upstream: '' },
    };
    const back = new URLSearchParams(toQuery(s, 25).slice(1));
    assert.deepEqual(parseFilters(back), { ok: true, value: s.filters });
  });

  it('encodes lone surrogates without throwing', () => {
    assert.equal(encodeQueryValue('/a\udc80'), '/a%EF%BF%BD');
  });

  it('drilldown cycles website → prefix → uri → status → website, adding each filter', () => {
    const s1 = drill(start, 'api.example.com');
    assert.equal(toQuery(s1, 25), '?w=5m&by=prefix&f_website=api.example.com');
    const s2 = drill(s1, '192.0.2.0/24');
    assert.equal(toQuery(s2, 25), '?w=5m&by=uri&f_website=api.example.com&f_prefix=192.0.2.0/24');
    const s3 = drill(s2, '/v1/users');
    assert.equal(
      toQuery(s3, 25),
      '?w=5m&by=status&f_website=api.example.com&f_prefix=192.0.2.0/24&f_uri=/v1/users',
    );
    const s4 = drill(s3, '200');
    assert.equal(
      toQuery(s4, 25),
      '?w=5m&by=website&f_website=api.example.com&f_prefix=192.0.2.0/24&f_uri=/v1/users&f_status=200',
    );
    assert.equal(drill({ ...start, by: 'upstream' }, '').by, 'website');
    assert.deepEqual(drill({ ...start, by: 'method' }, 'GET').filters, { method: 'GET' });
  });

  it('removing a breadcrumb removes only that filter', () => {
    const s: ViewState = {
      ...start,
      by: 'uri',
      filters: { website: 'a', prefix: 'p', uriRe: { source: 'x', negate: true } },
    };
    assert.equal(
      toQuery(withoutFilter(s, 'prefix'), 25),
      '?w=5m&by=uri&f_website=a&f_uri_re=x&f_uri_re_neg=1',
    );
    assert.equal(toQuery(withoutFilter(s, 'uriRe'), 25), '?w=5m&by=uri&f_website=a&f_prefix=p');
  });
});
