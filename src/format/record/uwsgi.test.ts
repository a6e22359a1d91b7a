import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineParseError } from '../errors.ts';
import { compileNginxPreset } from '../nginx/compile.ts';
import { compileUwsgiPreset } from '../uwsgi/compile.ts';
import { parseRecord, renderRecord } from './index.ts';

describe('canonical record: uWSGI', () => {
  it('maps the apache-combined layout and converts it into nginx logtail', () => {
    const uwsgi = compileUwsgiPreset('apache-combined');
    const p = parseRecord(
      uwsgi,
      '192.0.2.7 - - [22/Nov/2026:18:55:06 +0000] "GET /a?b=1 HTTP/1.1" 200 1234 "-" "curl/8 "x""',
    );
    assert.ok(!(p instanceof LineParseError), p instanceof LineParseError ? p.message : '');
    assert.equal(p.record.clientAddr, '192.0.2.7');
    assert.equal(p.record.method, 'GET');
    assert.equal(p.record.uri, '/a?b=1');
    assert.equal(p.record.protocol, 'HTTP/1.1');
    assert.equal(p.record.status, 200);
    assert.equal(p.record.responseBytes, 1234);
    assert.equal(p.record.userAgent, 'curl/8 "x"');
    assert.equal(p.record.startTime, 1795373706);
    const logtail = compileNginxPreset('logtail');
    assert.equal(renderRecord(logtail, p.record), '-\t192.0.2.7\t1795373706.000\tGET\t/a?b=1\t200\t-\t-');
  });
});
