import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { LogtallyError } from '../../format/errors.ts';
import {
  SnapshotEntrySchema,
  SnapshotSchema,
  TopNEntrySchema,
  TrendPointSchema,
} from '../../gen/logtally/v1/logtally_pb.ts';
import { plainFilter } from '../../rpc/filter-message.ts';
import { OTHER_TEXT } from '../../store/dimensions.ts';
import { parseFilter, parseN, parseTargets, parseTimeout, parseWindow } from './options.ts';
import { formatDelay, snapshotMatcher, streamLine, summarize } from './stream.ts';
import { escapeLabel, formatCount, isoTime, sparkline } from './text.ts';
import { topnTable } from './topn.ts';
import { trendSparkline, trendTable } from './trend.ts';

describe('query text helpers', () => {
  it('formatCount groups thousands with a space', () => {
    assert.equal(formatCount(0), '0');
    assert.equal(formatCount(999), '999');
    assert.equal(formatCount(1000), '1 000');
    assert.equal(formatCount(18432), '18 432');
    assert.equal(formatCount(4211), '4 211');
    assert.equal(formatCount(1234567890), '1 234 567 890');
    assert.equal(formatCount(-4211), '-4 211');
    assert.equal(formatCount(12345.6789, 3), '12 345.679');
    assert.equal(formatCount(0.0004, 3), '0.000');
  });

  it('escapeLabel escapes controls, backslash and invisible characters, keeps printable text', () => {
    assert.equal(escapeLabel('/\x1b[31mred\n'), '/\\x1B[31mred\\x0A');
    assert.equal(escapeLabel('a\tb\rc\x00d\x7f'), 'a\\x09b\\x0Dc\\x00d\\x7F');
    assert.equal(escapeLabel('C:\\x1B'), 'C:\\\\x1B');
    assert.equal(escapeLabel('\u009b2J'), '\\u{9B}2J'); // C1 CSI
    assert.equal(escapeLabel('ab\u202Edc'), 'ab\\u{202E}dc'); // bidi override
    assert.equal(escapeLabel('a\u200Bb\u2028c'), 'a\\u{200B}b\\u{2028}c');
    assert.equal(escapeLabel('/\udc80\udcff'), '/\\x80\\xFF'); // raw bytes of invalid UTF-8
    assert.equal(escapeLabel('\ud800'), '\\u{D800}');
    assert.equal(escapeLabel('/café/日本/😀 x'), '/café/日本/😀 x');
    assert.equal(escapeLabel('2001:db8:1::/48'), '2001:db8:1::/48');
  });

  it('sparkline scales from zero to the largest value', () => {
    assert.equal(sparkline([]), '');
    assert.equal(sparkline([0, 0, 0]), '▁▁▁');
    assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), '▁▂▃▄▅▆▇█');
    assert.equal(sparkline([3, 0, 6]), '▅▁█');
    assert.equal(sparkline([1, 1000]), '▂█'); // a quiet bucket is not an empty one
    assert.equal(sparkline([5, Number.NaN, -1]), '█▁▁');
  });

  it('trend sparkline normalises 5-minute buckets to per-minute rates', () => {
    const p = (start: number, span: number, count: number) =>
      create(TrendPointSchema, { start, span, count });
    assert.equal(trendSparkline([p(0, 300, 300), p(300, 60, 60), p(360, 60, 0)]), '██▁  peak 60/min');
    assert.equal(trendSparkline([p(0, 300, 7)]), '█  peak 1.4/min');
    assert.deepEqual(trendTable([p(1_794_999_960, 60, 18432)], true), [
      'TIME                   COUNT',
      '2026-11-18T11:06:00Z  18 432',
      '█  peak 18 432/min',
    ]);
  });

  it('isoTime and formatDelay', () => {
    assert.equal(isoTime(1773516180), '2026-03-14T19:23:00Z');
    assert.equal(formatDelay(5000), '5s');
    assert.equal(formatDelay(20), '20ms');
  });

  it('stream summary: entries under the filter and the top value of the dimension', () => {
    const e = (website: string, uri: string, status: string, count: number) =>
      create(SnapshotEntrySchema, { website, prefix: '192.0.2.0/24', uri, status, method: 'GET', count });
    const snap = create(SnapshotSchema, {
      source: 'col-1',
      start: 1773516180,
      span: 60,
      entries: [
        e('example.com', '/', '200', 6000),
        e('example.com', '/x', '503', 4000),
        e('other.com', '/', '200', 9000),
        e('\x1b]0;pwn\x07', '/', '500', 1),
      ],
    });
    const all = summarize(snap, 'nginx1:9090', 'website', snapshotMatcher({}));
    assert.deepEqual(all, {
      ts: 1773516180,
      source: 'col-1',
      target: 'nginx1:9090',
      total_entries: 4,
      top_label: 'example.com',
      top_count: 10000,
      requests: 19001,
    });
    assert.equal(
      streamLine(all),
      '2026-03-14T19:23:00Z  col-1 (nginx1:9090)  4 entries  19 001 requests  top 10 000 example.com',
    );
    const errors = summarize(
      snap,
      't:1',
      'website',
      snapshotMatcher(parseFilter({ status: '>=500' }).filter),
    );
    assert.equal(errors.total_entries, 2);
    assert.equal(errors.top_label, 'example.com');
    assert.equal(errors.top_count, 4000);
    const pwn = summarize(snap, 't:1', 'website', snapshotMatcher(parseFilter({ status: '500' }).filter));
    assert.equal(
      streamLine(pwn),
      '2026-03-14T19:23:00Z  col-1 (t:1)  1 entries  1 requests  top 1 \\x1B]0;pwn\\x07',
    );
    const notRoot = summarize(
      snap,
      't:1',
      'uri',
      snapshotMatcher(parseFilter({ uriRe: '^/$', uriReNeg: true }).filter),
    );
    assert.deepEqual([notRoot.total_entries, notRoot.top_label, notRoot.top_count], [1, '/x', 4000]);
    const none = summarize(snap, 't:1', 'website', snapshotMatcher(parseFilter({ website: 'nope' }).filter));
    assert.deepEqual([none.total_entries, none.top_label, none.top_count], [0, '', 0]);
    assert.equal(streamLine(none), '2026-03-14T19:23:00Z  col-1 (t:1)  0 entries  0 requests');
    // A tie goes to the label first in the rings' order (UTF-8 bytes: U+E000 before U+10000,
    // which JavaScript's < puts first).
    const tie = create(SnapshotSchema, {
      source: 'col-1',
      start: 1773516180,
      span: 60,
      entries: [e('\u{10000}.example', '/', '200', 5), e('\ue000.example', '/', '200', 5)],
    });
    assert.equal(summarize(tie, 't:1', 'website', snapshotMatcher({})).top_label, '\ue000.example');
  });

  it('stream summary: a residual ("\\0other") on top is "(other)", top_other in JSON; a negated regex keeps it', () => {
    const e = (uri: string, count: number) =>
      create(SnapshotEntrySchema, {
        website: 'w',
        prefix: OTHER_TEXT,
        uri,
        status: '200',
        method: 'GET',
        count,
      });
    const snap = create(SnapshotSchema, {
      source: 'col-1',
      start: 1773516180,
      span: 60,
      entries: [e(OTHER_TEXT, 900), e('/a', 50), e('/b', 40)],
    });
    const s = summarize(snap, 't:1', 'uri', snapshotMatcher({}));
    assert.deepEqual([s.top_label, s.top_other, s.top_count], ['', true, 900]);
    assert.equal(
      streamLine(s),
      '2026-03-14T19:23:00Z  col-1 (t:1)  3 entries  990 requests  top 900 (other)',
    );
    const sum = (neg: boolean) =>
      summarize(snap, 't:1', 'uri', snapshotMatcher(parseFilter({ uriRe: '^/a', uriReNeg: neg }).filter))
        .requests;
    assert.deepEqual([sum(false), sum(true)], [50, 940]);
  });

  it('option parsers name the flag', () => {
    const fails = (f: () => unknown, message: string) =>
      assert.throws(f, (e: unknown) => e instanceof LogtallyError && e.message === message);
    assert.deepEqual(parseTargets(' a:1, b:2 ,a:1,'), ['a:1', 'b:2']);
    fails(
      () => parseTargets('a:1,nohost'),
      '--target: expected host:port (like :9090 or 127.0.0.1:9090), got "nohost"',
    );
    fails(() => parseTargets(' , '), '--target: expected host:port[,host:port...], got an empty list');
    assert.equal(parseWindow('1h'), '60m');
    fails(
      () => parseWindow('2m'),
      '--window: unknown window "2m" (expected one of 1m, 5m, 15m, 60m, 6h, 24h, 7d, 30d)',
    );
    assert.equal(parseN('20'), 20);
    fails(() => parseN('0'), '--n: expected an integer from 1 to 100000, got "0"');
    fails(() => parseN('1e3'), '--n: expected an integer from 1 to 100000, got "1e3"');
    assert.equal(parseTimeout('0.5'), 500);
    fails(() => parseTimeout('soon'), '--timeout: expected a number of seconds greater than 0, got "soon"');
    assert.deepEqual(plainFilter(parseFilter({ status: ' >= 500 ' }).message), {
      status: '>=500',
      websiteReNegate: false,
      uriReNegate: false,
    });
    fails(
      () => parseFilter({ status: '5xx' }),
      '--status: expected a status code or a comparison such as >=500, got "5xx"',
    );
    fails(() => parseFilter({ uriReNeg: true }), '--uri-re-neg: needs --uri-re');
    fails(() => parseFilter({ websiteReNeg: true }), '--website-re-neg: needs --website-re');
    assert.throws(
      () => parseFilter({ websiteRe: '(' }),
      (e: unknown) =>
        e instanceof LogtallyError && e.message.startsWith('--website-re: invalid regular expression'),
    );
  });

  it('prints an absent label as (none), as the dashboard does', () => {
    const entries = [
      create(TopNEntrySchema, { label: '', count: 7 }),
      create(TopNEntrySchema, { label: 'example.com', count: 3 }),
    ];
    assert.deepEqual(topnTable(entries), [
      'RANK  COUNT  LABEL',
      '   1      7  (none)',
      '   2      3  example.com',
    ]);
  });
});
