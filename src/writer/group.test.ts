import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { tempDir } from '../../test/support/writer-fakes.ts';
import { compileNginx } from '../format/nginx/compile.ts';
import { readNginxConf } from '../format/nginx-conf/extract.ts';
import { memoryConfFileSystem } from '../format/nginx-conf/fs.ts';
import { createLogs, logsFromNginxConf } from './group.ts';
import { syslogHeader, syslogTime } from './syslog-sink.ts';

describe('several logs at one level', () => {
  it('each log renders its own format; off cancels the level', (t) => {
    const dir = tempDir(t);
    const g = createLogs([
      { target: join(dir, 'a.log'), format: compileNginx('$status') },
      { target: join(dir, 'b.log'), format: compileNginx('"$request"', { escape: 'json' }) },
    ]);
    assert.equal(g.write({ status: 200, request: 'GET /"x" HTTP/1.1' }), 2);
    g.close();
    assert.equal(readFileSync(join(dir, 'a.log'), 'latin1'), '200\n');
    assert.equal(readFileSync(join(dir, 'b.log'), 'latin1'), '"GET /\\"x\\" HTTP/1.1"\n');
    const off = createLogs([
      { target: join(dir, 'c.log'), format: compileNginx('$status') },
      { target: 'off', format: compileNginx('') },
    ]);
    assert.equal(off.logs.length, 0);
  });
});

describe('logs from an nginx.conf', () => {
  it('buffer, gzip, flush, if and open_log_file_cache come from the directives', (t) => {
    const dir = tempDir(t);
    const conf = readNginxConf('/etc/nginx/nginx.conf', {
      prefix: dir,
      fs: memoryConfFileSystem({
        '/etc/nginx/nginx.conf': `
http {
  log_format main '$remote_addr "$request" $status';
  open_log_file_cache max=10 inactive=20s valid=1m min_uses=2;
  server {
    access_log ${dir}/main.log.gz main gzip=4 flush=5m;
    access_log ${dir}/errors.log main if=$loggable;
    access_log ${dir}/$host.log combined;
  }
}`,
      }),
    });
    const g = logsFromNginxConf(conf.logs, { openLogFileCache: conf.openLogFileCaches[0] });
    assert.deepEqual(
      g.logs.map((l) => l.kind),
      ['file', 'file', 'variable'],
    );
    for (const [status, loggable] of [
      [200, '0'],
      [500, '1'],
    ] as const) {
      g.write({ remote_addr: '192.0.2.1', request: 'GET / HTTP/1.1', status, loggable, host: 'example.org' });
    }
    g.close();
    assert.equal(
      gunzipSync(readFileSync(join(dir, 'main.log.gz'))).toString(),
      '192.0.2.1 "GET / HTTP/1.1" 200\n192.0.2.1 "GET / HTTP/1.1" 500\n',
    );
    assert.equal(readFileSync(join(dir, 'main.log.gz'))[8], 0, 'level 4 → XFL 0');
    assert.equal(readFileSync(join(dir, 'errors.log'), 'latin1'), '192.0.2.1 "GET / HTTP/1.1" 500\n');
    assert.match(readFileSync(join(dir, 'example.org.log'), 'latin1'), /^192\.0\.2\.1 - - \[/);
  });
});

describe('syslog layout', () => {
  it('RFC 3164 header as nginx writes it: space-padded day, PRI, optional host name', () => {
    const at = new Date(2026, 10, 2, 8, 5, 9).getTime();
    assert.equal(syslogTime(at), 'Nov  2 08:05:09');
    const t = {
      server: 'h',
      host: 'h',
      port: 514,
      unix: false,
      facility: 'local7',
      severity: 'info',
      tag: 'nginx',
      nohostname: false,
    };
    assert.equal(syslogHeader(t, at, 'web1'), '<190>Nov  2 08:05:09 web1 nginx: ');
    assert.equal(
      syslogHeader({ ...t, facility: 'kern', severity: 'emerg', nohostname: true }, at, 'web1'),
      '<0>Nov  2 08:05:09 nginx: ',
    );
  });
});
