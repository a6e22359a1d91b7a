/**
 * Envoy's command operators: every operator of reference 003 (and the few newer ones logtally's
 * record mapping reads), the type of its value, and what arguments it takes.
 * @see ../../../../shared/reference/003_99840bf44b1c28b9.txt
 * @module
 */

/**
 * The type of an operator's value. It decides how a value is written (text and typed JSON) and
 * what a parsed field becomes.
 * - `string`: text (headers, names, TLS subjects…); any character, spaces included.
 * - `token`: text without whitespace (protocol, addresses, SNI, TLS version…).
 * - `int`: a non-negative integer (byte counts, `RESPONSE_CODE`, `CONNECTION_ID`); a JSON number
 *   in typed JSON.
 * - `duration`: whole milliseconds; a JSON number in typed JSON.
 * - `port`: a port number; parsed as a number, written as a string in typed JSON (Envoy renders
 *   addresses and ports as strings).
 * - `time`: `START_TIME` and the certificate validity times; always a string in typed JSON.
 * - `flags`: `RESPONSE_FLAGS`, comma-joined short codes, `-` when there are none.
 * - `structured`: metadata and filter state; JSON text in text formats, a JSON value in typed JSON.
 * - `grpc_status`: `GRPC_STATUS`, the status name (`OK`, `Unavailable`, …) or its number.
 */
export type EnvoyValueType =
  | 'string'
  | 'token'
  | 'int'
  | 'duration'
  | 'port'
  | 'time'
  | 'flags'
  | 'structured'
  | 'grpc_status';

/** What goes between the parentheses of an operator. */
export type EnvoyArgKind =
  /** No parentheses. */
  | 'none'
  /** `X?Y`: a header and an optional alternative (REQ, RESP, TRAILER). Required. */
  | 'header'
  /** `NAMESPACE:KEY:…` (DYNAMIC_METADATA, CLUSTER_METADATA). Required. */
  | 'metadata'
  /** `TYPE:NAMESPACE:KEY:…` (METADATA). Required. */
  | 'typed_metadata'
  /** `KEY:F` with F = PLAIN or TYPED (FILTER_STATE). Required. */
  | 'filter_state'
  /** An optional strftime format (START_TIME, DOWNSTREAM_PEER_CERT_V_START/END). */
  | 'time_format';

export interface EnvoyOperatorInfo {
  readonly name: string;
  readonly type: EnvoyValueType;
  readonly args: EnvoyArgKind;
  /** In typed JSON: how an unset value is written when it is not `null` (PROTOCOL: `"-"`). */
  readonly typedUnset?: string;
}

const T: Record<string, [EnvoyValueType, EnvoyArgKind?]> = {
  START_TIME: ['time', 'time_format'],
  REQUEST_HEADERS_BYTES: ['int'],
  BYTES_RECEIVED: ['int'],
  PROTOCOL: ['token'],
  RESPONSE_CODE: ['int'],
  RESPONSE_CODE_DETAILS: ['string'],
  CONNECTION_TERMINATION_DETAILS: ['string'],
  RESPONSE_HEADERS_BYTES: ['int'],
  RESPONSE_TRAILERS_BYTES: ['int'],
  BYTES_SENT: ['int'],
  DURATION: ['duration'],
  REQUEST_DURATION: ['duration'],
  REQUEST_TX_DURATION: ['duration'],
  RESPONSE_DURATION: ['duration'],
  RESPONSE_TX_DURATION: ['duration'],
  RESPONSE_FLAGS: ['flags'],
  ROUTE_NAME: ['string'],
  UPSTREAM_HOST: ['token'],
  UPSTREAM_CLUSTER: ['string'],
  UPSTREAM_LOCAL_ADDRESS: ['token'],
  UPSTREAM_TRANSPORT_FAILURE_REASON: ['string'],
  DOWNSTREAM_REMOTE_ADDRESS: ['token'],
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: ['token'],
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: ['token'],
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: ['token'],
  DOWNSTREAM_LOCAL_ADDRESS: ['token'],
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: ['token'],
  CONNECTION_ID: ['int'],
  GRPC_STATUS: ['grpc_status'],
  DOWNSTREAM_LOCAL_PORT: ['port'],
  REQ: ['string', 'header'],
  RESP: ['string', 'header'],
  TRAILER: ['string', 'header'],
  DYNAMIC_METADATA: ['structured', 'metadata'],
  CLUSTER_METADATA: ['structured', 'metadata'],
  FILTER_STATE: ['structured', 'filter_state'],
  REQUESTED_SERVER_NAME: ['token'],
  DOWNSTREAM_LOCAL_URI_SAN: ['string'],
  DOWNSTREAM_PEER_URI_SAN: ['string'],
  DOWNSTREAM_LOCAL_SUBJECT: ['string'],
  DOWNSTREAM_PEER_SUBJECT: ['string'],
  DOWNSTREAM_PEER_ISSUER: ['string'],
  DOWNSTREAM_TLS_SESSION_ID: ['token'],
  DOWNSTREAM_TLS_CIPHER: ['token'],
  DOWNSTREAM_TLS_VERSION: ['token'],
  DOWNSTREAM_PEER_FINGERPRINT_256: ['token'],
  DOWNSTREAM_PEER_FINGERPRINT_1: ['token'],
  DOWNSTREAM_PEER_SERIAL: ['token'],
  DOWNSTREAM_PEER_CERT: ['string'],
  DOWNSTREAM_PEER_CERT_V_START: ['time', 'time_format'],
  DOWNSTREAM_PEER_CERT_V_END: ['time', 'time_format'],
  HOSTNAME: ['token'],
  LOCAL_REPLY_BODY: ['string'],
  FILTER_CHAIN_NAME: ['string'],
  // Named by reference 003 only as the successor of CLUSTER_METADATA (the name is lost in the
  // reference text); Envoy's `%METADATA(TYPE:NAMESPACE:KEY*):Z%`.
  METADATA: ['structured', 'typed_metadata'],
  // Newer Envoy operators the canonical record reads (src/format/record/envoy.ts).
  DOWNSTREAM_REMOTE_PORT: ['port'],
  DOWNSTREAM_DIRECT_REMOTE_PORT: ['port'],
};

