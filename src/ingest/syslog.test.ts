import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LineBatch } from './line-batch.ts';
import { parseSyslogDatagram, parseSyslogFrame } from './syslog-frame.ts';
import { createSyslogListener, parseListenAddress, type SyslogSource } from './syslog-listener.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('parseSyslogFrame', () => {
  it('reads nginx frames with a hostname (captured from nginx 1.22)', () => {
    assert.deepEqual(parseSyslogFrame(b('<190>Nov 23 17:37:36 vm nginx: 127.0.0.1\t/a?b=1\t200')), {
      kind: 'rfc3164',
      pri: 190,
      facility: 23,
      severity: 6,
      timestamp: 'Nov 23 17:37:36',
      hostname: 'vm',
      tag: 'nginx',
      message: '127.0.0.1\t/a?b=1\t200',
    });
  });

  it('reads nohostname frames (captured from nginx 1.22) and space-padded days', () => {
    assert.deepEqual(parseSyslogFrame(b('<133>Nov  2 07:03:09 web_1: GET / 200')), {
      kind: 'rfc3164',
      pri: 133,
      facility: 16,
      severity: 5,
      timestamp: 'Nov  2 07:03:09',
      tag: 'web_1',
      message: 'GET / 200',
    });
  });

  it('keeps the message verbatim: colons, spaces and raw bytes', () => {
    const f = parseSyslogFrame(Buffer.from([...b('<190>Jan  1 00:00:00 h nginx: a: b  c '), 0xff]));
    assert.equal(f.kind, 'rfc3164');
    assert.equal('message' in f && f.message, 'a: b  c \udcff');
  });

  it('reads TAG[pid]:, RFC 3339 timestamps and frames without timestamp', () => {
    const f = parseSyslogFrame(b('<13>2026-11-22T18:55:06.123+01:00 host app[42]: hello'));
    assert.deepEqual(f, {
      kind: 'rfc3164',
      pri: 13,
      facility: 1,
      severity: 5,
      timestamp: '2026-11-22T18:55:06.123+01:00',
      hostname: 'host',
      tag: 'app',
      message: 'hello',
    });
    assert.deepEqual(parseSyslogFrame(b('<13>just text')), {
      kind: 'rfc3164',
      pri: 13,
      facility: 1,
      severity: 5,
      message: 'just text',
    });
  });

  it('reads RFC 5424 frames (structured data, BOM, nil values)', () => {
    const f = parseSyslogFrame(
      Buffer.concat([
        b('<165>1 2026-11-22T18:55:06Z web1 nginx - ID47 [x@1 a="q\\]" b="2"][y@2] '),
        Buffer.from([0xef, 0xbb, 0xbf]),
        b('GET / 200'),
      ]),
    );
    assert.deepEqual(f, {
      kind: 'rfc5424',
      pri: 165,
      facility: 20,
      severity: 5,
      timestamp: '2026-11-22T18:55:06Z',
      hostname: 'web1',
      tag: 'nginx',
      message: 'GET / 200',
    });
    assert.deepEqual(parseSyslogFrame(b('<14>1 - - - - - - msg')), {
      kind: 'rfc5424',
      pri: 14,
      facility: 1,
      severity: 6,
      message: 'msg',
    });
  });

  it('takes a line without header as a bare message', () => {
    assert.deepEqual(parseSyslogFrame(b('example.com\t1.2.3.4\t/x')), {
      kind: 'bare',
      message: 'example.com\t1.2.3.4\t/x',
    });
    assert.deepEqual(parseSyslogFrame(b('<html> ok')), { kind: 'bare', message: '<html> ok' });
  });

  it('rejects malformed frames', () => {
    for (const bad of [
      '',
      '<192>Nov 23 17:37:36 vm nginx: x',
      '<1234>x',
      '<12 no close',
      '<190>Nov 23 17:37:36 vm nginx:',
      '<190>Nov 23 17:37:36 web_1:',
      '<190>',
      '<165>1 2026-11-22T18:55:06Z web1 nginx',
      '<165>1 2026-11-22T18:55:06Z web1 nginx - ID47 [unterminated',
      '<165>1 2026-11-22T18:55:06Z web1 nginx - ID47 -',
    ]) {
      assert.equal(parseSyslogFrame(b(bad)).kind, 'malformed', JSON.stringify(bad));
    }
  });
});

/** The datagram's batches with their lines as text. */
function texts(d: ReturnType<typeof parseSyslogDatagram>) {
  return { ...d, batches: d.batches.map((x) => ({ ...x, lines: x.lines.lines() })) };
}

