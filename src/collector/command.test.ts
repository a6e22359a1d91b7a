import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../test/support/cli.ts';

describe('logtally collector: start-up errors are one line and exit 2', () => {
  it('without any input', async () => {
    const r = await runCli(['collector']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /logtally: collector: give at least one of --logs, --logs-file, --nginx-conf or --syslog-listen\n$/,
    );
  });

  it('when nginx.conf names no log, and when the port is taken (nothing left running)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'logtally-cmd-'));
    const busy = createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    try {
      const conf = join(dir, 'nginx.conf');
      await writeFile(conf, 'events {}\nhttp { access_log off; }\n');
      const none = await runCli(['collector', '--nginx-conf', conf, '--metrics-listen', '']);
      assert.equal(none.code, 2);
      assert.equal(
        none.stderr,
        `logtally: no logs to read: ${conf} names no access_log or upstream_log file (give --logs or --syslog-listen)\n`,
      );
      const port = (busy.address() as { port: number }).port;
      const taken = await runCli([
        'collector',
        '--logs',
        conf,
        '--listen',
        `127.0.0.1:${port}`,
        '--metrics-listen',
        '',
      ]);
      assert.equal(taken.code, 2);
      assert.match(
        taken.stderr,
        new RegExp(`logtally: listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}\\n$`),
      );
    } finally {
      busy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a --history that cannot be used, or a bad --history-* flag, names the flag', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'logtally-cmd-'));
    try {
      const log = join(dir, 'a.log');
      await writeFile(log, '');
      const base = ['collector', '--logs', log, '--listen', '127.0.0.1:0', '--metrics-listen', ''];
      for (const [args, message] of [
        [
          ['--history', 'mysql://db/x'],
          '--history: expected duckdb:PATH or clickhouse://HOST:8123/DB, got "mysql://db/x"',
        ],
        [
          ['--history', 'clickhouse://ch:8123/'],
          '--history: name the database after the host, as in clickhouse://host:8123/logtally (letters, digits, _), got "clickhouse://ch:8123/"',
        ],
        [
          ['--history', `duckdb:${dir}/h.duckdb`, '--history-retention', '30'],
          '--history-retention: expected a duration such as 30d, 12h or 2w, got "30"',
        ],
        [['--history-cluster', 'fleet'], '--history-cluster: needs --history'],
        [['--history-queue', dir], '--history-queue: needs --history'],
        [
          ['--history', `duckdb:${dir}/h.duckdb`, '--history-queue-max', '12 apples'],
          '--history-queue-max: expected a size of at least 1MB such as 1GB or 500MB, got "12 apples"',
        ],
        [
          ['--history', `duckdb:${dir}/h.duckdb`, '--history-cluster', 'fleet'],
          '--history-cluster: only with a clickhouse:// --history',
        ],
        [
          ['--history', `duckdb:${dir}/missing-dir/h.duckdb`],
          new RegExp(`^--history duckdb:${dir}/missing-dir/h\\.duckdb: cannot open: `),
        ],
      ] as const) {
        const r = await runCli([...base, ...args]);
        assert.equal(r.code, 2, args.join(' '));
        if (typeof message === 'string') assert.equal(r.stderr, `logtally: ${message}\n`);
        else assert.match(r.stderr.replace(/^logtally: /, ''), message);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
