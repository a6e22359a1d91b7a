import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatSyntaxError, LineParseError, LogtallyError } from '../errors.ts';
import type { Fields } from '../types.ts';
import { compileEnvoy, compileEnvoyPreset } from './compile.ts';
import { DEFAULT_EXAMPLE_VARS } from './conformance.case.ts';
import { compileEnvoyJson } from './dictionary.ts';
import { ENVOY_RESPONSE_FLAGS, knownEnvoyOperators } from './operators.ts';
import { ENVOY_DEFAULT_FORMAT } from './presets.ts';
import { tokenizeEnvoyFormat } from './tokenize.ts';

function parsed(r: Fields | LineParseError): Fields {
  if (r instanceof LineParseError) throw r;
  return r;
}

/** Compile errors: the format, the 1-based column Envoy's parser would stop at, and the reason. */
const ERRORS: readonly [string, number, RegExp][] = [
  ['%FOO%', 1, /unknown command operator %FOO%/],
  ['[%START_TIME%] %BYTES%', 16, /unknown command operator %BYTES%/],
  ['%start_time%', 1, /must be followed by an operator name/],
  ['100% done', 4, /must be followed by an operator name/],
  ['ends with %', 11, /"%" at the end/],
  ['%START_TIME', 1, /unterminated command operator %START_TIME/],
  ['%REQ(:PATH)', 1, /unterminated command operator %REQ/],
  ['%START_TIME(%Y', 12, /missing "\)"/],
  ['%PROTOCOL:5x%', 12, /expected "%" to close %PROTOCOL%?, found "x"/],
  ['%REQ(X):abc%', 8, /length after ":" in REQ must be a non-negative integer/],
  ['%REQ(X):%', 8, /length after ":"/],
  ['%REQ(X):-1%', 8, /length after ":"/],
  ['a %REQ% b', 3, /%REQ% needs arguments/],
  ['%RESP%', 1, /%RESP% needs arguments/],
  ['%TRAILER%', 1, /needs arguments/],
  ['%DYNAMIC_METADATA%', 1, /needs arguments/],
  ['%CLUSTER_METADATA:10%', 1, /needs arguments/],
  ['%FILTER_STATE%', 1, /needs arguments/],
  ['%METADATA%', 1, /needs arguments/],
  ['%REQ()%', 6, /missing header name/],
  ['%REQ(?X)%', 6, /missing header name/],
  ['%REQ(A?B?C)%', 9, /more than one alternative header/],
  ['%DURATION(x)%', 10, /%DURATION% takes no arguments/],
  ['%DYNAMIC_METADATA()%', 19, /missing namespace/],
  ['%DYNAMIC_METADATA(:key)%', 19, /missing namespace/],
  ['%METADATA(FOO:ns)%', 11, /unknown metadata type "FOO"/],
  ['%METADATA(ROUTE)%', 17, /missing namespace/],
  ['%FILTER_STATE(:PLAIN)%', 15, /missing key/],
  ['%FILTER_STATE(key:JSON)%', 19, /invalid filter state serialization "JSON"/],
  ['%FILTER_STATE(a:PLAIN:x)%', 22, /too many arguments/],
  ['%START_TIME(%Q)%', 13, /unknown conversion "%Q"/],
  ['%START_TIME(%Y%n)%', 15, /"%n" \(a newline\) is not allowed/],
  ['%START_TIME(%Y%)%', 15, /"%" at the end/],
  ['%START_TIME(%10f)%', 13, /invalid "%10f"/],
  ['%START_TIME(%0f)%', 13, /invalid "%0f"/],
  ['%START_TIME(%-s)%', 13, /invalid/],
  ['%START_TIME(%E9z)%', 13, /unsupported "%E9z"/],
  ['%START_TIME(%Oa)%', 13, /unsupported "%Oa"/],
  ['%START_TIME(%5d)%', 13, /unsupported width/],
  ['%DOWNSTREAM_PEER_CERT_V_END(%Y%K)%', 31, /unknown conversion "%K"/],
];