describe('parseSyslogDatagram', () => {
  it('splits several lines under one header', () => {
    assert.deepEqual(texts(parseSyslogDatagram(b('<190>Nov  2 17:37:36 web1 nginx: a\nb\r\nc\n'))), {
      batches: [{ hostname: 'web1', tag: 'nginx', lines: ['a', 'b', 'c'] }],
      lines: 3,
      malformed: 0,
    });
  });

  it('splits lines that each repeat the header, grouping by hostname and tag', () => {
    const d = texts(
      parseSyslogDatagram(
        b(
          '<190>Nov  2 17:37:36 web1 nginx: a\n<190>Nov  2 17:37:36 web1 nginx: b\n<133>Nov  2 17:37:37 api: c\nd',
        ),
      ),
    );
    assert.deepEqual(d.batches, [
      { hostname: 'web1', tag: 'nginx', lines: ['a', 'b'] },
      { tag: 'api', lines: ['c', 'd'] },
    ]);
    assert.equal(d.lines, 4);
  });

  it('counts malformed frames and empty datagrams, keeping the good lines', () => {
    const d = texts(parseSyslogDatagram(b('<999>Nov  2 17:37:36 h t: x\n<190>Nov  2 17:37:36 h t: ok\n')));
    assert.equal(d.malformed, 1);
    assert.deepEqual(d.batches, [{ hostname: 'h', tag: 't', lines: ['ok'] }]);
    assert.equal(parseSyslogDatagram(b('')).malformed, 1);
    assert.equal(parseSyslogDatagram(b('\n\r\n')).malformed, 1);
  });

  it('accepts bare multi-line datagrams', () => {
    assert.deepEqual(texts(parseSyslogDatagram(b('l1\nl2\n'))).batches, [{ lines: ['l1', 'l2'] }]);
  });

  it('keeps raw bytes of a message (non-ASCII, invalid UTF-8) losslessly', () => {
    const d = parseSyslogDatagram(
      Buffer.concat([Buffer.from('<190>Nov  2 17:37:36 h t: é ', 'utf8'), Buffer.from([0xff, 0x0a])]),
    );
    assert.deepEqual(texts(d).batches[0]?.lines, ['é \udcff']);
  });
});

describe('parseListenAddress', () => {
  it('accepts :PORT, HOST:PORT, [V6]:PORT and PORT', () => {
    assert.deepEqual(parseListenAddress(':514'), { host: null, port: 514 });
    assert.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListenAddress('[::1]:5514'), { host: '::1', port: 5514 });
    assert.deepEqual(parseListenAddress('5514'), { host: null, port: 5514 });
    for (const bad of ['::1:514', '[::1]', 'host', 'host:99999', '[zz]:1']) {
      assert.throws(() => parseListenAddress(bad), TypeError, bad);
    }
  });
});

/** Is ::1 configured? (Linux: /proc/net/if_inet6 lists it; elsewhere assume yes.) */
function ipv6Available(): boolean {
  try {
    return readFileSync('/proc/net/if_inet6', 'latin1').includes('00000000000000000000000000000001');
  } catch {
    return process.platform !== 'linux';
  }
}

async function send(family: 'udp4' | 'udp6', host: string, port: number, payloads: Buffer[]): Promise<void> {
  const s = createSocket(family);
  try {
    for (const p of payloads) {
      await new Promise<void>((resolve, reject) =>
        s.send(p, port, host, (err) => (err ? reject(err) : resolve())),
      );
    }
  } finally {
    s.close();
  }
}

