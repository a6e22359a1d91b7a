/**
 * Envoy conformance tables, shared by the renderer and parser tests. There is no Envoy binary
 * here: every row comes from reference 003 (`shared/reference/003_99840bf44b1c28b9.txt`), Envoy's
 * access-log documentation it was taken from, or `shared/spec/formats.md`, and the expected text
 * is exactly what those documents show (marked "reference:" / "envoy docs:" / "spec:"). Rows
 * marked "logtally:" pin a choice logtally made where the documents are silent (see the module
 * documentation of ./index.ts).
 *
 * Each row: a format, the render input (`vars`), the exact text Envoy writes (`line`, without
 * the final newline), and what parsing that text gives (`fields`, default: `vars`).
 */
import type { Fields, RenderValue } from '../types.ts';
import type { EnvoyCompileOptions, EnvoyJsonOptions } from './types.ts';

type Vars = Readonly<Record<string, RenderValue>>;

export interface TextCase {
  readonly what: string;
  readonly format: string;
  readonly opts?: EnvoyCompileOptions;
  readonly vars: Vars;
  readonly line: string;
  /** What parsing `line` gives, when it is not `vars`. */
  readonly fields?: Fields;
}

export interface DictCase {
  readonly what: string;
  readonly dict: object;
  readonly opts: EnvoyJsonOptions;
  readonly vars: Vars;
  readonly line: string;
  readonly fields?: Fields;
}

/** Lines written by other Envoy versions or styles that must parse (no rendering). */
export interface ParseCase {
  readonly what: string;
  readonly dict: object;
  readonly opts: EnvoyJsonOptions;
  readonly line: string;
  readonly fields: Fields;
}

/** 2026-11-22T18:55:06.123456789Z, a Sunday. */
export const T_NS = 1_795_373_706_123_456_789n;
/** The same instant as epoch seconds (a double keeps microseconds). */
export const T_SEC = 1_795_373_706.123;

/** The metadata of reference 003's DYNAMIC_METADATA / CLUSTER_METADATA examples. */
const MY_FILTER = { test_key: 'foo', test_object: { inner_key: 'bar' } };

export const DEFAULT_EXAMPLE_VARS: Fields = {
  START_TIME: 1460751420.31,
  'REQ(:METHOD)': 'POST',
  'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': '/api/v1/locations',
  PROTOCOL: 'HTTP/2',
  RESPONSE_CODE: 204,
  RESPONSE_FLAGS: null,
  BYTES_RECEIVED: 154,
  BYTES_SENT: 0,
  DURATION: 226,
  'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': '100',
  'REQ(X-FORWARDED-FOR)': '10.0.35.28',
  'REQ(USER-AGENT)': 'nsq2http',
  'REQ(X-REQUEST-ID)': 'cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2',
  'REQ(:AUTHORITY)': 'locations',
  UPSTREAM_HOST: 'tcp://10.0.2.1:80',
};

function metadataCases(op: 'DYNAMIC_METADATA' | 'CLUSTER_METADATA'): TextCase[] {
  const vars = { [op]: { 'com.test.my_filter': MY_FILTER } };
  const row = (args: string, line: string, value: Fields[string], trunc = ''): TextCase => ({
    what: `reference: %${op}(${args})${trunc}%`,
    format: `%${op}(${args})${trunc}%`,
    vars,
    line,
    fields: { [`${op}(${args})`]: value },
  });
  return [
    row('com.test.my_filter', '{"test_key": "foo", "test_object": {"inner_key": "bar"}}', MY_FILTER),
    row('com.test.my_filter:test_key', 'foo', 'foo'),
    row('com.test.my_filter:test_object', '{"inner_key": "bar"}', { inner_key: 'bar' }),
    row('com.test.my_filter:test_object:inner_key', 'bar', 'bar'),
    row('com.unknown_filter', '-', null),
    row('com.test.my_filter:unknown_key', '-', null),
    row('com.test.my_filter', '{"test_key": "foo", "test', '{"test_key": "foo", "test', ':25'),
  ];
}