const INFO: ReadonlyMap<string, EnvoyOperatorInfo> = new Map(
  Object.entries(T).map(([name, [type, args]]) => [
    name,
    name === 'PROTOCOL'
      ? { name, type, args: args ?? 'none', typedUnset: '"-"' }
      : { name, type, args: args ?? 'none' },
  ]),
);

/** The operator named `name` (upper-case, without `%` and arguments); undefined when unknown. */
export function envoyOperator(name: string): EnvoyOperatorInfo | undefined {
  return INFO.get(name);
}

/** Every operator logtally knows, in reference order. */
export function knownEnvoyOperators(): readonly EnvoyOperatorInfo[] {
  return [...INFO.values()];
}

/** The `METADATA(TYPE:…)` types Envoy accepts. */
export const METADATA_TYPES: readonly string[] = [
  'DYNAMIC',
  'CLUSTER',
  'ROUTE',
  'UPSTREAM_HOST',
  'LISTENER',
  'VIRTUAL_HOST',
];

/**
 * `RESPONSE_FLAGS` short codes with their meaning (reference 003; `UH` and `DF` from Envoy's
 * documentation, where the reference text lost them). Parsing accepts any upper-case code so that
 * logs of newer Envoys read too.
 */
export const ENVOY_RESPONSE_FLAGS: Readonly<Record<string, string>> = {
  UH: 'No healthy upstream hosts in upstream cluster in addition to 503 response code.',
  UF: 'Upstream connection failure in addition to 503 response code.',
  UO: 'Upstream overflow (circuit breaking) in addition to 503 response code.',
  NR: 'No route configured for a given request in addition to 404 response code, or no matching filter chain for a downstream connection.',
  URX: 'The request was rejected because the upstream retry limit (HTTP) or maximum connect attempts (TCP) was reached.',
  NC: 'Upstream cluster not found.',
  DT: 'When a request or connection exceeded max_connection_duration or max_downstream_connection_duration.',
  DC: 'Downstream connection termination.',
  LH: 'Local service failed health check request in addition to 503 response code.',
  UT: 'Upstream request timeout in addition to 504 response code.',
  LR: 'Connection local reset in addition to 503 response code.',
  UR: 'Upstream remote reset in addition to 503 response code.',
  UC: 'Upstream connection termination in addition to 503 response code.',
  DI: 'The request processing was delayed for a period specified via fault injection.',
  FI: 'The request was aborted with a response code specified via fault injection.',
  RL: 'The request was ratelimited locally by the HTTP rate limit filter in addition to 429 response code.',
  UAEX: 'The request was denied by the external authorization service.',
  RLSE: 'The request was rejected because there was an error in rate limit service.',
  IH: 'The request was rejected because it set an invalid value for a strictly-checked header in addition to 400 response code.',
  SI: 'Stream idle timeout in addition to 408 response code.',
  DPE: 'The downstream request had an HTTP protocol error.',
  UPE: 'The upstream response had an HTTP protocol error.',
  UMSDR: 'The upstream request reached max stream duration.',
  OM: 'Overload Manager terminated the request.',
  DF: 'The request was terminated due to DNS resolution failure.',
};

/** gRPC status names as Envoy writes them for `%GRPC_STATUS%` (index = status code). */
export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];
