import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RE2JS } from 're2js';
import { clientRegexProblem, compileClientRegex } from './regex.ts';

describe('client regular expressions (RE2 semantics)', () => {
  // Patterns that make a backtracking engine take exponential or high-polynomial time, each on a
  // value crafted against it. With backtracking, the first three alone took minutes on 64 KB.
  const catalogue: [string, string][] = [
    ['a*a*a*!', 'a'.repeat(65_536)],
    ['.*.*.*!$', 'x'.repeat(65_536)],
    ['(?:[ab]?){40}!', 'ab'.repeat(32_768)],
    ['^(a+)+$', `${'a'.repeat(65_536)}b`],
    ['^(a|aa)+$', `${'a'.repeat(65_536)}b`],
    ['^(a|a?)+$', `${'a'.repeat(65_536)}b`],
    ['(x+x+)+y', 'x'.repeat(65_536)],
    ['^(\\w+\\s?)*$', `${'word '.repeat(13_000)}!`],
    [
      '^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$',
      `${'a'.repeat(65_536)}!`,
    ],
  ];
  for (const [pattern, value] of catalogue) {
    it(`${pattern} answers in time linear in a ${value.length}-character value`, () => {
      const re = compileClientRegex(pattern);
      const t0 = performance.now();
      assert.equal(re.test(value), false);
      // Linear matching of 64 KB takes milliseconds; the bound leaves room for a loaded machine.
      assert.ok(performance.now() - t0 < 5_000, `${pattern}: ${performance.now() - t0} ms`);
    });
  }
  it('plain-text patterns (optionally anchored) answer as RE2 does', () => {
    const values = [
      '',
      '/',
      '/api',
      '/api/v1',
      'x/api/',
      '/API/',
      '/wp-login.php',
      'a\nb',
      'ab\n',
      'é/ü',
      '/p/10',
      '/p/1',
    ];
    const patterns = [
      '',
      '^',
      '$',
      '^$',
      '/api',
      '^/api',
      '/api$',
      '^/api$',
      '^/',
      '/$',
      'ü',
      '^/p/1',
      '\\.php',
      'b$',
      '^a',
    ];
    for (const p of patterns) {
      const re2 = RE2JS.compile(p);
      const re = compileClientRegex(p);
      for (const v of values)
        assert.equal(re.test(v), re2.test(v), `${JSON.stringify(p)} on ${JSON.stringify(v)}`);
    }
  });

  it('matches what it should, and names what RE2 refuses', () => {
    assert.equal(compileClientRegex('^/api/v[0-9]+/').test('/api/v2/users'), true);
    assert.equal(compileClientRegex('^api\\.').test('www.example'), false);
    assert.match(clientRegexProblem('(a)\\1') ?? '', /invalid regular expression: .*invalid escape sequence/);
    assert.match(clientRegexProblem('(?=x)') ?? '', /invalid regular expression/);
    assert.match(clientRegexProblem('(') ?? '', /invalid regular expression/);
    assert.equal(clientRegexProblem('x'.repeat(257)), 'longer than 256 characters');
    assert.equal(clientRegexProblem('^ok$'), undefined);
  });
});
