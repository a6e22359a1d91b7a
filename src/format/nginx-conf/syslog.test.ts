import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSyslogTarget } from './syslog.ts';

describe('parseSyslogTarget', () => {
  it('applies nginx defaults', () => {
    assert.deepEqual(parseSyslogTarget('syslog:server=10.0.0.1'), {
      server: '10.0.0.1',
      host: '10.0.0.1',
      port: 514,
      unix: false,
      facility: 'local7',
      severity: 'info',
      tag: 'nginx',
      nohostname: false,
    });
  });

  it('reads every parameter, in any order', () => {
    assert.deepEqual(
      parseSyslogTarget(
        'syslog:tag=web_1,nohostname,severity=debug,facility=daemon,server=logs.example.net:5514',
      ),
      {
        server: 'logs.example.net:5514',
        host: 'logs.example.net',
        port: 5514,
        unix: false,
        facility: 'daemon',
        severity: 'debug',
        tag: 'web_1',
        nohostname: true,
      },
    );
  });

  it('reads IPv6 addresses in brackets, with or without a port', () => {
    const a = parseSyslogTarget('syslog:server=[::1]:9514');
    const b = parseSyslogTarget('syslog:server=[2001:db8::2]');
    assert.ok(typeof a === 'object' && typeof b === 'object');
    assert.deepEqual([a.host, a.port, b.host, b.port], ['::1', 9514, '2001:db8::2', 514]);
  });

  it('reads UNIX-domain sockets', () => {
    const t = parseSyslogTarget('syslog:server=unix:/dev/log,facility=local0');
    assert.ok(typeof t === 'object');
    assert.deepEqual([t.host, t.port, t.unix, t.facility], ['/dev/log', 0, true, 'local0']);
  });

  it('accepts every facility and severity nginx knows', () => {
    for (const f of ['kern', 'user', 'mail', 'daemon', 'auth', 'intern', 'lpr', 'news', 'uucp', 'clock']) {
      assert.equal(typeof parseSyslogTarget(`syslog:server=h,facility=${f}`), 'object');
    }
    for (const f of ['authpriv', 'ftp', 'ntp', 'audit', 'alert', 'cron', 'local0', 'local7']) {
      assert.equal(typeof parseSyslogTarget(`syslog:server=h,facility=${f}`), 'object');
    }
    for (const s of ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug']) {
      assert.equal(typeof parseSyslogTarget(`syslog:server=h,severity=${s}`), 'object');
    }
  });

  for (const [raw, message] of [
    ['syslog:', 'unknown syslog parameter ""'],
    ['syslog:facility=local1', 'no syslog server specified'],
    ['syslog:server=a,server=b', 'duplicate syslog "server"'],
    ['syslog:server=a,facility=local8', 'unknown syslog facility "local8"'],
    ['syslog:server=a,facility=user,facility=user', 'duplicate syslog "facility"'],
    ['syslog:server=a,severity=warning', 'unknown syslog severity "warning"'],
    ['syslog:server=a,severity=info,severity=info', 'duplicate syslog "severity"'],
    ['syslog:server=a,tag=a-b', 'syslog "tag" only allows alphanumeric characters and underscore'],
    [`syslog:server=a,tag=${'x'.repeat(33)}`, 'syslog tag length exceeds 32'],
    ['syslog:server=a,tag=a,tag=b', 'duplicate syslog "tag"'],
    ['syslog:server=a,hostname', 'unknown syslog parameter "hostname"'],
    ['syslog:server=a,', 'unknown syslog parameter ""'],
    ['syslog:server=localhost:0', 'invalid port in syslog server "localhost:0"'],
    ['syslog:server=localhost:65536', 'invalid port in syslog server "localhost:65536"'],
    ['syslog:server=localhost:x', 'invalid port in syslog server "localhost:x"'],
    ['syslog:server=:514', 'no host in syslog server ":514"'],
    ['syslog:server=', 'no host in syslog server ""'],
    ['syslog:server=[::1', 'invalid host in syslog server "[::1"'],
    ['syslog:server=[::1]x', 'invalid host in syslog server "[::1]x"'],
    ['syslog:server=host/path', 'invalid host in syslog server "host/path"'],
    ['syslog:server=unix:', 'no path in the unix domain socket in syslog server "unix:"'],
  ] as const) {
    it(`rejects ${raw.slice(0, 40)}`, () => assert.equal(parseSyslogTarget(raw), message));
  }

  it('accepts a tag of exactly 32 characters', () => {
    const t = parseSyslogTarget(`syslog:server=a,tag=${'A'.repeat(32)}`);
    assert.ok(typeof t === 'object');
    assert.equal(t.tag, 'A'.repeat(32));
  });
});
