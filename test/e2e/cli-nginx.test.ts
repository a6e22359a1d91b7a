/**
 * The `logtally format` command against a real nginx: `format list` finds the logs of the
 * running configuration, and `format parse` reads the access log nginx wrote, both with the
 * predefined `combined` preset and with a format looked up by name in the nginx.conf.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import {
  findNginx,
  freePort,
  type RunningNginx,
  rawRequest,
  startNginx,
  statusOf,
} from '../support/nginx.ts';

const nginx = findNginx();
const skip = nginx ? false : 'nginx is not installed (apt-get install -y nginx); CI installs it';

describe('logtally format against a real nginx', { skip }, () => {
  let server: RunningNginx;
  let conf = '';
  before(async () => {
    const port = await freePort();
    server = await startNginx(
      nginx as string,
      `
  log_format tabs escape=json '$host\\t$status\\t"$request_uri"\\t$request_time';
  server {
    listen 127.0.0.1:${port};
    server_name example.test;
    location / {
      access_log logs/access.log;
      access_log logs/tabs.log tabs buffer=4k flush=1s;
      return 204;
    }
  }`,
      port,
    );
    conf = join(server.prefix, 'nginx.conf');
    for (const path of ['/a', '/b?x="1"', '/c\\d']) {
      const res = await rawRequest(
        port,
        `GET ${path} HTTP/1.1\r\nHost: example.test\r\nUser-Agent: t "1"\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(statusOf(res), 204);
    }
    await server.stop();
  });
  after(async () => {
    await server?.stop();
    await server?.cleanup();
  });

  it('format list shows every log of the configuration with file:line', async () => {
    const r = await runCli(['format', 'list', '--nginx-conf', conf]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.toString().trim().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0] as string, /nginx\.conf:\d+: log_format tabs escape=json "\$host\\t\$status/);
    assert.match(lines[1] as string, /nginx\.conf:\d+: access_log off$/);
    assert.ok(
      lines[2]?.endsWith(`access_log ${join(server.prefix, 'logs/access.log')} combined (predefined)`),
    );
    assert.ok(
      lines[3]?.endsWith(`access_log ${join(server.prefix, 'logs/tabs.log')} tabs buffer=4k flush=1s`),
    );
  });

  it('format parse --preset combined reads the access log nginx wrote', async () => {
    const r = await runCli([
      'format',
      'parse',
      '--preset',
      'combined',
      join(server.prefix, 'logs/access.log'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      rows.map((x) => [
        x.remote_addr,
        x.request,
        x.status,
        x.body_bytes_sent,
        x.http_user_agent,
        x.http_referer,
      ]),
      [
        ['127.0.0.1', 'GET /a HTTP/1.1', 204, 0, 't "1"', null],
        ['127.0.0.1', 'GET /b?x="1" HTTP/1.1', 204, 0, 't "1"', null],
        ['127.0.0.1', 'GET /c\\d HTTP/1.1', 204, 0, 't "1"', null],
      ],
    );
  });

  it('format parse --name reads a format from the nginx.conf, with its escape mode', async () => {
    const r = await runCli([
      'format',
      'parse',
      '--name',
      'tabs',
      '--nginx-conf',
      conf,
      join(server.prefix, 'logs/tabs.log'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      rows.map((x) => [x.host, x.status, x.request_uri]),
      [
        ['example.test', 204, '/a'],
        ['example.test', 204, '/b?x="1"'],
        ['example.test', 204, '/c\\d'],
      ],
    );
  });
});
