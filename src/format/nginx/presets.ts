/**
 * Formats every nginx configuration has without defining them, plus logtally's own `logtail`.
 * @module
 */

/** nginx's predefined access-log `combined` format (ngx_http_log_module). */
export const NGINX_COMBINED =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

/** The upstream log module's predefined `combined` (reference 001, `upstream_log_format`). */
export const NGINX_UPSTREAM_COMBINED =
  '$remote_addr $upstream_log_addr [$time_local] "$upstream_method $upstream_uri" ' +
  '$upstream_log_status $upstream_log_response_length $upstream_log_bytes_sent $upstream_log_bytes_received ' +
  '$upstream_log_connect_time $upstream_log_header_time $upstream_log_response_time';

/** The tab-separated layout of nginx-logtail (reference 004). */
export const NGINX_LOGTAIL =
  '$host\t$remote_addr\t$msec\t$request_method\t$request_uri\t$status\t$body_bytes_sent\t$request_time';

export interface NginxPreset {
  readonly name: string;
  readonly format: string;
  readonly description: string;
}

/** Presets by name, as `--preset` accepts them. */
export const NGINX_PRESETS: Readonly<Record<string, NginxPreset>> = {
  combined: { name: 'combined', format: NGINX_COMBINED, description: "nginx's predefined access-log format" },
  'upstream-combined': {
    name: 'upstream-combined',
    format: NGINX_UPSTREAM_COMBINED,
    description: "the upstream log module's predefined combined format",
  },
  logtail: { name: 'logtail', format: NGINX_LOGTAIL, description: 'the tab-separated nginx-logtail layout' },
};
