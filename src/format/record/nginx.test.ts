import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineParseError } from '../errors.ts';
import { compileNginx, compileNginxPreset } from '../nginx/compile.ts';
import { parseRecord, renderRecord } from './index.ts';
import { splitRequestLine, uriPath } from './record.ts';

describe('canonical record: nginx', () => {
  it('maps the combined preset', () => {
    const p = parseRecord(
      compileNginxPreset('combined'),
      '192.0.2.7 - bob [22/Nov/2026:18:55:06 +0000] "GET /a?b=1 HTTP/1.1" 404 12 "https://r/" "curl/8"',
    );
    assert.ok(!(p instanceof LineParseError));
    assert.deepEqual(p.record, {
      time: 1795373706,
      clientAddr: '192.0.2.7',
      method: 'GET',
      uri: '/a?b=1',
      protocol: 'HTTP/1.1',
      status: 404,
      bodyBytes: 12,
      referer: 'https://r/',
      userAgent: 'curl/8',
      user: 'bob',
      requestHeaders: { referer: 'https://r/', 'user-agent': 'curl/8' },
    });
    assert.equal(p.fields.request, 'GET /a?b=1 HTTP/1.1');
  });

  it('maps upstream lists and the upstream module per-contact variables', () => {
    const lists = parseRecord(
      compileNginx('$upstream_addr $upstream_status'),
      '10.0.0.1:80, 10.0.0.2:80 502, 200',
    );
    assert.ok(!(lists instanceof LineParseError));
    assert.deepEqual(
      lists.record.upstreams?.map((c) => [c.group, c.addr, c.status]),
      [
        [0, '10.0.0.1:80', 502],
        [0, '10.0.0.2:80', 200],
      ],
    );
    const up = parseRecord(
      compileNginxPreset('upstream-combined'),
      '1.2.3.4 10.0.0.9:8080 [22/Nov/2026:18:55:06 +0000] "POST /api" 503 17 300 40 0.001 0.002 0.003',
    );
    assert.ok(!(up instanceof LineParseError));
    assert.deepEqual(up.record.upstreams, [
      {
        group: 0,
        addr: '10.0.0.9:8080',
        status: 503,
        connectTime: 0.001,
        headerTime: 0.002,
        responseTime: 0.003,
        responseLength: 17,
        bytesSent: 300,
        bytesReceived: 40,
      },
    ]);
  });

  it('converts combined into logtail through the record', () => {
    const combined = compileNginxPreset('combined');
    const logtail = compileNginx(
      '$host\t$remote_addr\t$msec\t$request_method\t$request_uri\t$status\t$body_bytes_sent\t$request_time',
    );
    const p = parseRecord(
      combined,
      '192.0.2.7 - - [22/Nov/2026:18:55:06 +0000] "GET /x HTTP/1.1" 200 5 "-" "-"',
    );
    assert.ok(!(p instanceof LineParseError));
    assert.equal(renderRecord(logtail, p.record), `-\t192.0.2.7\t1795373706.000\tGET\t/x\t200\t5\t-`);
  });

  it('renders a request line from its parts and back', () => {
    assert.deepEqual(splitRequestLine('GET /a b HTTP/1.0'), {
      method: 'GET',
      uri: '/a b',
      protocol: 'HTTP/1.0',
    });
    assert.deepEqual(splitRequestLine('GET /'), { method: 'GET', uri: '/' });
    assert.equal(splitRequestLine('garbage'), undefined);
    assert.equal(uriPath('/a/b?c=d?e'), '/a/b');
  });
});
