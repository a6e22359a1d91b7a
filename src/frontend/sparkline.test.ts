import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sparkline } from './sparkline.ts';

const T = 1_795_000_000;

describe('sparkline', () => {
  it('draws one titled bar per bucket on a labelled time axis', () => {
    const points = [
      { start: T, span: 60, count: 10 },
      { start: T + 120, span: 60, count: 1234 },
      { start: T + 180, span: 60, count: 5 },
    ];
    const svg = sparkline(points, '5m', 'Requests per minute').toString();
    assert.equal(svg.match(/<g class="pt/g)?.length, 3);
    assert.equal(svg.match(/<title>/g)?.length, 3); // plus the chart's own <title id=…>
    assert.ok(svg.includes('<title id="spark-title">Requests per minute</title>'));
    assert.ok(svg.includes(': 5 requests, so far</title>'), 'the last bucket is the live minute');
    assert.ok(svg.includes('>1 234 req/min</text>'), 'y axis: peak');
    assert.ok(svg.includes('>requests per minute</text>'), 'y axis: unit');
    assert.match(svg, /<text class="xlab"[^>]*>\d\d:\d\d<\/text>/);
    assert.match(svg, /<text class="xlab"[^>]*>\d\d:\d\d UTC<\/text>/);
    // Coordinates are relative to the window start, never epoch-sized (SVG uses 32-bit floats).
    for (const m of svg.matchAll(/\sx="([\d.]+)"/g)) assert.ok(Number(m[1]) < 100_000);
    assert.ok(!svg.includes(' style='));
  });

  it('shows 5-minute buckets as a per-minute rate, and says so in the title', () => {
    const svg = sparkline(
      [
        { start: T, span: 300, count: 500 },
        { start: T + 300, span: 60, count: 100 },
      ],
      '6h',
      'x',
    ).toString();
    assert.ok(svg.includes('500 requests (100/min)'));
    assert.ok(svg.includes('>100 req/min (5-minute average)</text>'));
    assert.ok(svg.includes('>requests per minute, 5-minute buckets</text>'));
    const hourly = sparkline([{ start: T - 3600, span: 3600, count: 600 }], '7d', 'x').toString();
    assert.ok(hourly.includes('>10 req/min (1-hour average)</text>'));
    assert.ok(hourly.includes('>requests per minute, 1-hour buckets</text>'));
  });

  it('dates the axis of the 6h and 24h windows (and of any axis that crosses midnight UTC)', () => {
    // T = 2026-11-18 11:06:40 UTC; the 24h window starts the day before.
    const day = sparkline(
      [
        { start: T - 86_100, span: 300, count: 1 },
        { start: T, span: 60, count: 1 },
      ],
      '24h',
      'x',
    ).toString();
    const labels = [...day.matchAll(/<text class="xlab"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    assert.deepEqual(labels, ['11-17 11:06', '11-17 23:07', '11-18 11:07 UTC']);
    assert.ok(
      day.includes('<desc id="spark-desc">2 buckets from 11-17 11:11 to 11-18 11:07 UTC; 2 requests in all;'),
    );
    assert.ok(day.includes('<title>11-17 11:11–11-17 11:16 UTC: 1 request (0.2/min)</title>'), day);
    const hour = sparkline([{ start: T, span: 60, count: 1 }], '60m', 'x').toString();
    assert.deepEqual(
      [...hour.matchAll(/<text class="xlab"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]),
      ['10:06', '10:37', '11:07 UTC'],
    );
    assert.ok(hour.includes('<desc id="spark-desc">1 bucket from 11:06 to 11:07 UTC; 1 request in all;'));
    const midnight = 1_795_046_400; // 2026-11-19 00:00 UTC
    const crossing = sparkline(
      [
        { start: midnight - 120, span: 60, count: 3 },
        { start: midnight, span: 60, count: 1 },
      ],
      '5m',
      'x',
    ).toString();
    assert.deepEqual(
      [...crossing.matchAll(/<text class="xlab"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]),
      ['11-18 23:55', '11-18 23:58', '11-19 00:01 UTC'],
    );
  });

  it('escapes a hostile caption', () => {
    const svg = sparkline(
      [{ start: T, span: 60, count: 1 }],
      '1m',
      '</title><script>alert(1)</script>',
    ).toString();
    assert.ok(!svg.includes('<script>'));
    assert.ok(svg.includes('&lt;/title&gt;&lt;script&gt;'));
  });

  it('says so when there is no data', () => {
    assert.match(sparkline([], '5m', 'x').toString(), /No data/);
  });
});