const everyOperator =
  '%START_TIME%|%REQUEST_HEADERS_BYTES%|%BYTES_RECEIVED%|%PROTOCOL%|%RESPONSE_CODE%|%RESPONSE_CODE_DETAILS%|' +
  '%CONNECTION_TERMINATION_DETAILS%|%RESPONSE_HEADERS_BYTES%|%RESPONSE_TRAILERS_BYTES%|%BYTES_SENT%|%DURATION%|' +
  '%REQUEST_DURATION%|%REQUEST_TX_DURATION%|%RESPONSE_DURATION%|%RESPONSE_TX_DURATION%|%RESPONSE_FLAGS%|' +
  '%ROUTE_NAME%|%UPSTREAM_HOST%|%UPSTREAM_CLUSTER%|%UPSTREAM_LOCAL_ADDRESS%|%UPSTREAM_TRANSPORT_FAILURE_REASON%|' +
  '%DOWNSTREAM_REMOTE_ADDRESS%|%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%|%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%|' +
  '%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%|%DOWNSTREAM_LOCAL_ADDRESS%|%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%|' +
  '%CONNECTION_ID%|%GRPC_STATUS%|%DOWNSTREAM_LOCAL_PORT%|%REQ(:METHOD)%|%RESP(CONTENT-TYPE)%|%TRAILER(GRPC-MESSAGE)%|' +
  '%DYNAMIC_METADATA(ns:k)%|%CLUSTER_METADATA(ns)%|%FILTER_STATE(fs.key:PLAIN)%|%REQUESTED_SERVER_NAME%|' +
  '%DOWNSTREAM_LOCAL_URI_SAN%|%DOWNSTREAM_PEER_URI_SAN%|%DOWNSTREAM_LOCAL_SUBJECT%|%DOWNSTREAM_PEER_SUBJECT%|' +
  '%DOWNSTREAM_PEER_ISSUER%|%DOWNSTREAM_TLS_SESSION_ID%|%DOWNSTREAM_TLS_CIPHER%|%DOWNSTREAM_TLS_VERSION%|' +
  '%DOWNSTREAM_PEER_FINGERPRINT_256%|%DOWNSTREAM_PEER_FINGERPRINT_1%|%DOWNSTREAM_PEER_SERIAL%|%DOWNSTREAM_PEER_CERT%|' +
  '%DOWNSTREAM_PEER_CERT_V_START%|%DOWNSTREAM_PEER_CERT_V_END(%Y-%m-%d)%|%HOSTNAME%|%LOCAL_REPLY_BODY%|' +
  '%FILTER_CHAIN_NAME%|%METADATA(ROUTE:ns:k)%|%DOWNSTREAM_REMOTE_PORT%|%DOWNSTREAM_DIRECT_REMOTE_PORT%';

