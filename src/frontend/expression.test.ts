import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyExpression, ExpressionError, parseExpression, quoteValue, toExpression } from './expression.ts';
import { DEFAULTS, type Filters, toQuery, type ViewState } from './state.ts';

const base: ViewState = { window: '5m', by: 'website', n: 25, order: 'requests', filters: {} };

describe('filter expressions', () => {
  it('parses the reference example', () => {
    assert.deepEqual(parseExpression('status>=400 AND website~=^api\\. AND uri~=^/v1/'), {
      status: '>=400',
      websiteRe: { source: '^api\\.', negate: false },
      uriRe: { source: '^/v1/', negate: false },
    });
  });

  it('redirect target: the canonical URL of the expression', () => {
    const s = applyExpression(
      { ...base, window: '1m', by: 'prefix' },
      'status>=400 AND website~=^api\\. AND uri~=^/v1/',
    );
    assert.equal(
      toQuery(s, DEFAULTS.n),
      '?w=1m&by=prefix&f_website_re=%5Eapi%5C.&f_uri_re=%5E/v1/&f_status=%3E%3D400',
    );
  });

  it('reads every field, operator and quoting form', () => {
    assert.deepEqual(
      parseExpression(
        `  website = "api example.com"  and prefix=192.0.2.0/24 && uri=='/a "b"' AND status!=200 AND upstream=10.0.0.1:80 AND method=POST AND uri!~=^/health AND website=~x  `,
      ),
      {
        website: 'api example.com',
        prefix: '192.0.2.0/24',
        uri: '/a "b"',
        status: '!=200',
        upstream: '10.0.0.1:80',
        method: 'POST',
        uriRe: { source: '^/health', negate: true },
        websiteRe: { source: 'x', negate: false },
      },
    );
    assert.deepEqual(parseExpression('status=429'), { status: '429' });
    assert.deepEqual(parseExpression('status == 503'), { status: '503' });
    assert.deepEqual(parseExpression('STATUS<300'), { status: '<300' });
    assert.deepEqual(parseExpression('upstream=""'), { upstream: '' });
    assert.deepEqual(parseExpression('uri~"\\d+$"'), { uriRe: { source: '\\d+$', negate: false } });
    assert.deepEqual(parseExpression('uri="a\\\\b\\"c"'), { uri: 'a\\b"c' });
    assert.deepEqual(parseExpression(''), {});
    assert.deepEqual(parseExpression('   '), {});
  });

  it('rejects bad expressions with a clear message and column', () => {
    const cases: [string, string][] = [
      ['colour=red', 'column 1: unknown field "colour"'],
      ['status>=4xx', 'column 1: status: expected a status such as 429'],
      ['website>=a', 'column 1: >= applies to status only'],
      ['status~=^5', 'column 1: ~= (regular expression) applies to website and uri only'],
      ['uri~=(', 'column 1: uri: invalid regular expression'],
      ['website=a website=b', 'column 11: expected AND between conditions'],
      ['website=a AND website=b', 'column 15: website is given twice'],
      ['website=a AND', 'column 14: expected a condition after AND'],
      ['website', 'column 8: expected an operator after website'],
      ['website=', 'column 9: expected a value after website='],
      ['uri="abc', 'column 5: unterminated " quote'],
      ['=x', 'column 1: expected a field'],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => parseExpression(input),
        (e: unknown) => {
          assert.ok(e instanceof ExpressionError, input);
          assert.ok(e.message.startsWith(message), `${input}: ${e.message}`);
          return true;
        },
      );
    }
  });

  it('toExpression is the inverse of parseExpression', () => {
    const samples: Filters[] = [
      {},
      { website: 'api.example.com', status: '>=400' },
      { uri: '/a b', websiteRe: { source: '^api\\.', negate: true } },
      { upstream: '', method: 'GET', uriRe: { source: '"quoted" \\d', negate: false } },
      { website: '"><script>alert(1)</script>', prefix: '2001:db8::/48', status: '429' },
      { uri: "'single", website: 'AND' },
    ];
    for (const f of samples) assert.deepEqual(parseExpression(toExpression(f)), f, toExpression(f));
    assert.equal(
      toExpression({ website: 'a', status: '!=200', uriRe: { source: '^/x', negate: true } }),
      'website=a AND uri!~=^/x AND status!=200',
    );
    assert.equal(quoteValue('a b'), '"a b"');
    assert.equal(quoteValue(''), '""');
    assert.equal(quoteValue('it"s'), 'it"s');
  });
});
