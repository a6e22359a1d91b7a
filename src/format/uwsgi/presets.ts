/**
 * uWSGI's request-log layouts as formats.
 * @module
 */
import type { UwsgiCompileOptions } from './types.ts';

/**
 * The request line uWSGI 2.0 writes when no `--logformat` is set (`uwsgi_logit_simple` in
 * core/logging.c), seen with uWSGI 2.0.21:
 *
 * `[pid: 13970|app: 0|req: 1/1] 127.0.0.1 () {24 vars in 263 bytes} [Mon Nov 23 17:35:59 2026] GET /hello?x=1 => generated 2 bytes in 0 msecs (HTTP/1.1 200) 1 headers in 45 bytes (1 switches on core 0)`
 *
 * No logformat can produce it: the app id, the app's and the instance's request counters and the
 * ` via sendfile() ` marker have no logvar, and empty values (the user in `()`) are written as
 * nothing, not `-`. It is therefore compiled with `builtin: true`, which names those fields
 * `app`, `app_req`, `req` and `via`. A response written by `wsgi.file_wrapper` shows
 * ` via sendfile() ` between `msecs` and `(`; a line that would exceed 4096 bytes (a long URI) is
 * replaced by uWSGI with `0.0.0.0 ()`, `- -` for method and URI and `(- 200)`, which parses as
 * those values.
 *
 * Not covered: `--vhost` (the line starts with the host and a space), `--memory-report` (a
 * `{address space usage: …} {rss usage: …} ` block before the line); compile such a variant with
 * `builtin: true` (`%(host) ` + this format, …).
 */
export const UWSGI_DEFAULT_LINE =
  '[pid: %(pid)|app: %(app)|req: %(app_req)/%(req)] %(addr) (%(user)) {%(vars) vars in %(pktsize) bytes} ' +
  '[%(ctime)] %(method) %(uri) => generated %(rsize) bytes in %(msecs) msecs%(via)(%(proto) %(status)) ' +
  '%(headers) headers in %(hsize) bytes (%(switches) switches on core %(core))';

/** The built-in line with `--log-micros`: the response time in microseconds. */
export const UWSGI_DEFAULT_LINE_MICROS = UWSGI_DEFAULT_LINE.replace('%(msecs) msecs', '%(micros) micros');

/** The reference's "Apache-style combined request logging" logformat. */
export const UWSGI_APACHE_COMBINED =
  '%(addr) - %(user) [%(ltime)] "%(method) %(uri) %(proto)" %(status) %(size) "%(referer)" "%(uagent)"';

/**
 * The reference's "uWSGI default logging" logformat: the built-in line's layout as a logformat
 * (`app: -|req: -/-` literally, and `-` for empty values such as `(-)`).
 */
export const UWSGI_COMPATIBLE =
  '[pid: %(pid)|app: -|req: -/-] %(addr) (%(user)) {%(vars) vars in %(pktsize) bytes} [%(ctime)] ' +
  '%(method) %(uri) => generated %(rsize) bytes in %(msecs) msecs (%(proto) %(status)) %(headers) ' +
  'headers in %(hsize) bytes (%(switches) switches on core %(core))';

export interface UwsgiPreset {
  readonly name: string;
  readonly format: string;
  readonly description: string;
  /** Options the format must be compiled with (`builtin` for uWSGI's built-in line). */
  readonly options: Pick<UwsgiCompileOptions, 'builtin'>;
}

/** Presets by name, as `--preset` accepts them. */
export const UWSGI_PRESETS: Readonly<Record<string, UwsgiPreset>> = {
  'uwsgi-default': {
    name: 'uwsgi-default',
    format: UWSGI_DEFAULT_LINE,
    description: "uWSGI's built-in request line (no --logformat)",
    options: { builtin: true },
  },
  'uwsgi-default-micros': {
    name: 'uwsgi-default-micros',
    format: UWSGI_DEFAULT_LINE_MICROS,
    description: "uWSGI's built-in request line with --log-micros",
    options: { builtin: true },
  },
  'apache-combined': {
    name: 'apache-combined',
    format: UWSGI_APACHE_COMBINED,
    description: 'the Apache-style combined logformat from the uWSGI documentation',
    options: {},
  },
  'uwsgi-compatible': {
    name: 'uwsgi-compatible',
    format: UWSGI_COMPATIBLE,
    description: 'the logformat the uWSGI documentation gives for uWSGI-compatible lines',
    options: {},
  },
};
