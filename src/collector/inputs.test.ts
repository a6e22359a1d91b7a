import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveInputs } from './inputs.ts';

const dir = mkdtempSync(join(tmpdir(), 'logtally-inputs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const conf = join(dir, 'nginx.conf');
writeFileSync(
  conf,
  `events {}
http {
  log_format main '$host $remote_addr [$time_local] "$request" $status $body_bytes_sent';
  server {
    server_name a.example;
    access_log ${dir}/a.log main;
    access_log syslog:server=127.0.0.1:5514,tag=web main;
    access_log syslog:server=10.0.0.9:514,tag=elsewhere main;
  }
}
`,
);
const format = { dialect: 'nginx' as const, format: 'combined' };

describe('collector inputs: --syslog-listen with --nginx-conf', () => {
  it('takes only the logs sent to the listener: a server logging to a file and to syslog is not counted twice', () => {
    const r = resolveInputs({ nginxConf: conf, syslogListen: '127.0.0.1:5514', format });
    assert.deepEqual(r.files, []);
    assert.deepEqual([...r.syslogByTag.keys()], ['web']);
    assert.ok(
      r.plan.some((l) => /not tailing .*a\.log .*--tail-files/.test(l)),
      r.plan.join('\n'),
    );
    assert.ok(r.plan.some((l) => /sends to syslog server 10\.0\.0\.9:514, not to --syslog-listen/.test(l)));
  });

  it('a wildcard listener on the same port is the same address; --tail-files also tails the files', () => {
    const r = resolveInputs({ nginxConf: conf, syslogListen: ':5514', tailFiles: true, format });
    assert.deepEqual(
      r.files.map((f) => f.pattern),
      [join(dir, 'a.log')],
    );
    assert.deepEqual([...r.syslogByTag.keys()], ['web']);
  });

  it('without --syslog-listen every file is tailed', () => {
    const r = resolveInputs({ nginxConf: conf, format });
    assert.deepEqual(
      r.files.map((f) => f.pattern),
      [join(dir, 'a.log')],
    );
    assert.ok(r.plan.includes(`reading ${join(dir, 'a.log')} as main (${conf}:6)`), r.plan.join('\n'));
  });
});