const everyOperatorVars: Fields = {
  START_TIME: T_SEC,
  REQUEST_HEADERS_BYTES: 312,
  BYTES_RECEIVED: 154,
  PROTOCOL: 'HTTP/1.1',
  RESPONSE_CODE: 200,
  RESPONSE_CODE_DETAILS: 'via_upstream',
  CONNECTION_TERMINATION_DETAILS: 'idle timeout',
  RESPONSE_HEADERS_BYTES: 120,
  RESPONSE_TRAILERS_BYTES: 0,
  BYTES_SENT: 612,
  DURATION: 12,
  REQUEST_DURATION: 1,
  REQUEST_TX_DURATION: 2,
  RESPONSE_DURATION: 10,
  RESPONSE_TX_DURATION: 2,
  RESPONSE_FLAGS: 'UF,URX',
  ROUTE_NAME: 'default route',
  UPSTREAM_HOST: '10.0.2.1:80',
  UPSTREAM_CLUSTER: 'backend',
  UPSTREAM_LOCAL_ADDRESS: '10.0.1.5:40312',
  UPSTREAM_TRANSPORT_FAILURE_REASON:
    'TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED',
  DOWNSTREAM_REMOTE_ADDRESS: '192.0.2.7:51234',
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: '192.0.2.7',
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: '[2001:db8::7]:51234',
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: '2001:db8::7',
  DOWNSTREAM_LOCAL_ADDRESS: '10.0.0.1:443',
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: '10.0.0.1',
  CONNECTION_ID: 4711,
  GRPC_STATUS: 'Unavailable',
  DOWNSTREAM_LOCAL_PORT: 443,
  'REQ(:METHOD)': 'GET',
  'RESP(CONTENT-TYPE)': 'text/html; charset=utf-8',
  'TRAILER(GRPC-MESSAGE)': 'upstream connect error',
  'DYNAMIC_METADATA(ns:k)': 'v',
  'CLUSTER_METADATA(ns)': { zone: 'eu-1', weight: 3 },
  'FILTER_STATE(fs.key:PLAIN)': 'plain state',
  REQUESTED_SERVER_NAME: 'www.example.com',
  DOWNSTREAM_LOCAL_URI_SAN: 'spiffe://cluster.local/ns/default/sa/web',
  DOWNSTREAM_PEER_URI_SAN: 'spiffe://cluster.local/ns/a/sa/b,spiffe://cluster.local/ns/a/sa/c',
  DOWNSTREAM_LOCAL_SUBJECT: 'CN=www.example.com,O=Example Inc',
  DOWNSTREAM_PEER_SUBJECT: 'CN=client,O=Example Inc',
  DOWNSTREAM_PEER_ISSUER: 'CN=Example CA',
  DOWNSTREAM_TLS_SESSION_ID: 'f6ee1b0bd7bd4bd0b6a8a5e6e4f1f86a',
  DOWNSTREAM_TLS_CIPHER: 'ECDHE-RSA-AES128-GCM-SHA256',
  DOWNSTREAM_TLS_VERSION: 'TLSv1.3',
  DOWNSTREAM_PEER_FINGERPRINT_256: '9c2ef2e4d7a3e3e1b3dd2b5c0e6c6f0c5a6f8f1d1e9e5c3e4a1b2c3d4e5f6a7b',
  DOWNSTREAM_PEER_FINGERPRINT_1: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  DOWNSTREAM_PEER_SERIAL: '0f1e2d3c',
  DOWNSTREAM_PEER_CERT: '-----BEGIN%20CERTIFICATE-----%0AMIIB...%0A-----END%20CERTIFICATE-----%0A',
  DOWNSTREAM_PEER_CERT_V_START: 1_763_837_706.5,
  'DOWNSTREAM_PEER_CERT_V_END(%Y-%m-%d)': '2027-11-22',
  HOSTNAME: 'edge-1',
  LOCAL_REPLY_BODY: 'upstream connect error or disconnect/reset before headers',
  FILTER_CHAIN_NAME: 'https',
  'METADATA(ROUTE:ns:k)': 12.5,
  DOWNSTREAM_REMOTE_PORT: 51234,
  DOWNSTREAM_DIRECT_REMOTE_PORT: 51234,
};

