import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatSyntaxError, LineParseError } from '../errors.ts';
import type { Fields } from '../types.ts';
import { compileEnvoyJson } from './dictionary.ts';
import { parseEnvoyDictionary } from './yaml.ts';

function parsed(r: Fields | LineParseError): Fields {
  if (r instanceof LineParseError) throw r;
  return r;
}

describe('parseEnvoyDictionary', () => {
  it('reads the YAML of Envoy configurations, keys in order', () => {
    const d = parseEnvoyDictionary(`
# access log format
json_format:
  protocol: "%PROTOCOL%"
  duration: '%DURATION%'   # a comment
  my_custom_header: "%REQ(MY_CUSTOM_HEADER)%"
  upstream:
    host: "%UPSTREAM_HOST%"
    cluster: %UPSTREAM_CLUSTER%
  path: %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%
  "quoted key": "a \\"b\\" \\t \\u00e9 # not a comment"
  single: 'it''s'
`);
    assert.deepEqual(d, {
      json_format: {
        protocol: '%PROTOCOL%',
        duration: '%DURATION%',
        my_custom_header: '%REQ(MY_CUSTOM_HEADER)%',
        upstream: { host: '%UPSTREAM_HOST%', cluster: '%UPSTREAM_CLUSTER%' },
        path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
        'quoted key': 'a "b" \t é # not a comment',
        single: "it's",
      },
    });
    assert.deepEqual(Object.keys((d as { json_format: object }).json_format), [
      'protocol',
      'duration',
      'my_custom_header',
      'upstream',
      'path',
      'quoted key',
      'single',
    ]);
  });

  it('reads sequences, flow JSON, document markers and scalar types', () => {
    assert.deepEqual(
      parseEnvoyDictionary(`---
list:
- "%RESPONSE_CODE%"
- code: "%RESPONSE_CODE%"
  flags: "%RESPONSE_FLAGS%"
-
  - nested
flow: {"a": "%DURATION%"}
n: 12
b: true
z: ~
e:
...
ignored: after the document end
`),
      {
        list: ['%RESPONSE_CODE%', { code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%' }, ['nested']],
        flow: { a: '%DURATION%' },
        n: 12,
        b: true,
        z: null,
        e: null,
      },
    );
  });

  it('reads JSON', () => {
    const d = parseEnvoyDictionary('\ufeff{"protocol": "%PROTOCOL%", "nested": {"d": "%DURATION%"}}');
    assert.deepEqual(d, { protocol: '%PROTOCOL%', nested: { d: '%DURATION%' } });
  });

  it('keeps a __proto__ key as data', () => {
    const d = parseEnvoyDictionary('__proto__: "%PROTOCOL%"\n');
    assert.equal(Object.getPrototypeOf(d), Object.prototype);
    assert.deepEqual(Object.keys(d), ['__proto__']);
  });

  const BAD: readonly [string, RegExp, number][] = [
    ['', /empty format dictionary/, 1],
    ['a: 1\n\tb: 2\n', /tabs are not allowed/, 1],
    ['a: "x\n', /unterminated quoted scalar/, 4],
    ['a: "x" y\n', /unexpected text after a quoted scalar/, 8],
    ['a: b\n  c: d\n', /unexpected indentation/, 3],
    ['a: b\na: c\n', /duplicate key "a"/, 1],
    ['a: |\n  text\n', /unsupported YAML syntax "\|"/, 4],
    ['a: &x b\n', /unsupported YAML syntax "&"/, 4],
    ['a: "\\q"\n', /invalid escape/, 6],
    ['- a\n- b\n', /must be a mapping/, 1],
    ['{"a": 1,}', /invalid JSON/, 9],
    ['{\n  "a" 1}', /invalid JSON.*\(line 2\)/, 7],
    ['just text\n', /must be a mapping/, 1],
    ['a:\n  - x\n  y: z\n', /expected "key: value"|unexpected indentation/, 3],
  ];
  for (const [text, reason, column] of BAD) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseEnvoyDictionary(text),
        (e: unknown) => {
          assert.ok(e instanceof FormatSyntaxError, String(e));
          assert.match(e.message, reason);
          assert.equal(e.column, column, e.message);
          return true;
        },
      );
    });
  }
});