describe('compile errors name the column', () => {
  for (const [format, column, reason] of ERRORS) {
    it(JSON.stringify(format), () => {
      assert.throws(
        () => compileEnvoy(format),
        (e: unknown) => {
          assert.ok(e instanceof FormatSyntaxError, String(e));
          assert.equal(e.code, 'ERR_FORMAT_SYNTAX');
          assert.match(e.message, reason);
          assert.equal(e.column, column, e.message);
          return true;
        },
      );
    });
  }

  it('a newline in a header name is an error', () => {
    assert.throws(() => compileEnvoy('%REQ(A\nB)%'), /must not contain a newline/);
  });

  it('errors in a dictionary name the key, with the column in that value', () => {
    assert.throws(
      () => compileEnvoyJson({ a: { b: 'x %NOPE%' } }, { typed: true }),
      (e: unknown) =>
        e instanceof FormatSyntaxError && e.column === 3 && /in the value of "a\.b"/.test(e.message),
    );
    assert.throws(
      () => compileEnvoyJson({ a: 5 }, { typed: false }),
      (e: unknown) => e instanceof FormatSyntaxError && /"a" must be a format string/.test(e.message),
    );
    assert.throws(
      () => compileEnvoyJson({ l: [null] }, { typed: false }),
      /"l\[0\]" must be a format string/,
    );
  });

  it('rejects unknown options', () => {
    assert.throws(
      () => compileEnvoy('%PROTOCOL%', { jsonStyle: 'pretty' as 'reference' }),
      (e: unknown) => e instanceof LogtallyError && e.code === 'ERR_FORMAT_OPTION',
    );
    assert.throws(
      () => compileEnvoy('%PROTOCOL%', { utcOffset: Number.NaN }),
      (e: unknown) => e instanceof LogtallyError && e.code === 'ERR_FORMAT_OPTION',
    );
  });
});

