/**
 * The Synopsis configurations of the two upstream log module references, as written (the http
 * block's contents), with their 192.168.0.x servers, `listen 80` and `logs/` substituted:
 * 000 (packaged docs) names a `log_format` in `upstream_log`; 001 (README) an `upstream_log_format`.
 * @module
 */
export interface SynopsisPlaces {
  /** The two upstream servers (`host:port`). */
  readonly servers: readonly [string, string];
  /** `listen` address. */
  readonly listen: string;
  /** Directory of the logs (relative to the prefix, or absolute). */
  readonly logs: string;
}

export function synopsis(ref: '000' | '001', p: SynopsisPlaces): string {
  const [accessName, upstreamName, upstreamDirective] =
    ref === '000' ? ['access', 'upstream', 'log_format'] : ['main', 'main', 'upstream_log_format'];
  return `
        log_format ${accessName} '$remote_addr - $remote_user [$time_local] "$request" '
                        '$status $body_bytes_sent "$http_referer" '
                        '"$http_user_agent" "$http_x_forwarded_for"';

        ${upstreamDirective} ${upstreamName} '$remote_addr $upstream_last_addr [$time_local] "$upstream_method $upstream_uri" '
                                 '$upstream_last_status $upstream_last_response_length $upstream_last_bytes_sent $upstream_last_bytes_received '
                                 '$upstream_last_connect_time $upstream_last_header_time $upstream_last_response_time';

        upstream cluster {
            server ${p.servers[0]};
            server ${p.servers[1]};
        }

        server {
            listen ${p.listen};

            access_log ${p.logs}/access.log ${accessName};
            upstream_log ${p.logs}/upstream.log ${upstreamName};

            location / {
                proxy_pass http://cluster;
            }
        }
`;
}