describe('compileEnvoyJson', () => {
  it('accepts the dictionary as text, and describes itself', () => {
    const f = compileEnvoyJson('protocol: "%PROTOCOL%"\nd: "%DURATION%ms"\n', { typed: true });
    assert.equal(f.format, '{"protocol":"%PROTOCOL%","d":"%DURATION%ms"}');
    assert.equal(f.kind, 'typed_json');
    assert.equal(f.lineTerminated, true);
    assert.deepEqual(
      f.variables.map((v) => v.name),
      ['PROTOCOL', 'DURATION'],
    );
    assert.equal(f.render({ PROTOCOL: 'HTTP/2', DURATION: 7 }), '{"protocol": "HTTP/2", "d": "7ms"}');
    assert.equal(compileEnvoyJson({ a: '%PROTOCOL%' }, { typed: false }).kind, 'json');
  });

  it('renders from a function source and with fallbacks (header alternative, START_TIME)', () => {
    const f = compileEnvoyJson(
      { path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', t: '%START_TIME(%s)%', ts: '[%START_TIME(%s)%]' },
      { typed: true },
    );
    const vars: Record<string, string | number> = { 'REQ(:PATH)': '/p', START_TIME: 1795373706.5 };
    assert.equal(f.render(vars), '{"path": "/p", "t": "1795373706", "ts": "[1795373706]"}');
    assert.equal(
      f.render((n) => vars[n]),
      '{"path": "/p", "t": "1795373706", "ts": "[1795373706]"}',
    );
  });

  it('omit_empty_values in lists drops unset items', () => {
    const f = compileEnvoyJson({ l: ['%REQ(A)%', '%REQ(B)%'] }, { typed: true, omitEmptyValues: true });
    assert.equal(f.render({ 'REQ(B)': 'b' }), '{"l": ["b"]}');
    assert.equal(f.render({ 'REQ(A)': 'a', 'REQ(B)': 'b' }), '{"l": ["a", "b"]}');
    assert.deepEqual(parsed(f.parse('{"l": ["a", "b"]}')), { 'REQ(A)': 'a', 'REQ(B)': 'b' });
    // One value for two items: ambiguous; the earlier item gets it (the line renders the same).
    assert.deepEqual(parsed(f.parse('{"l": ["b"]}')), { 'REQ(A)': 'b', 'REQ(B)': null });
    assert.ok(f.parse('{"l": ["a", "b", "c"]}') instanceof LineParseError);
  });

  it('a literal value must match when parsing', () => {
    const f = compileEnvoyJson({ kind: 'access', code: '%RESPONSE_CODE%' }, { typed: true });
    assert.deepEqual(parsed(f.parse('{"kind": "access", "code": 200}')), { RESPONSE_CODE: 200 });
    const bad = f.parse('{"kind": "other", "code": 200}');
    assert.ok(bad instanceof LineParseError);
    assert.match(bad.reason, /expected "access" at "kind"/);
  });

  it('a string where typed JSON expects a number still reads', () => {
    const f = compileEnvoyJson({ code: '%RESPONSE_CODE%' }, { typed: true });
    assert.deepEqual(parsed(f.parse('{"code": "503"}')), { RESPONSE_CODE: 503 });
  });

  it('mixed values with metadata and quotes round-trip through JSON escaping', () => {
    const f = compileEnvoyJson({ m: 'md=%DYNAMIC_METADATA(ns)% ua="%REQ(USER-AGENT)%"' }, { typed: false });
    const vars = { 'DYNAMIC_METADATA(ns)': { k: 'v "x"' }, 'REQ(USER-AGENT)': 'a"b' };
    const line = f.render(vars);
    assert.equal(line, '{"m": "md={\\"k\\": \\"v \\\\\\"x\\\\\\"\\"} ua=\\"a\\"b\\""}');
    assert.deepEqual(parsed(f.parse(line)), vars);
  });
});