describe('createSyslogListener', () => {
  it('receives datagrams over IPv4 and IPv6 on one dual-stack socket (:PORT)', async (t) => {
    const got: { lines: string[]; from: SyslogSource }[] = [];
    const l = createSyslogListener({
      address: ':0',
      onLines: (batch, from) => got.push({ lines: batch.lines(), from }),
    });
    const { port } = await l.start();
    t.after(() => l.stop());
    await send('udp4', '127.0.0.1', port, [
      b('<190>Nov  2 17:37:36 web1 nginx: v4 a\nv4 b'),
      b('<190>Nov  2 17:37:36 web1 nginx:'),
      b('<134>Nov  2 17:37:36 web_2: v4 c'),
    ]);
    await waitFor(() => l.stats().datagrams === 3, '3 datagrams');
    if (ipv6Available()) {
      await send('udp6', '::1', port, [b('<190>Nov  2 17:37:36 web1 nginx: v6 a')]);
      await waitFor(() => l.stats().datagrams === 4, '4th datagram');
    }
    const v6 = ipv6Available() ? 1 : 0;
    assert.deepEqual(l.stats(), {
      datagrams: 3 + v6,
      lines: 3 + v6,
      malformed: 1,
      bytes: l.stats().bytes,
    });
    assert.deepEqual(got[0], {
      lines: ['v4 a', 'v4 b'],
      from: { address: '127.0.0.1', port: got[0]?.from.port, hostname: 'web1', tag: 'nginx' },
    });
    assert.deepEqual(got[1]?.lines, ['v4 c']);
    assert.equal(got[1]?.from.hostname, undefined);
    assert.equal(got[1]?.from.tag, 'web_2');
    if (v6) assert.equal(got[2]?.from.address, '::1');
  });

  it('binds an explicit IPv4 or IPv6 address and reports malformed datagrams', async (t) => {
    const events: string[] = [];
    const lines: string[] = [];
    const l = createSyslogListener({
      address: ipv6Available() ? '[::1]:0' : '127.0.0.1:0',
      onLines: (batch) => lines.push(...batch.lines()),
      onEvent: (e) => events.push(e.type === 'malformed' ? `${e.type}:${e.reason}` : e.type),
    });
    const a = await l.start();
    t.after(() => l.stop());
    await send(a.family === 'IPv6' ? 'udp6' : 'udp4', a.address, a.port, [
      b('<300>x'),
      b(''),
      b('<14>Nov  2 00:00:00 h t: fine'),
    ]);
    await waitFor(() => l.stats().datagrams === 3, '3 datagrams');
    assert.deepEqual(lines, ['fine']);
    assert.equal(l.stats().malformed, 2);
    assert.deepEqual(events, ['malformed:PRI 300 is above 191', 'malformed:empty datagram']);
  });
});

// --- against real nginx -------------------------------------------------------------------------

function findNginx(): string | undefined {
  if (!spawnSync('nginx', ['-v']).error) return 'nginx';
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find((p) => existsSync(p));
}

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('nginx access_log syslog:', { skip: findNginx() ? false : 'nginx not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'logtally-syslog-'));
  let nginx: ChildProcess | undefined;
  after(async () => {
    const proc = nginx;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGQUIT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every request line, with and without hostname', async (t) => {
    const got: { line: string; from: SyslogSource }[] = [];
    const onLines = (batch: LineBatch, from: SyslogSource): void => {
      for (const line of batch.lines()) got.push({ line, from });
    };
    const a = createSyslogListener({ address: '127.0.0.1:0', onLines });
    const bl = createSyslogListener({ address: '127.0.0.1:0', onLines });
    const pa = (await a.start()).port;
    const pb = (await bl.start()).port;
    t.after(() => Promise.all([a.stop(), bl.stop()]));
    const http = await freeTcpPort();
    mkdirSync(join(dir, 'logs'));
    const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((n) => `${n}_temp_path ${join(dir, n)};`)
      .join(' ');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off; worker_processes 1; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'logs/error.log')};
events {}
http {
  ${temps}
  log_format lt '$host\\t$request_uri\\t$status';
  server {
    listen 127.0.0.1:${http};
    access_log syslog:server=127.0.0.1:${pa} lt;
    access_log syslog:server=127.0.0.1:${pb},nohostname,tag=web_1,facility=local0,severity=notice lt;
    location / { return 200 "ok\\n"; }
  }
}
`,
    );
    nginx = spawn(
      findNginx() as string,
      ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs/error.log')],
      {
        stdio: 'ignore',
      },
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await fetch(`http://127.0.0.1:${http}/warmup`);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(20);
      }
    }
    const n = 20;
    for (let i = 0; i < n; i++) await (await fetch(`http://127.0.0.1:${http}/r/${i}?q=${i}`)).text();
    await waitFor(() => got.length === 2 * (n + 1), `${2 * (n + 1)} lines`);
    const withHost = got.filter((g) => g.from.tag === 'nginx');
    const noHost = got.filter((g) => g.from.tag === 'web_1');
    assert.equal(withHost.length, n + 1);
    assert.equal(noHost.length, n + 1);
    assert.ok(withHost.every((g) => typeof g.from.hostname === 'string' && g.from.hostname.length > 0));
    assert.ok(noHost.every((g) => g.from.hostname === undefined));
    const expected = [
      '127.0.0.1\t/warmup\t200',
      ...Array.from({ length: n }, (_, i) => `127.0.0.1\t/r/${i}?q=${i}\t200`),
    ];
    assert.deepEqual(withHost.map((g) => g.line).sort(), [...expected].sort());
    assert.deepEqual(noHost.map((g) => g.line).sort(), [...expected].sort());
    assert.equal(a.stats().malformed + bl.stats().malformed, 0);
  });
});