export const TEXT_CASES: readonly TextCase[] = [
  {
    what: 'envoy docs: the example of the default format',
    format:
      '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% ' +
      '%RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% ' +
      '"%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n',
    vars: DEFAULT_EXAMPLE_VARS,
    line:
      '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" ' +
      '"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"',
  },
  ...metadataCases('DYNAMIC_METADATA'),
  ...metadataCases('CLUSTER_METADATA'),
  // START_TIME examples of Envoy's documentation ("E.g. 1527590590.528").
  {
    what: 'envoy docs: %START_TIME(%Y/%m/%dT%H:%M:%S%z %s)%',
    format: '%START_TIME(%Y/%m/%dT%H:%M:%S%z %s)%',
    vars: { START_TIME: 1527590590.528 },
    line: '2018/05/29T10:43:10+0000 1527590590',
    fields: { 'START_TIME(%Y/%m/%dT%H:%M:%S%z %s)': '2018/05/29T10:43:10+0000 1527590590' },
  },
  {
    what: 'envoy docs: %START_TIME(%s.%3f)% (epoch seconds with milliseconds)',
    format: '%START_TIME(%s.%3f)%',
    vars: { START_TIME: 1527590590.528 },
    line: '1527590590.528',
    fields: { 'START_TIME(%s.%3f)': 1527590590.528 },
  },
  {
    what: 'envoy docs: %START_TIME(%s.%6f)%',
    format: '%START_TIME(%s.%6f)%',
    vars: { START_TIME: 1527590590528123456n },
    line: '1527590590.528123',
    fields: { 'START_TIME(%s.%6f)': 1527590590.528123 },
  },
  {
    what: 'envoy docs: %START_TIME(%s.%9f)% (nanoseconds: kept as text, a double cannot hold them)',
    format: '%START_TIME(%s.%9f)%',
    vars: { START_TIME: 1527590590528123456n },
    line: '1527590590.528123456',
    fields: { 'START_TIME(%s.%9f)': '1527590590.528123456' },
  },
  {
    what: 'spec: %Ns is epoch seconds with N fractional digits',
    format: '%START_TIME(%3s)% %START_TIME(%1s)%',
    vars: { START_TIME: T_NS },
    line: '1795373706.123 1795373706.1',
    fields: { 'START_TIME(%3s)': 1795373706.123, 'START_TIME(%1s)': 1795373706.1 },
  },
  {
    what: 'spec: default START_TIME is ISO 8601 UTC with milliseconds, from a Date',
    format: '[%START_TIME%]',
    vars: { START_TIME: new Date(Date.UTC(2026, 10, 22, 18, 55, 6, 123)) },
    line: '[2026-11-22T18:55:06.123Z]',
    fields: { START_TIME: 1795373706.123 },
  },
  {
    what: 'spec: default START_TIME from epoch nanoseconds (milliseconds truncated, not rounded)',
    format: '[%START_TIME%]',
    vars: { START_TIME: 1_795_373_706_999_999_999n },
    line: '[2026-11-22T18:55:06.999Z]',
    fields: { START_TIME: 1795373706.999 },
  },
  {
    what: 'logtally: utcOffset applies to custom START_TIME formats, never to the default text',
    format: '%START_TIME% %START_TIME(%H:%M %z)%',
    opts: { utcOffset: 60 },
    vars: { START_TIME: T_SEC },
    line: '2026-11-22T18:55:06.123Z 19:55 +0100',
    fields: { START_TIME: T_SEC, 'START_TIME(%H:%M %z)': '19:55 +0100' },
  },
  {
    what: 'reference: START_TIME variants read the one START_TIME value; their own key wins',
    format: '%START_TIME(%F)% %START_TIME(%T)%',
    vars: { START_TIME: T_SEC, 'START_TIME(%T)': '01:02:03' },
    line: '2026-11-22 01:02:03',
    fields: { 'START_TIME(%F)': '2026-11-22', 'START_TIME(%T)': '01:02:03' },
  },
  // REQ(X?Y)
  {
    what: 'reference: REQ(X?Y) takes Y when X is not set',
    format: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
    vars: { 'REQ(:PATH)': '/p?x=1' },
    line: '/p?x=1',
    fields: { 'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': '/p?x=1' },
  },
  {
    what: 'reference: REQ(X?Y) takes X when it is set',
    format: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
    vars: { 'REQ(X-ENVOY-ORIGINAL-PATH)': '/original', 'REQ(:PATH)': '/rewritten' },
    line: '/original',
    fields: { 'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': '/original' },
  },
  {
    what: 'reference: REQ(X?Y) writes - when neither is set',
    format: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
    vars: { 'REQ(X-ENVOY-ORIGINAL-PATH)': null },
    line: '-',
    fields: { 'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': null },
  },
  {
    what: 'reference: RESP and TRAILER work like REQ',
    format: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %TRAILER(GRPC-STATUS?X-GRPC-STATUS)%',
    vars: { 'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': '17', 'TRAILER(X-GRPC-STATUS)': '0' },
    line: '17 0',
    fields: { 'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': '17', 'TRAILER(GRPC-STATUS?X-GRPC-STATUS)': '0' },
  },
  // Truncation
  {
    what: 'reference: %REQ(X):Z% truncates to Z characters',
    format: '"%REQ(USER-AGENT):10%"',
    vars: { 'REQ(USER-AGENT)': 'Mozilla/5.0 (X11; Linux x86_64)' },
    line: '"Mozilla/5."',
    fields: { 'REQ(USER-AGENT)': 'Mozilla/5.' },
  },
  {
    what: 'logtally: Z counts bytes (Envoy uses std::string::substr); a cut character keeps its bytes',
    format: '%REQ(X):2%|%REQ(Y):3%',
    vars: { 'REQ(X)': 'é€', 'REQ(Y)': 'é€' },
    line: 'é|é\udce2',
    fields: { 'REQ(X)': 'é', 'REQ(Y)': 'é\udce2' },
  },
  {
    what: 'reference: an unset value is "-" whatever the truncation; :0 empties a set value',
    format: '%REQ(X):1%|%REQ(Y):0%',
    vars: { 'REQ(Y)': 'abc' },
    line: '-|',
    fields: { 'REQ(X)': null, 'REQ(Y)': '' },
  },
  {
    what: 'logtally: a truncated START_TIME reads back as text',
    format: '%START_TIME:10%',
    vars: { START_TIME: T_SEC },
    line: '2026-11-22',
    fields: { START_TIME: '2026-11-22' },
  },
  // Unset values and numbers
  {
    what: 'reference: unset values are -',
    format: '%PROTOCOL% %RESPONSE_CODE% %DURATION% %UPSTREAM_HOST% "%REQ(USER-AGENT)%" %RESPONSE_FLAGS%',
    vars: {},
    line: '- - - - "-" -',
    fields: {
      PROTOCOL: null,
      RESPONSE_CODE: null,
      DURATION: null,
      UPSTREAM_HOST: null,
      'REQ(USER-AGENT)': null,
      RESPONSE_FLAGS: null,
    },
  },
  {
    what: 'envoy docs: omit_empty_values writes unset values as nothing (RESPONSE_FLAGS is always - when empty)',
    format: '%PROTOCOL%|%DURATION%|%REQ(X)%|%RESPONSE_FLAGS%|%RESPONSE_CODE%',
    opts: { omitEmptyValues: true },
    vars: { RESPONSE_CODE: 0 },
    line: '|||-|0',
    fields: { PROTOCOL: null, DURATION: null, 'REQ(X)': null, RESPONSE_FLAGS: null, RESPONSE_CODE: 0 },
  },
  {
    what: 'spec: RESPONSE_CODE 0 (no response sent); durations are whole milliseconds, truncated',
    format: '%RESPONSE_CODE% %DURATION% %RESPONSE_DURATION%',
    vars: { RESPONSE_CODE: 0, DURATION: 12.9, RESPONSE_DURATION: 0 },
    line: '0 12 0',
    fields: { RESPONSE_CODE: 0, DURATION: 12, RESPONSE_DURATION: 0 },
  },
  {
    what: 'spec: RESPONSE_FLAGS is a comma-joined list of short codes',
    format: '%RESPONSE_FLAGS% %RESPONSE_CODE%',
    vars: { RESPONSE_FLAGS: ['UF', 'URX'], RESPONSE_CODE: 503 },
    line: 'UF,URX 503',
    fields: { RESPONSE_FLAGS: 'UF,URX', RESPONSE_CODE: 503 },
  },
  {
    what: 'logtally: GRPC_STATUS writes the status name for a number',
    format: '%GRPC_STATUS%',
    vars: { GRPC_STATUS: 14 },
    line: 'Unavailable',
    fields: { GRPC_STATUS: 'Unavailable' },
  },
  // Addresses
  {
    what: 'reference: addresses without port, and the local port, derive from the full address',
    format:
      '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%',
    vars: { DOWNSTREAM_REMOTE_ADDRESS: '[2001:db8::1]:51234', DOWNSTREAM_LOCAL_ADDRESS: '10.0.0.1:8443' },
    line: '2001:db8::1 10.0.0.1 8443',
    fields: {
      DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: '2001:db8::1',
      DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: '10.0.0.1',
      DOWNSTREAM_LOCAL_PORT: 8443,
    },
  },
  // Escaping
  {
    what: 'spec/reference: text formats escape nothing (quotes, backslashes, controls, raw bytes copied)',
    format: '"%REQ(USER-AGENT)%" %RESPONSE_CODE%',
    vars: { 'REQ(USER-AGENT)': 'a "q" \\ \t\x01 é \udc80', RESPONSE_CODE: 200 },
    line: '"a "q" \\ \t\x01 é \udc80" 200',
  },
  {
    what: 'spec: %% is a literal percent',
    format: '100%% %RESPONSE_CODE% %%%%',
    vars: { RESPONSE_CODE: 200 },
    line: '100% 200 %%',
  },
  // Metadata and filter state
  {
    what: 'reference: FILTER_STATE with PLAIN and TYPED serialisation, nested keys of METADATA',
    format: '%FILTER_STATE(my.key:PLAIN)% %FILTER_STATE(my.obj)% %METADATA(ROUTE:ns:a:b)%',
    vars: {
      FILTER_STATE: { 'my.key': 'plain', 'my.obj': { a: 1, b: [true, null] } },
      METADATA: { ROUTE: { ns: { a: { b: 7 } } } },
    },
    line: 'plain {"a": 1, "b": [true, null]} 7',
    fields: {
      'FILTER_STATE(my.key:PLAIN)': 'plain',
      'FILTER_STATE(my.obj)': { a: 1, b: [true, null] },
      'METADATA(ROUTE:ns:a:b)': 7,
    },
  },
  {
    what: 'logtally: protobuf JSON style (compact, quoted strings, < > escaped) for metadata in text',
    format: '%DYNAMIC_METADATA(ns)% %DYNAMIC_METADATA(ns:k)%',
    opts: { jsonStyle: 'protobuf' },
    vars: { 'DYNAMIC_METADATA(ns)': { k: '<b>', n: 1 } },
    line: '{"k":"\\u003cb\\u003e","n":1} "\\u003cb\\u003e"',
    fields: { 'DYNAMIC_METADATA(ns)': { k: '<b>', n: 1 }, 'DYNAMIC_METADATA(ns:k)': '<b>' },
  },
  {
    what: 'reference: every command operator of the reference renders and parses',
    format: everyOperator,
    vars: everyOperatorVars,
    line:
      '2026-11-22T18:55:06.123Z|312|154|HTTP/1.1|200|via_upstream|idle timeout|120|0|612|12|1|2|10|2|UF,URX|' +
      'default route|10.0.2.1:80|backend|10.0.1.5:40312|' +
      'TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED|192.0.2.7:51234|192.0.2.7|' +
      '[2001:db8::7]:51234|2001:db8::7|10.0.0.1:443|10.0.0.1|4711|Unavailable|443|GET|text/html; charset=utf-8|' +
      'upstream connect error|v|{"zone": "eu-1", "weight": 3}|plain state|www.example.com|' +
      'spiffe://cluster.local/ns/default/sa/web|spiffe://cluster.local/ns/a/sa/b,spiffe://cluster.local/ns/a/sa/c|' +
      'CN=www.example.com,O=Example Inc|CN=client,O=Example Inc|CN=Example CA|f6ee1b0bd7bd4bd0b6a8a5e6e4f1f86a|' +
      'ECDHE-RSA-AES128-GCM-SHA256|TLSv1.3|9c2ef2e4d7a3e3e1b3dd2b5c0e6c6f0c5a6f8f1d1e9e5c3e4a1b2c3d4e5f6a7b|' +
      'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678|0f1e2d3c|' +
      '-----BEGIN%20CERTIFICATE-----%0AMIIB...%0A-----END%20CERTIFICATE-----%0A|2025-11-22T18:55:06.500Z|' +
      '2027-11-22|edge-1|upstream connect error or disconnect/reset before headers|https|12.5|51234|51234',
  },
];

