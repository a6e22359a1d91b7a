/**
 * Conformance table shared by the renderer and parser tests: how one value of one logvar is
 * written by uWSGI 2.0 (seen with uWSGI 2.0.21 unless marked as derived from its source; see
 * shared/spec/formats.md), and what parsing that text gives back. Each case is rendered and parsed
 * inside `[%(NAME)]`.
 */
import type { UwsgiCompileOptions } from './types.ts';

export interface UwsgiCase {
  readonly what: string;
  /** The logvar as written inside `%( )`. */
  readonly logvar: string;
  readonly value: string | number | Date | null;
  /** The text uWSGI writes for the value. */
  readonly written: string;
  /** What parsing gives back when it differs from `value` (ambiguous or rounded renderings). */
  readonly parsed?: string | number | null;
  readonly options?: UwsgiCompileOptions;
}

const rawBytes = '/raw/\udc80\udcff'; // bytes 0x80 0xFF, invalid UTF-8 (see ../bytes.ts)
const T = 1795455407; // Mon Nov 23 17:36:47 2026 UTC
const utc = { utcOffset: 0 } as const;

export const UWSGI_CASES: readonly UwsgiCase[] = [
  // Strings are written raw: uWSGI escapes nothing.
  { what: 'plain text', logvar: 'uagent', value: 'curl/8.0', written: 'curl/8.0' },
  { what: 'double quotes', logvar: 'uagent', value: 'ua "q"', written: 'ua "q"' },
  { what: 'backslash', logvar: 'uri', value: '/back\\slash', written: '/back\\slash' },
  { what: 'its own anchor inside', logvar: 'uagent', value: 'a] [b', written: 'a] [b' },
  { what: 'tab and control bytes', logvar: 'uagent', value: 'a\tb\x01\x7f', written: 'a\tb\x01\x7f' },
  { what: 'UTF-8', logvar: 'uagent', value: 'é€😀', written: 'é€😀' },
  { what: 'raw bytes > 0x7f', logvar: 'uri', value: rawBytes, written: rawBytes },
  { what: 'a request variable', logvar: 'var.HTTP_X_TEST', value: 'x"y\\z', written: 'x"y\\z' },
  { what: 'a user-defined logvar', logvar: 'myvar', value: 'GET 12', written: 'GET 12' },
  // Unset and empty values: `-` in a logformat.
  { what: 'absent header', logvar: 'uagent', value: null, written: '-' },
  { what: 'empty header', logvar: 'uagent', value: '', written: '-', parsed: null },
  { what: 'anonymous user', logvar: 'user', value: null, written: '-' },
  { what: 'unset user-defined logvar', logvar: 'nosuch', value: null, written: '-' },
  { what: 'absent request variable', logvar: 'var.NOPE', value: null, written: '-' },
  { what: 'literal dash', logvar: 'referer', value: '-', written: '-', parsed: null },
  // ... and nothing in the built-in request line.
  {
    what: 'built-in line: anonymous user',
    logvar: 'user',
    value: null,
    written: '',
    options: { builtin: true },
  },
  { what: 'built-in line: a user', logvar: 'user', value: 'bob', written: 'bob', options: { builtin: true } },
  { what: 'built-in line: a dash', logvar: 'method', value: '-', written: '-', options: { builtin: true } },
  {
    what: 'built-in line: plain response',
    logvar: 'via',
    value: null,
    written: ' ',
    options: { builtin: true },
  },
  {
    what: 'built-in line: wsgi.file_wrapper response',
    logvar: 'via',
    value: 'sendfile',
    written: ' via sendfile() ',
    options: { builtin: true },
  },
  { what: 'built-in line: no app', logvar: 'app', value: -1, written: '-1', options: { builtin: true } },
  // Numbers.
  { what: 'status', logvar: 'status', value: 200, written: '200' },
  { what: 'status 0 is not padded', logvar: 'status', value: 0, written: '0' },
  { what: 'status given as text', logvar: 'status', value: '404', written: '404', parsed: 404 },
  { what: 'size', logvar: 'size', value: 47, written: '47' },
  { what: 'micros', logvar: 'micros', value: 194, written: '194' },
  { what: 'msecs truncates', logvar: 'msecs', value: 12.9, written: '12', parsed: 12 },
  { what: 'missing number', logvar: 'rsize', value: null, written: '-' },
  { what: 'unknown metric (source: uwsgi_metric_get)', logvar: 'metric.nope', value: 0, written: '0' },
  { what: 'negative metric', logvar: 'metric.gauge', value: -5, written: '-5' },
  { what: 'tmsecs', logvar: 'tmsecs', value: 1795455407822, written: '1795455407822' },
  {
    what: 'tmsecs from a Date',
    logvar: 'tmsecs',
    value: new Date(1795455407822),
    written: '1795455407822',
    parsed: 1795455407822,
  },
  { what: 'tmicros', logvar: 'tmicros', value: 1795455407822062, written: '1795455407822062' },
  // secs: C `%f` of a float, at most 10 characters.
  { what: 'secs', logvar: 'secs', value: 0.000194, written: '0.000194' },
  { what: 'secs tie rounds to even', logvar: 'secs', value: 1 / 128, written: '0.007812', parsed: 0.007812 },
  { what: 'secs is a float', logvar: 'secs', value: 1234.5678, written: '1234.56774', parsed: 1234.56774 },
  {
    what: 'secs rounds to 6 decimals',
    logvar: 'secs',
    value: 99.9999999,
    written: '100.000000',
    parsed: 100,
  },
  // Times.
  { what: 'time', logvar: 'time', value: T, written: '1795455407' },
  {
    what: 'time from a Date',
    logvar: 'time',
    value: new Date(T * 1000 + 999),
    written: '1795455407',
    parsed: T,
  },
  { what: 'epoch drops the fraction', logvar: 'epoch', value: T + 0.7, written: '1795455407', parsed: T },
  { what: 'ltime', logvar: 'ltime', value: T, written: '23/Nov/2026:17:36:47 +0000', options: utc },
  {
    what: 'ltime with an offset',
    logvar: 'ltime',
    value: T,
    written: '23/Nov/2026:23:06:47 +0530',
    options: { utcOffset: 330 },
  },
  {
    what: 'ltime from a Date',
    logvar: 'ltime',
    value: new Date(T * 1000),
    written: '23/Nov/2026:17:36:47 +0000',
    parsed: T,
    options: utc,
  },
  { what: 'ctime', logvar: 'ctime', value: T, written: 'Mon Nov 23 17:36:47 2026', options: utc },
  {
    what: 'ctime pads the day with a space',
    logvar: 'ctime',
    value: 1793700000,
    written: 'Tue Nov  3 10:00:00 2026',
    options: utc,
  },
  {
    what: 'ctime in local time',
    logvar: 'ctime',
    value: T,
    written: 'Mon Nov 23 14:06:47 2026',
    options: { utcOffset: -210 },
  },
  {
    what: 'ftime without logdate is ltime',
    logvar: 'ftime',
    value: T,
    written: '23/Nov/2026:17:36:47 +0000',
    options: utc,
  },
  {
    what: 'ftime with logdate',
    logvar: 'ftime',
    value: T,
    written: '2026-11-23T17:36:47 Mon 327 23 UTC +0000 1795455407',
    options: { utcOffset: 0, logdate: '%Y-%m-%dT%H:%M:%S %a %j %e %Z %z %s' },
  },
  {
    what: 'ftime without a date stays text',
    logvar: 'ftime',
    value: T,
    written: '17:36',
    parsed: '17:36',
    options: { utcOffset: 0, logdate: '%H:%M' },
  },
  {
    what: 'ftime with an empty logdate',
    logvar: 'ftime',
    value: T,
    written: '-',
    parsed: null,
    options: { utcOffset: 0, logdate: '' },
  },
  { what: 'missing time', logvar: 'ltime', value: null, written: '-' },
];
