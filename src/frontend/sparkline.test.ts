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
    assert.ok(svg.includes('>100 req/min</text>'));
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
