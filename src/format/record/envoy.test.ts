import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileEnvoyPreset } from '../envoy/compile.ts';
import { LineParseError } from '../errors.ts';
import { compileNginxPreset } from '../nginx/compile.ts';
import { parseRecord, renderRecord } from './index.ts';

describe('canonical record: Envoy', () => {
  it('maps the default format (the example of Envoy’s documentation)', () => {
    const p = parseRecord(
      compileEnvoyPreset('envoy-default'),
      '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28, 10.0.0.1" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"',
    );
    assert.ok(!(p instanceof LineParseError), p instanceof LineParseError ? p.message : '');
    assert.deepEqual(
      { ...p.record, upstreams: p.record.upstreams?.map((u) => [u.addr, u.responseTime]) },
      {
        startTime: 1460751420.31,
        status: 204,
        protocol: 'HTTP/2',
        requestBytes: 154,
        bodyBytes: 0,
        duration: 0.226,
        method: 'POST',
        uri: '/api/v1/locations',
        requestHeaders: {
          'x-forwarded-for': '10.0.35.28, 10.0.0.1',
          'user-agent': 'nsq2http',
          'x-request-id': 'cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2',
        },
        responseHeaders: { 'x-envoy-upstream-service-time': '100' },
        userAgent: 'nsq2http',
        host: 'locations',
        clientAddr: '10.0.35.28',
        upstreams: [['tcp://10.0.2.1:80', 0.1]],
      },
    );
    assert.equal(
      renderRecord(compileNginxPreset('logtail'), p.record),
      'locations\t10.0.35.28\t1460751420.310\tPOST\t/api/v1/locations\t204\t0\t0.226',
    );
  });
});