const REFERENCE_DICT = {
  protocol: '%PROTOCOL%',
  duration: '%DURATION%',
  my_custom_header: '%REQ(MY_CUSTOM_HEADER)%',
};
const REFERENCE_VARS = {
  PROTOCOL: 'HTTP/1.1',
  DURATION: 123,
  'REQ(MY_CUSTOM_HEADER)': 'value_of_MY_CUSTOM_HEADER',
};

export const DICT_CASES: readonly DictCase[] = [
  {
    what: 'envoy docs: the json_format example',
    dict: REFERENCE_DICT,
    opts: { typed: false },
    vars: REFERENCE_VARS,
    line: '{"protocol": "HTTP/1.1", "duration": "123", "my_custom_header": "value_of_MY_CUSTOM_HEADER"}',
  },
  {
    what: 'reference: typed_json_format renders the duration as the number 123',
    dict: REFERENCE_DICT,
    opts: { typed: true },
    vars: REFERENCE_VARS,
    line: '{"protocol": "HTTP/1.1", "duration": 123, "my_custom_header": "value_of_MY_CUSTOM_HEADER"}',
  },
  {
    what: 'reference: "%DURATION%" is a number but "%DURATION%.0" is a string',
    dict: { a: '%DURATION%', b: '%DURATION%.0', c: 'took %DURATION%ms via %UPSTREAM_HOST%' },
    opts: { typed: true },
    vars: { DURATION: 123 },
    line: '{"a": 123, "b": "123.0", "c": "took 123ms via -"}',
    fields: { DURATION: 123, UPSTREAM_HOST: null },
  },
  {
    what: 'reference: unset is the string "-" in json_format',
    dict: {
      code: '%RESPONSE_CODE%',
      ua: '%REQ(USER-AGENT)%',
      md: '%DYNAMIC_METADATA(ns:k)%',
      flags: '%RESPONSE_FLAGS%',
    },
    opts: { typed: false },
    vars: {},
    line: '{"code": "-", "ua": "-", "md": "-", "flags": "-"}',
    fields: {
      RESPONSE_CODE: null,
      'REQ(USER-AGENT)': null,
      'DYNAMIC_METADATA(ns:k)': null,
      RESPONSE_FLAGS: null,
    },
  },
  {
    what: 'reference: unset is null in typed_json_format, PROTOCOL is "-", empty strings are ""',
    dict: { code: '%RESPONSE_CODE%', ua: '%REQ(USER-AGENT)%', proto: '%PROTOCOL%', ref: '%REQ(REFERER)%' },
    opts: { typed: true },
    vars: { 'REQ(REFERER)': '' },
    line: '{"code": null, "ua": null, "proto": "-", "ref": ""}',
    fields: { RESPONSE_CODE: null, 'REQ(USER-AGENT)': null, PROTOCOL: null, 'REQ(REFERER)': '' },
  },
  {
    what: 'reference: omit_empty_values drops unset keys (json_format)',
    dict: { code: '%RESPONSE_CODE%', ua: '%REQ(USER-AGENT)%', mixed: '%REQ(USER-AGENT)%/x' },
    opts: { typed: false, omitEmptyValues: true },
    vars: { RESPONSE_CODE: 200 },
    line: '{"code": "200", "mixed": "/x"}',
    fields: { RESPONSE_CODE: 200, 'REQ(USER-AGENT)': null },
  },
  {
    what: 'reference: omit_empty_values drops unset keys (typed_json_format), nested objects stay',
    dict: { a: { code: '%RESPONSE_CODE%', ua: '%REQ(USER-AGENT)%' }, b: { ua: '%REQ(USER-AGENT)%' } },
    opts: { typed: true, omitEmptyValues: true },
    vars: { RESPONSE_CODE: 200 },
    line: '{"a": {"code": 200}, "b": {}}',
    fields: { RESPONSE_CODE: 200, 'REQ(USER-AGENT)': null },
  },
  {
    what: 'reference: nested dictionaries keep their shape and key order',
    dict: { z: '%PROTOCOL%', request: { method: '%REQ(:METHOD)%', path: '%REQ(:PATH)%' }, a: 'fixed' },
    opts: { typed: true },
    vars: { PROTOCOL: 'HTTP/2', 'REQ(:METHOD)': 'GET', 'REQ(:PATH)': '/' },
    line: '{"z": "HTTP/2", "request": {"method": "GET", "path": "/"}, "a": "fixed"}',
  },
  {
    what: 'reference: START_TIME is always a string in typed JSON',
    dict: { t: '%START_TIME%', s: '%START_TIME(%s)%' },
    opts: { typed: true },
    vars: { START_TIME: T_SEC },
    line: '{"t": "2026-11-22T18:55:06.123Z", "s": "1795373706"}',
    fields: { START_TIME: T_SEC, 'START_TIME(%s)': 1795373706 },
  },
  {
    what: 'reference: metadata is a JSON value in typed JSON (no truncation) and a string in json_format',
    dict: { typed: '%DYNAMIC_METADATA(com.test.my_filter):5%' },
    opts: { typed: true },
    vars: { DYNAMIC_METADATA: { 'com.test.my_filter': MY_FILTER } },
    line: '{"typed": {"test_key": "foo", "test_object": {"inner_key": "bar"}}}',
    fields: { 'DYNAMIC_METADATA(com.test.my_filter)': MY_FILTER },
  },
  {
    what: 'reference: metadata in json_format is its JSON text, truncated',
    dict: {
      m: '%DYNAMIC_METADATA(com.test.my_filter):25%',
      k: '%DYNAMIC_METADATA(com.test.my_filter:test_key)%',
    },
    opts: { typed: false },
    vars: { DYNAMIC_METADATA: { 'com.test.my_filter': MY_FILTER } },
    line: '{"m": "{\\"test_key\\": \\"foo\\", \\"test", "k": "foo"}',
    fields: {
      'DYNAMIC_METADATA(com.test.my_filter)': '{"test_key": "foo", "test',
      'DYNAMIC_METADATA(com.test.my_filter:test_key)': 'foo',
    },
  },
  {
    what: 'reference: numbers in typed JSON (codes, bytes, durations); ports and addresses are strings',
    dict: {
      code: '%RESPONSE_CODE%',
      rx: '%BYTES_RECEIVED%',
      hb: '%REQUEST_HEADERS_BYTES%',
      id: '%CONNECTION_ID%',
      port: '%DOWNSTREAM_LOCAL_PORT%',
      addr: '%DOWNSTREAM_REMOTE_ADDRESS%',
      grpc: '%GRPC_STATUS%',
    },
    opts: { typed: true },
    vars: {
      RESPONSE_CODE: 0,
      BYTES_RECEIVED: 154,
      REQUEST_HEADERS_BYTES: 312,
      CONNECTION_ID: 4711,
      DOWNSTREAM_LOCAL_PORT: 443,
      DOWNSTREAM_REMOTE_ADDRESS: '192.0.2.7:51234',
      GRPC_STATUS: 0,
    },
    line: '{"code": 0, "rx": 154, "hb": 312, "id": 4711, "port": "443", "addr": "192.0.2.7:51234", "grpc": "OK"}',
    fields: {
      RESPONSE_CODE: 0,
      BYTES_RECEIVED: 154,
      REQUEST_HEADERS_BYTES: 312,
      CONNECTION_ID: 4711,
      DOWNSTREAM_LOCAL_PORT: 443,
      DOWNSTREAM_REMOTE_ADDRESS: '192.0.2.7:51234',
      GRPC_STATUS: 'OK',
    },
  },
  {
    what: 'reference: integers above 2^53 lose precision in typed JSON',
    dict: { sent: '%BYTES_SENT%' },
    opts: { typed: true },
    vars: { BYTES_SENT: 9_007_199_254_740_993n },
    line: '{"sent": 9007199254740992}',
    fields: { BYTES_SENT: 9_007_199_254_740_992 },
  },
  {
    what: 'logtally: JSON strings escape only what JSON requires (reference style)',
    dict: { ua: '%REQ(USER-AGENT)%' },
    opts: { typed: true },
    vars: { 'REQ(USER-AGENT)': 'q"b\\s/<>\n\r\t\b\f\x01\x1f\x7f é😀\udc80' },
    line: '{"ua": "q\\"b\\\\s/<>\\n\\r\\t\\b\\f\\u0001\\u001f\x7f é😀\udc80"}',
  },
  {
    what: 'logtally: protobuf style is compact and escapes < > DEL and C1 controls',
    dict: { ua: '%REQ(USER-AGENT)%', n: '%DURATION%', nested: { x: '%PROTOCOL%' } },
    opts: { typed: true, jsonStyle: 'protobuf' },
    vars: { 'REQ(USER-AGENT)': '<a>\x7f\u0085\u2028é', DURATION: 5, PROTOCOL: 'HTTP/1.1' },
    line: '{"ua":"\\u003ca\\u003e\\u007f\\u0085\\u2028é","n":5,"nested":{"x":"HTTP/1.1"}}',
  },
  {
    what: 'reference: lists in a dictionary',
    dict: { l: ['%RESPONSE_CODE%', 'x', { d: '%DURATION%' }] },
    opts: { typed: true },
    vars: { RESPONSE_CODE: 200, DURATION: 3 },
    line: '{"l": [200, "x", {"d": 3}]}',
  },
];

export const JSON_PARSE_CASES: readonly ParseCase[] = [
  {
    what: "Envoy's protobuf output (compact, keys in another order) parses",
    dict: REFERENCE_DICT,
    opts: { typed: true },
    line: '{"duration":123,"my_custom_header":"value_of_MY_CUSTOM_HEADER","protocol":"HTTP/1.1"}',
    fields: REFERENCE_VARS,
  },
  {
    what: 'any JSON escapes parse (\\u forms, \\/ and surrogate pairs)',
    dict: { ua: '%REQ(USER-AGENT)%' },
    opts: { typed: false },
    line: '{ "ua" : "\\u003cb\\u003e \\/ \\ud83d\\ude00 \\u00e9" }',
    fields: { 'REQ(USER-AGENT)': '<b> / 😀 é' },
  },
  {
    what: 'extra keys are ignored; with omit_empty_values a missing key is unset',
    dict: { code: '%RESPONSE_CODE%', ua: '%REQ(USER-AGENT)%' },
    opts: { typed: true, omitEmptyValues: true },
    line: '{"extra": 1, "code": 404}',
    fields: { RESPONSE_CODE: 404, 'REQ(USER-AGENT)': null },
  },
];