describe('compileEnvoy', () => {
  it('knows every command operator of reference 003', () => {
    const reference = [
      'START_TIME',
      'REQUEST_HEADERS_BYTES',
      'BYTES_RECEIVED',
      'PROTOCOL',
      'RESPONSE_CODE',
      'RESPONSE_CODE_DETAILS',
      'CONNECTION_TERMINATION_DETAILS',
      'RESPONSE_HEADERS_BYTES',
      'RESPONSE_TRAILERS_BYTES',
      'BYTES_SENT',
      'DURATION',
      'REQUEST_DURATION',
      'REQUEST_TX_DURATION',
      'RESPONSE_DURATION',
      'RESPONSE_TX_DURATION',
      'RESPONSE_FLAGS',
      'ROUTE_NAME',
      'UPSTREAM_HOST',
      'UPSTREAM_CLUSTER',
      'UPSTREAM_LOCAL_ADDRESS',
      'UPSTREAM_TRANSPORT_FAILURE_REASON',
      'DOWNSTREAM_REMOTE_ADDRESS',
      'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
      'DOWNSTREAM_DIRECT_REMOTE_ADDRESS',
      'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT',
      'DOWNSTREAM_LOCAL_ADDRESS',
      'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT',
      'CONNECTION_ID',
      'GRPC_STATUS',
      'DOWNSTREAM_LOCAL_PORT',
      'REQ',
      'RESP',
      'TRAILER',
      'DYNAMIC_METADATA',
      'CLUSTER_METADATA',
      'FILTER_STATE',
      'REQUESTED_SERVER_NAME',
      'DOWNSTREAM_LOCAL_URI_SAN',
      'DOWNSTREAM_PEER_URI_SAN',
      'DOWNSTREAM_LOCAL_SUBJECT',
      'DOWNSTREAM_PEER_SUBJECT',
      'DOWNSTREAM_PEER_ISSUER',
      'DOWNSTREAM_TLS_SESSION_ID',
      'DOWNSTREAM_TLS_CIPHER',
      'DOWNSTREAM_TLS_VERSION',
      'DOWNSTREAM_PEER_FINGERPRINT_256',
      'DOWNSTREAM_PEER_FINGERPRINT_1',
      'DOWNSTREAM_PEER_SERIAL',
      'DOWNSTREAM_PEER_CERT',
      'DOWNSTREAM_PEER_CERT_V_START',
      'DOWNSTREAM_PEER_CERT_V_END',
      'HOSTNAME',
      'LOCAL_REPLY_BODY',
      'FILTER_CHAIN_NAME',
    ];
    const known = new Set(knownEnvoyOperators().map((o) => o.name));
    for (const name of reference) assert.ok(known.has(name), name);
  });

  it('knows the response flags of the reference', () => {
    for (const f of 'UF UO NR URX NC DT DC LH UT LR UR UC DI FI RL UAEX RLSE IH SI DPE UPE UMSDR OM'.split(
      ' ',
    )) {
      assert.ok(Object.hasOwn(ENVOY_RESPONSE_FLAGS, f), f);
    }
  });

  it('keys fields by the operator as written, without % and :Z', () => {
    const f = compileEnvoy(
      '%START_TIME% %START_TIME(%Y/%m/%dT%H:%M:%S%z):19% %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH):100% ' +
        '%DURATION% %RESPONSE_FLAGS% %DYNAMIC_METADATA(com.test.my_filter:test_key)% %DURATION%',
    );
    assert.deepEqual(
      f.variables.map((v) => [v.name, v.type]),
      [
        ['START_TIME', 'time'],
        ['START_TIME(%Y/%m/%dT%H:%M:%S%z)', 'time'],
        ['REQ(:METHOD)', 'token'],
        ['REQ(X-ENVOY-ORIGINAL-PATH?:PATH)', 'string'],
        ['DURATION', 'duration'],
        ['RESPONSE_FLAGS', 'flags'],
        ['DYNAMIC_METADATA(com.test.my_filter:test_key)', 'structured'],
      ],
    );
    assert.equal(f.operators.length, 8);
    assert.deepEqual(f.operators[3], {
      key: 'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)',
      name: 'REQ',
      column: f.format.indexOf('%REQ(X-ENVOY') + 1,
      type: 'string',
      args: 'X-ENVOY-ORIGINAL-PATH?:PATH',
      headers: ['X-ENVOY-ORIGINAL-PATH', ':PATH'],
      truncate: 100,
    });
  });

  it('the default format is a preset; its newline terminates the line', () => {
    const f = compileEnvoyPreset('envoy-default');
    assert.equal(f.format, ENVOY_DEFAULT_FORMAT);
    assert.ok(ENVOY_DEFAULT_FORMAT.endsWith('"%UPSTREAM_HOST%"\n'));
    assert.equal(f.lineTerminated, true);
    assert.equal(f.kind, 'text');
    assert.equal(f.dialect, 'envoy');
    const line = f.render(DEFAULT_EXAMPLE_VARS);
    assert.ok(!line.endsWith('\n'));
    assert.deepEqual(parsed(f.parse(line)), DEFAULT_EXAMPLE_VARS);
    assert.throws(
      () => compileEnvoyPreset('combined'),
      (e: unknown) => e instanceof LogtallyError && e.code === 'ERR_FORMAT_UNKNOWN_PRESET',
    );
  });

  it('FILTER_STATE without :PLAIN writes a string value as a JSON string (reference 003), and reads it back', () => {
    const f = compileEnvoy(
      '%FILTER_STATE(k)% %FILTER_STATE(k):5% %FILTER_STATE(k:TYPED)% %FILTER_STATE(k:PLAIN)% %DYNAMIC_METADATA(ns:s)%',
    );
    const vars = { FILTER_STATE: { k: 'test_value' }, DYNAMIC_METADATA: { ns: { s: 'foo' } } };
    const line = f.render(vars);
    assert.equal(line, '"test_value" "test "test_value" test_value foo');
    assert.deepEqual(parsed(f.parse(line)), {
      // The truncated copy of FILTER_STATE(k) adds nothing to the whole one.
      'FILTER_STATE(k)': 'test_value',
      'FILTER_STATE(k:TYPED)': 'test_value',
      'FILTER_STATE(k:PLAIN)': 'test_value',
      'DYNAMIC_METADATA(ns:s)': 'foo',
    });
    // Escapes as JSON; other JSON values as before.
    const g = compileEnvoy('%FILTER_STATE(k)%|%FILTER_STATE(n)%|%FILTER_STATE(o)%');
    const out = g.render({ FILTER_STATE: { k: 'a "b"\\c', n: 7, o: { x: 'y' } } });
    assert.equal(out, '"a \\"b\\"\\\\c"|7|{"x": "y"}');
    assert.deepEqual(parsed(g.parse(out)), {
      'FILTER_STATE(k)': 'a "b"\\c',
      'FILTER_STATE(n)': 7,
      'FILTER_STATE(o)': { x: 'y' },
    });
  });

  it('a format without a final newline is not line-terminated and renders whole', () => {
    const f = compileEnvoy('%RESPONSE_CODE%\n%DURATION%');
    assert.equal(f.lineTerminated, false);
    assert.equal(f.render({ RESPONSE_CODE: 200, DURATION: 1 }), '200\n1');
    assert.deepEqual(parsed(f.parse('200\n1')), { RESPONSE_CODE: 200, DURATION: 1 });
    const g = compileEnvoy('%RESPONSE_CODE%\n\n');
    assert.equal(g.lineTerminated, true);
    assert.equal(g.render({ RESPONSE_CODE: 200 }), '200\n');
  });

  it('reports the column and reason of a line that does not match', () => {
    const f = compileEnvoyPreset('envoy-default');
    const good = f.render(DEFAULT_EXAMPLE_VARS);
    const bad = f.parse(good.replace(' 204 ', ' 2x4 '));
    assert.ok(bad instanceof LineParseError);
    assert.equal(bad.reason, 'invalid value "2x4" for %RESPONSE_CODE%');
    assert.equal(bad.column, good.indexOf(' 204 ') + 2);
    const start = f.parse('2016-04-15 ...');
    assert.ok(start instanceof LineParseError);
    assert.equal(start.column, 1);
    const time = f.parse(good.replace('20:17:00', '20:17:0x'));
    assert.ok(time instanceof LineParseError);
    assert.match(time.reason, /invalid value .* for %START_TIME%/);
    const json = compileEnvoyJson({ a: '%DURATION%' }, { typed: true });
    const j = json.parse('{"a": 1');
    assert.ok(j instanceof LineParseError);
    assert.match(j.reason, /not a JSON object/);
    const k = json.parse('{"a": "x"}');
    assert.ok(k instanceof LineParseError);
    assert.match(k.reason, /invalid value for %DURATION% at "a"/);
    const m = json.parse('{"b": 1}');
    assert.ok(m instanceof LineParseError);
    assert.match(m.reason, /missing value for %DURATION% at "a"/);
  });

  it('backtracks when a value contains its own anchor', () => {
    const f = compileEnvoy('"%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" "%REQ(USER-AGENT)%" %RESPONSE_CODE%');
    const vars = {
      'REQ(:METHOD)': 'GET',
      'REQ(:PATH)': '/a b" "c',
      PROTOCOL: 'HTTP/1.1',
      'REQ(USER-AGENT)': 'ua "q" 200 x',
      RESPONSE_CODE: 200,
    };
    const line = f.render(vars);
    assert.equal(line, '"GET /a b" "c HTTP/1.1" "ua "q" 200 x" 200');
    assert.deepEqual(parsed(f.parse(line)), vars);
  });

  it('splits metadata JSON that contains the anchor', () => {
    const f = compileEnvoy('%DYNAMIC_METADATA(a)% %DYNAMIC_METADATA(b)% %RESPONSE_CODE%');
    const vars = {
      'DYNAMIC_METADATA(a)': { x: 'y z', n: [1, 2] },
      'DYNAMIC_METADATA(b)': 'plain',
      RESPONSE_CODE: 200,
    };
    const line = f.render(vars);
    assert.equal(line, '{"x": "y z", "n": [1, 2]} plain 200');
    assert.deepEqual(parsed(f.parse(line)), vars);
  });

  it('touching operators split by type', () => {
    const f = compileEnvoy('%RESPONSE_CODE%%PROTOCOL%');
    assert.deepEqual(parsed(f.parse('200HTTP/1.1')), { RESPONSE_CODE: 200, PROTOCOL: 'HTTP/1.1' });
  });

  it('reads a token written with whitespace when no other split exists', () => {
    const f = compileEnvoy('%PROTOCOL%|%RESPONSE_CODE%');
    assert.deepEqual(parsed(f.parse('HTTP 1|200')), { PROTOCOL: 'HTTP 1', RESPONSE_CODE: 200 });
    const g = compileEnvoy('"%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%"');
    // Tokens stay whole where they can: the path takes the space.
    assert.deepEqual(parsed(g.parse('"GET / a b"')), {
      'REQ(:METHOD)': 'GET',
      'REQ(:PATH)': '/ a',
      PROTOCOL: 'b',
    });
    assert.deepEqual(parsed(g.parse('"GET /a b HTTP/1.1"')), {
      'REQ(:METHOD)': 'GET',
      'REQ(:PATH)': '/a b',
      PROTOCOL: 'HTTP/1.1',
    });
  });

  it('treats functions and symbols in the source as unset', () => {
    const f = compileEnvoy('%PROTOCOL% %HOSTNAME%');
    assert.equal(
      f.render({ PROTOCOL: (() => 'x') as unknown as string, HOSTNAME: Symbol('s') as unknown as string }),
      '- -',
    );
  });

  it('tokenizes literal text, %% and operators with their columns', () => {
    assert.deepEqual(tokenizeEnvoyFormat('a%%b %PROTOCOL% c'), [
      { kind: 'literal', text: 'a%b ', column: 1 },
      { kind: 'operator', op: { key: 'PROTOCOL', name: 'PROTOCOL', column: 6, type: 'token' } },
      { kind: 'literal', text: ' c', column: 16 },
    ]);
  });
});

describe('envoy text parser: bounded work on crafted lines', () => {
  const f = compileEnvoy(
    '%REQ(:METHOD)% %REQ(USER-AGENT)% %REQ(REFERER)% %REQ(X-A)% %RESPONSE_CODE% %BYTES_SENT%',
  );
  it('gives up an 8 KB line of spaces as ambiguous in bounded time (was seconds, cubic)', () => {
    const t0 = performance.now();
    const r = f.parse(`GET ${' '.repeat(8192)}x`);
    assert.ok(r instanceof LineParseError);
    assert.match(r.message, /ambiguous line: gave up searching/);
    assert.ok(performance.now() - t0 < 2_000, `${performance.now() - t0} ms`);
  });
  it('still splits a line whose values contain the separator', () => {
    const r = f.parse('GET Mozilla/5.0 (X11; Linux) Gecko https://a.example/x?y=1 - 200 512');
    assert.ok(!(r instanceof LineParseError), String(r));
    assert.equal(r.RESPONSE_CODE, 200);
    assert.equal(r.BYTES_SENT, 512);
  });
});
