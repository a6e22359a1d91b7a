/**
 * The files in examples/ are what operators copy: the nginx snippet is accepted by Debian's
 * nginx and read by `logtally format list` / the collector's parser, the gateway configuration
 * passes `logtally gateway -t`, and the systemd units pass `systemd-analyze verify` (where
 * systemd is installed).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../support/cli.ts';
import { findNginx } from '../support/nginx.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

describe('examples/', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'logtally-examples-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('nginx/logtally.conf: its formats and log are found, and a line it writes parses with every dimension', async () => {
    const conf = join(dir, 'nginx.conf');
    await writeFile(conf, `events {}\nhttp {\n    include ${join(EXAMPLES, 'nginx', 'logtally.conf')};\n}\n`);
    const list = await runCli(['format', 'list', '--nginx-conf', conf]);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.toString().trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.replace(/^\S+:(\d+): (\S+ \S+ \S+).*$/, '$1 $2')),
      [
        '12 log_format logtally "$host',
        '18 log_format logtail "$host\\t$remote_addr\\t$msec\\t$request_method\\t$request_uri\\t$status\\t$body_bytes_sent\\t$request_time"',
        '28 access_log /var/log/nginx/access.log logtally',
      ],
    );
    const line =
      'shop.example 2001:db8:7::1 - - [02/Dec/2026:16:47:52 +0000] "GET /cart?id=7 HTTP/1.1" 200 524 "-" "curl/8.0" 127.0.0.1:9002 200 0.025 0.026\n';
    const parsed = await runCli(['format', 'parse', '--nginx-conf', conf, '--name', 'logtally'], line);
    assert.equal(parsed.stderr, '');
    const f = JSON.parse(parsed.stdout.toString());
    assert.equal(f.host, 'shop.example');
    assert.equal(f.remote_addr, '2001:db8:7::1');
    assert.equal(f.status, 200);
    assert.deepEqual(f.upstream_addr, [['127.0.0.1:9002']]);
    assert.equal(f.request_time, 0.026);
  });

  it('nginx/logtally.conf is accepted by nginx -t', {
    skip: findNginx() ? false : 'nginx is not installed',
  }, async () => {
    const prefix = join(dir, 'nginx');
    await mkdir(join(prefix, 'logs'), { recursive: true });
    const snippet = (await readFile(join(EXAMPLES, 'nginx', 'logtally.conf'), 'utf8')).replace(
      '/var/log/nginx/access.log',
      join(prefix, 'logs', 'access.log'),
    );
    await writeFile(join(prefix, 'logtally.conf'), snippet);
    await writeFile(
      join(prefix, 'nginx.conf'),
      `pid ${join(prefix, 'nginx.pid')};\nerror_log ${join(prefix, 'logs', 'error.log')};\nevents {}\nhttp {\n    include ${join(prefix, 'logtally.conf')};\n}\n`,
    );
    const r = spawnSync(findNginx() as string, ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /test is successful/);
  });

  it('gateway.conf passes logtally gateway -t', async () => {
    const r = await runCli(['gateway', '-t', '-c', join(EXAMPLES, 'gateway.conf'), '-p', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /test is successful/);
  });

  const analyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim();
  it('the systemd units pass systemd-analyze verify', {
    skip: analyze ? false : 'systemd-analyze is not installed',
  }, () => {
    for (const unit of ['collector', 'aggregator', 'frontend', 'gateway']) {
      const path = join(EXAMPLES, 'systemd', `logtally-${unit}.service`);
      const r = spawnSync(analyze, ['verify', '--man=no', path], { encoding: 'utf8' });
      // The program is not installed here: that one complaint is expected, nothing else.
      const problems = r.stderr
        .split('\n')
        .filter((l) => l && !/\/usr\/local\/bin\/logtally is not executable/.test(l));
      assert.deepEqual(problems, [], `${unit}: ${r.stderr}`);
    }
  });
});
