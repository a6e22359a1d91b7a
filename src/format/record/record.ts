/**
 * The canonical request record: one typed shape every dialect parses into and renders from.
 * The collector reads any dialect through it; the writer renders any dialect from it.
 * Units: times are epoch seconds (with a fraction where the log has one), durations are
 * seconds, sizes are bytes.
 * @module
 */

/** One contact with an upstream server (a request may have several: retries, redirects). */
export interface UpstreamContactRecord {
  /** Group index: 0 first, +1 after each internal redirect (nginx ` : `). */
  readonly group: number;
  readonly addr: string | null;
  readonly status: number | null;
  readonly connectTime: number | null;
  readonly headerTime: number | null;
  readonly responseTime: number | null;
  readonly responseLength: number | null;
  readonly bytesSent: number | null;
  readonly bytesReceived: number | null;
}

/** Everything a request log line can say about one request. Absent means the format did not say. */
export interface RequestRecord {
  /** When the line was logged (nginx `$msec`/`$time_local`, uWSGI `%(epoch)`…), epoch seconds. */
  time?: number;
  /** When the request started (Envoy `%START_TIME%`, uWSGI `%(time)`), epoch seconds. */
  startTime?: number;
  clientAddr?: string;
  clientPort?: number;
  host?: string;
  method?: string;
  /** Path and query as sent (`/a/b?x=1`). */
  uri?: string;
  protocol?: string;
  /** 0 when no response was sent. */
  status?: number;
  /** Bytes received from the client (request line, headers and body). */
  requestBytes?: number;
  /** Bytes sent to the client, headers included. */
  responseBytes?: number;
  /** Response body bytes sent. */
  bodyBytes?: number;
  /** Total time, seconds. */
  duration?: number;
  referer?: string;
  userAgent?: string;
  user?: string;
  /** Request headers by lower-case name. */
  requestHeaders?: Record<string, string>;
  /** Response headers by lower-case name. */
  responseHeaders?: Record<string, string>;
  upstreams?: UpstreamContactRecord[];
  /**
   * Envoy's `%RESPONSE_FLAGS%` (`UF` upstream connect failure, `UT` upstream timeout, `URX`
   * retries exhausted, `NR` no route, `DC` downstream closed, `UC` upstream closed mid-response,
   * `UR` upstream reset, `UH` no healthy upstream), comma-separated; absent when none.
   */
  responseFlags?: string;
}

/** The path of a URI: everything before `?`. */
export function uriPath(uri: string): string {
  const q = uri.indexOf('?');
  return q === -1 ? uri : uri.slice(0, q);
}

/** Splits an HTTP request line `GET /x HTTP/1.1` into its parts; undefined when it is not one. */
export function splitRequestLine(
  request: string,
): { method: string; uri: string; protocol?: string } | undefined {
  const a = request.indexOf(' ');
  if (a <= 0) return undefined;
  const b = request.lastIndexOf(' ');
  const method = request.slice(0, a);
  if (b === a) return { method, uri: request.slice(a + 1) };
  const protocol = request.slice(b + 1);
  if (!protocol.startsWith('HTTP/')) return { method, uri: request.slice(a + 1) };
  return { method, uri: request.slice(a + 1, b), protocol };
}
