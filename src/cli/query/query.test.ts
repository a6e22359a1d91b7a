import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { StoreBackend } from '../../collector/store-backend.ts';
import { LogtallyError } from '../../format/errors.ts';
import type { QueryBackend, SnapshotData } from '../../rpc/backend.ts';
import { type RpcServer, startRpcServer } from '../../rpc/server.ts';
import type { Filter } from '../../store/filter.ts';
import { Store, type TopNQuery } from '../../store/store.ts';
import type { Window } from '../../store/windows.ts';
import type { Io } from '../format-command.ts';
import { Output } from '../output.ts';
import { queryCommands, type StreamOptions } from './index.ts';

/** Collected text with event-driven waiting (no polling, no sleeps). */
class Collected {
  text = '';
  #waiters: { test: (s: string) => boolean; resolve: () => void }[] = [];
  add(s: string): void {
    this.text += s;
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.test(this.text)) return true;
      w.resolve();
      return false;
    });
  }
  waitFor(re: RegExp): Promise<void> {
    if (re.test(this.text)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ test: (s) => re.test(s), resolve }));
  }
}

class CaptureStream extends Writable {
  readonly out = new Collected();
  isTTY?: boolean;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.out.add(chunk.toString());
    cb();
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface Running {
  stdout: Collected;
  stderr: Collected;
  done: Promise<Run>;
}

/** Runs `logtally <args>` in-process with the query commands (as main.ts would), capturing output. */
function start(args: readonly string[], opts: { tty?: boolean; stream?: StreamOptions } = {}): Running {
  const sink = new CaptureStream();
  if (opts.tty) sink.isTTY = true;
  const stderr = new Collected();
  const io: Io = { stdout: new Output(sink), stderr: (line) => stderr.add(`${line}\n`) };
  const result = { code: 0 };
  const output = { writeOut: (s: string) => sink.out.add(s), writeErr: (s: string) => stderr.add(s) };
  const program = new Command('logtally').exitOverride().configureOutput(output);
  for (const c of queryCommands(io, result, opts.stream ? { stream: opts.stream } : {})) {
    program.addCommand(c.exitOverride().configureOutput(output));
  }
  const done = (async (): Promise<Run> => {
    let code: number;
    try {
      await program.parseAsync([...args], { from: 'user' });
      code = result.code;
    } catch (e) {
      if (e instanceof CommanderError) code = e.exitCode;
      else if (e instanceof LogtallyError) {
        stderr.add(`logtally: ${e.message}\n`);
        code = 2;
      } else throw e;
    }
    return { code, stdout: sink.out.text, stderr: stderr.text };
  })();
  return { stdout: sink.out, stderr, done };
}

const run = (args: readonly string[], opts: { tty?: boolean } = {}) => start(args, opts).done;

const ingest = { files: () => [], linesRead: 0, parseErrors: 0, syslogDatagrams: 0, syslogLines: 0 };
/** A minute boundary (epoch seconds). */
const T0 = 1_794_999_960;

/** A backend that reports each StreamSnapshots subscription and can end the active streams. */
class Watched implements QueryBackend {
  readonly inner: StoreBackend;
  #subscribed: (() => void)[] = [];
  #kill = new AbortController();
  constructor(inner: StoreBackend) {
    this.inner = inner;
  }
  get source() {
    return this.inner.source;
  }
  /** Resolves when the next subscription has registered with the store. */
  nextSubscription(): Promise<void> {
    return new Promise((resolve) => this.#subscribed.push(resolve));
  }
  /** Ends every open snapshot stream (the server completes the RPC). */
  endStreams(): void {
    this.#kill.abort();
    this.#kill = new AbortController();
  }
  topN(q: TopNQuery) {
    return this.inner.topN(q);
  }
  trend(window: Window, filter: Filter) {
    return this.inner.trend(window, filter);
  }
  async *snapshots(backfill: boolean, signal: AbortSignal): AsyncIterable<SnapshotData> {
    const it = this.inner.snapshots(backfill, AbortSignal.any([signal, this.#kill.signal]));
    const iterator = it[Symbol.asyncIterator]();
    // The first next() runs the store backend up to its first wait: it has subscribed by then.
    const first = iterator.next();
    for (const r of this.#subscribed.splice(0)) r();
    let step = await first;
    while (!step.done) {
      yield step.value;
      step = await iterator.next();
    }
  }
  targets() {
    return this.inner.targets();
  }
  status() {
    return this.inner.status();
  }
}

async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

function add(
  store: Store,
  n: number,
  website: string,
  addr: string,
  uri: string,
  status: number,
  bytes = 100,
) {
  for (let i = 0; i < n; i++) store.add(website, addr, uri, status, '', 'GET', bytes, 0.002);
}

describe('logtally topn / trend / targets against real servers', () => {
  const clock1 = { t: T0 + 10 };
  const store1 = new Store({ now: () => clock1.t });
  const clock2 = { t: T0 + 10 };
  const store2 = new Store({ now: () => clock2.t });
  let s1: RpcServer;
  let s2: RpcServer;
  let t1 = '';
  let t2 = '';
  let dead = '';

  before(async () => {
    // col-1: example.com 18 432 (432 of them 503), other.com 4 211, one hostile URI.
    add(store1, 18_000, 'example.com', '192.0.2.10', '/', 200);
    add(store1, 432, 'example.com', '192.0.2.11', '/api?q=1', 503, 1000);
    add(store1, 4_211, 'other.com', '198.51.100.7', '/a', 200, 10);
    store1.add('evil.example', '2001:db8:1:2::5', '/\x1b[31mred\n', 404, '10.0.0.1:80', 'POST', 5, 0.25);
    // col-2: example.com 10 000.
    add(store2, 10_000, 'example.com', '203.0.113.9', '/', 200);
    s1 = await startRpcServer('127.0.0.1:0', new StoreBackend(store1, 'col-1', 't', ingest));
    s2 = await startRpcServer('127.0.0.1:0', new StoreBackend(store2, 'col-2', 't', ingest));
    t1 = `127.0.0.1:${s1.address.port}`;
    t2 = `127.0.0.1:${s2.address.port}`;
    dead = `127.0.0.1:${await closedPort()}`;
  });
  after(async () => {
    await s1.close();
    await s2.close();
  });

  it('topn: one target prints the table without a section header', async () => {
    const r = await run(['topn', '--target', t1]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        'RANK   COUNT  LABEL',
        '   1  18 432  example.com',
        '   2   4 211  other.com',
        '   3       1  evil.example',
        '',
      ].join('\n'),
    );
  });

  it('topn: several targets print a === source (host:port) === section each, in --target order', async () => {
    const r = await run(['topn', '--target', `${t2},${t1}`, '--n', '2']);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        `=== col-2 (${t2}) ===`,
        'RANK   COUNT  LABEL',
        '   1  10 000  example.com',
        '',
        `=== col-1 (${t1}) ===`,
        'RANK   COUNT  LABEL',
        '   1  18 432  example.com',
        '   2   4 211  other.com',
        '',
      ].join('\n'),
    );
  });

  it('topn --json: one object per target with label, count, bytes and time', async () => {
    const r = await run(['topn', '--target', `${t1},${t2}`, '--json', '--n', '2']);
    assert.equal(r.code, 0);
    const lines = r.stdout.split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '');
    assert.equal(
      lines[0],
      `{"source":"col-1","target":"${t1}","entries":[{"label":"example.com","count":18432,"bytes":2232000,"time":36.864},{"label":"other.com","count":4211,"bytes":42110,"time":8.422}]}`,
    );
    assert.deepEqual(JSON.parse(lines[1] as string), {
      source: 'col-2',
      target: t2,
      entries: [{ label: 'example.com', count: 10000, bytes: 1_000_000, time: 20 }],
    });
  });

  it('topn passes the filters and grouping through', async () => {
    const counts = async (...args: string[]) => {
      const r = await run(['topn', '--target', t1, '--json', ...args]);
      assert.equal(r.code, 0, r.stderr);
      const o = JSON.parse(r.stdout) as { entries: { label: string; count: number }[] };
      return o.entries.map((e) => [e.label, e.count]);
    };
    assert.deepEqual(await counts('--status', '>=500'), [['example.com', 432]]);
    assert.deepEqual(await counts('--status', '200', '--group-by', 'prefix'), [
      ['192.0.2.0/24', 18000],
      ['198.51.100.0/24', 4211],
    ]);
    assert.deepEqual(await counts('--group-by', 'prefix', '--website', 'evil.example'), [
      ['2001:db8:1::/48', 1],
    ]);
    assert.deepEqual(await counts('--group-by', 'uri', '--website', 'example.com', '--window', '1m'), [
      ['/', 18000],
      ['/api', 432],
    ]);
    assert.deepEqual(await counts('--group-by', 'status', '--uri', '/a'), [['200', 4211]]);
    assert.deepEqual(await counts('--group-by', 'status', '--prefix', '192.0.2.0/24', '--n', '1'), [
      ['200', 18000],
    ]);
    assert.deepEqual(await counts('--group-by', 'method', '--upstream', '10.0.0.1:80'), [['POST', 1]]);
    assert.deepEqual(await counts('--method', 'POST'), [['evil.example', 1]]);
    assert.deepEqual(await counts('--website-re', '^e'), [
      ['example.com', 18432],
      ['evil.example', 1],
    ]);
    assert.deepEqual(await counts('--website-re', '^e', '--website-re-neg'), [['other.com', 4211]]);
    assert.deepEqual(await counts('--group-by', 'uri', '--uri-re', '^/a', '--uri-re-neg'), [
      ['/', 18000],
      ['/\x1b[31mred\n', 1],
    ]);
    assert.deepEqual(await counts('--order-by', 'bytes', '--n', '1'), [['example.com', 18432]]);
    assert.deepEqual(await counts('--group-by', 'upstream', '--order-by', 'time', '--n', '1'), [['', 22643]]);
  });

  it('topn --order-by bytes / time adds that column', async () => {
    const r = await run(['topn', '--target', t1, '--order-by', 'bytes', '--n', '2']);
    assert.equal(
      r.stdout,
      [
        'RANK   COUNT      BYTES  LABEL',
        '   1  18 432  2 232 000  example.com',
        '   2   4 211     42 110  other.com',
        '',
      ].join('\n'),
    );
    const t = await run(['topn', '--target', t1, '--order-by', 'time', '--n', '1']);
    assert.equal(
      t.stdout,
      ['RANK   COUNT    TIME  LABEL', '   1  18 432  36.864  example.com', ''].join('\n'),
    );
  });

  it('labels are escaped in tables and kept as data in JSON', async () => {
    const r = await run(['topn', '--target', t1, '--group-by', 'uri', '--website', 'evil.example']);
    assert.equal(r.stdout, 'RANK  COUNT  LABEL\n   1      1  /\\x1B[31mred\\x0A\n');
    assert.ok(!r.stdout.includes('\x1b'));
    const j = await run(['topn', '--target', t1, '--group-by', 'uri', '--website', 'evil.example', '--json']);
    assert.equal(
      (JSON.parse(j.stdout) as { entries: { label: string }[] }).entries[0]?.label,
      '/\x1b[31mred\n',
    );
    assert.ok(j.stdout.includes('"/\\u001b[31mred\\n"'));
  });

  it('keys pushed out of a full minute: "(other)" grouped by URI (other: true in JSON), exact by website', async () => {
    const store = new Store({ now: () => T0 + 10, liveCap: 3 });
    for (let i = 0; i < 5; i++) store.add('site.test', '192.0.2.1', '/heavy', 200, '', 'GET', 1, 0);
    for (let i = 0; i < 10; i++) store.add('site.test', '192.0.2.1', `/k${i}`, 200, '', 'GET', 1, 0);
    const srv = await startRpcServer('127.0.0.1:0', new StoreBackend(store, 'col-3', 't', ingest));
    try {
      const t = `127.0.0.1:${srv.address.port}`;
      const r = await run(['topn', '--target', t, '--group-by', 'uri', '--window', '1m']);
      // The top n, then "(other)" (not ranked, not counted in n).
      assert.equal(
        r.stdout,
        'RANK  COUNT  LABEL\n   1      5  /heavy\n   2      1  /k8\n   3      1  /k9\n          8  (other)\n',
      );
      const j = await run([
        'topn',
        '--target',
        t,
        '--group-by',
        'uri',
        '--window',
        '1m',
        '--json',
        '--n',
        '1',
      ]);
      assert.deepEqual((JSON.parse(j.stdout) as { entries: unknown[] }).entries, [
        { label: '/heavy', count: 5, bytes: 5, time: 0 },
        { label: '', other: true, count: 8, bytes: 8, time: 0 },
      ]);
      const w = await run(['topn', '--target', t, '--window', '1m']);
      assert.equal(w.stdout, 'RANK  COUNT  LABEL\n   1     15  site.test\n');
    } finally {
      await srv.close();
    }
  });

  it('an unreachable target: one line naming it, exit status 1', async () => {
    const r = await run(['topn', '--target', dead]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `logtally: ${dead}: connection refused\n`);
  });

  it('several targets, one unreachable: the others print, its section holds the error, exit 1', async () => {
    const r = await run(['topn', '--target', `${t2},${dead}`]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      [
        `=== col-2 (${t2}) ===`,
        'RANK   COUNT  LABEL',
        '   1  10 000  example.com',
        '',
        `=== ${dead} ===`,
        'error: connection refused',
        '',
      ].join('\n'),
    );
    assert.equal(r.stderr, `logtally: ${dead}: connection refused\n`);
    const j = await run(['topn', '--target', `${dead},${t2}`, '--json']);
    assert.equal(j.code, 1);
    assert.equal(j.stdout.split('\n').length, 2);
    assert.equal((JSON.parse(j.stdout) as { source: string }).source, 'col-2');
    assert.equal(j.stderr, `logtally: ${dead}: connection refused\n`);
  });

  it('a target that never answers times out after --timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((sock) => {
      sockets.add(sock);
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const mute = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const r = await run(['topn', '--target', `${t2},${mute}`, '--timeout', '0.2']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `logtally: ${mute}: timed out after 0.2s\n`);
      assert.ok(r.stdout.startsWith(`=== col-2 (${t2}) ===\n`));
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
    }
  });

  it('invalid flags fail before any connection, naming the flag (exit 2)', async () => {
    for (const [args, message] of [
      [
        ['topn', '--window', '2m'],
        '--window: unknown window "2m" (expected one of 1m, 5m, 15m, 60m, 6h, 24h, 7d, 30d)',
      ],
      [
        ['topn', '--status', '5xx'],
        '--status: expected a status code or a comparison such as >=500, got "5xx"',
      ],
      [['topn', '--n', '0'], '--n: expected an integer from 1 to 100000, got "0"'],
      [
        ['topn', '--group-by', 'colour'],
        '--group-by: unknown dimension "colour" (expected one of website, prefix, uri, status, upstream, method)',
      ],
      [
        ['topn', '--order-by', 'fame'],
        '--order-by: unknown order "fame" (expected one of requests, bytes, time)',
      ],
      [['topn', '--uri-re-neg'], '--uri-re-neg: needs --uri-re'],
      [['topn', '--timeout', '0'], '--timeout: expected a number of seconds greater than 0, got "0"'],
      [
        ['trend', '--window', '7w'],
        '--window: unknown window "7w" (expected one of 1m, 5m, 15m, 60m, 6h, 24h, 7d, 30d)',
      ],
      [
        ['trend', '--from', 'yesterday'],
        '--from: expected now, a relative time such as -3d, -12h or -90m, or an ISO time such as 2026-11-02T14:00Z, got "yesterday"',
      ],
      [['topn', '--from', '-1d', '--to', '-2d'], /^--from: from \(.*\) must be before to/],
      [['topn', '--from', '-500d'], '--from: at most 400 days, got 500.0'],
      [
        ['stream', '--status', '>=5000'],
        '--status: expected a status code or a comparison such as >=500, got ">=5000"',
      ],
      [
        ['targets', '--target', 'nohost'],
        '--target: expected host:port (like :9090 or 127.0.0.1:9090), got "nohost"',
      ],
    ] as const) {
      // `dead` refuses connections: a connection attempt would show as "connection refused".
      const r = await run([
        ...args,
        ...((args as readonly string[]).includes('--target') ? [] : ['--target', dead]),
      ]);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      if (typeof message === 'string') assert.equal(r.stderr, `logtally: ${message}\n`);
      else assert.match(r.stderr, new RegExp(`^logtally: ${message.source.slice(1)}`));
    }
    const regex = await run(['topn', '--target', dead, '--uri-re', '(']);
    assert.equal(regex.code, 2);
    assert.match(regex.stderr, /^logtally: --uri-re: invalid regular expression: .*\n$/);
  });

  it('trend: points as a table, with a sparkline in a terminal, and as JSON', async () => {
    const clock = { t: T0 + 5 };
    const store = new Store({ now: () => clock.t });
    add(store, 3, 'example.com', '192.0.2.1', '/', 200);
    clock.t = T0 + 125; // minute T0+60 stays empty
    add(store, 6, 'example.com', '192.0.2.1', '/', 503);
    const server = await startRpcServer('127.0.0.1:0', new StoreBackend(store, 'col-3', 't', ingest));
    const t = `127.0.0.1:${server.address.port}`;
    try {
      const table = [
        'TIME                  COUNT',
        '2026-11-18T11:06:00Z      3',
        '2026-11-18T11:07:00Z      0',
      ];
      const plain = await run(['trend', '--target', t]);
      assert.equal(plain.code, 0);
      assert.equal(plain.stdout, [...table, '2026-11-18T11:08:00Z      6', ''].join('\n'));
      const tty = await run(['trend', '--target', t], { tty: true });
      assert.equal(tty.stdout, [...table, '2026-11-18T11:08:00Z      6', '▅▁█  peak 6/min', ''].join('\n'));
      const forced = await run(['trend', '--target', t, '--sparkline', '--status', '503']);
      assert.equal(
        forced.stdout,
        [
          'TIME                  COUNT',
          '2026-11-18T11:06:00Z      0',
          '2026-11-18T11:07:00Z      0',
          '2026-11-18T11:08:00Z      6',
          '▁▁█  peak 6/min',
          '',
        ].join('\n'),
      );
      const off = await run(['trend', '--target', t, '--no-sparkline'], { tty: true });
      assert.ok(!off.stdout.includes('peak'));
      const json = await run(['trend', '--target', `${t},${t1}`, '--json', '--window', '15m']);
      assert.equal(json.code, 0);
      const [a, b] = json.stdout.trim().split('\n');
      assert.equal(
        a,
        `{"source":"col-3","target":"${t}","points":[` +
          `{"ts":${T0},"span":60,"count":3,"bytes":300,"time":0.006},` +
          `{"ts":${T0 + 60},"span":60,"count":0,"bytes":0,"time":0},` +
          `{"ts":${T0 + 120},"span":60,"count":6,"bytes":600,"time":0.012}]}`,
      );
      assert.deepEqual(
        (JSON.parse(b as string) as { points: { count: number }[] }).points.map((p) => p.count),
        [22644],
      );
    } finally {
      await server.close();
    }
  });

  it('targets: the collectors behind an endpoint', async () => {
    const r = await run(['targets', '--target', t1]);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        'SOURCE  ADDRESS  STATE  LAST SNAPSHOT  FAILURES',
        'col-1   -        up     -                     0',
        '',
      ].join('\n'),
    );
    const multi = await run(['targets', '--target', `${t1},${dead}`, '--json']);
    assert.equal(multi.code, 1);
    assert.equal(
      multi.stdout,
      `{"source":"col-1","target":"${t1}","targets":[{"source":"col-1","address":"","state":"up","last_snapshot":0,"failures":0}]}\n`,
    );
    assert.equal(multi.stderr, `logtally: ${dead}: connection refused\n`);
  });

  it('--help of every command lists its flags and examples', async () => {
    for (const [cmd, flags] of [
      [
        'topn',
        ['--n', '--window', '--group-by', '--order-by', '--uri-re-neg', '--website-re-neg', '--timeout'],
      ],
      ['trend', ['--window', '--sparkline', '--status', '--upstream', '--method']],
      ['stream', ['--group-by', '--website-re', '--uri-re']],
      ['targets', ['--tls-ca', '--token-file']],
    ] as const) {
      const r = await run([cmd, '--help']);
      assert.equal(r.code, 0);
      for (const f of ['--target', '--json', ...flags])
        assert.ok(r.stdout.includes(f), `${cmd} --help: ${f}`);
      assert.ok(r.stdout.includes(`Examples:\n  # `), `${cmd} --help has examples`);
      assert.ok(r.stdout.includes(`logtally ${cmd} --target`), `${cmd} --help example`);
    }
  });
});

describe('logtally stream', () => {
  it('prints each snapshot and reconnects after the server restarts', async () => {
    const clock = { t: T0 + 1 };
    const store = new Store({ now: () => clock.t });
    const first = new Watched(new StoreBackend(store, 'live-1', 't', ingest));
    let server = await startRpcServer('127.0.0.1:0', first);
    const port = server.address.port;
    const target = `127.0.0.1:${port}`;
    const ac = new AbortController();
    let subscribed = first.nextSubscription();
    const s = start(['stream', '--target', target], { stream: { backoffMs: 10, signal: ac.signal } });
    try {
      await subscribed;
      add(store, 1_500, 'example.com', '192.0.2.1', '/', 200);
      add(store, 2, 'other.com', '192.0.2.1', '/', 200);
      clock.t += 60;
      store.tick();
      await s.stdout.waitFor(/\n/);
      assert.equal(
        s.stdout.text,
        `2026-11-18T11:06:00Z  live-1 (${target})  2 entries  1 502 requests  top 1 500 example.com\n`,
      );

      // Restart: the server ends the stream and goes away; the client retries until it is back.
      first.endStreams();
      await server.close();
      await s.stderr.waitFor(/connection refused/);
      const clock2 = { t: T0 + 601 };
      const store2 = new Store({ now: () => clock2.t });
      const second = new Watched(new StoreBackend(store2, 'live-2', 't', ingest));
      subscribed = second.nextSubscription();
      server = await startRpcServer(`127.0.0.1:${port}`, second);
      await subscribed;
      add(store2, 7, 'restarted.example', '198.51.100.1', '/', 200);
      clock2.t += 60;
      store2.tick();
      await s.stdout.waitFor(/live-2/);
      assert.equal(
        s.stdout.text.split('\n')[1],
        `2026-11-18T11:16:00Z  live-2 (${target})  1 entries  7 requests  top 7 restarted.example`,
      );
      await s.stderr.waitFor(/reconnected/);
      const errs = s.stderr.text.split('\n');
      assert.ok(
        errs.includes(`logtally: ${target}: the server ended the stream; reconnecting in 10ms`),
        s.stderr.text,
      );
      assert.ok(
        errs.includes(`logtally: ${target}: connection refused; reconnecting in 10ms`),
        s.stderr.text,
      );
      assert.equal(errs.at(-2), `logtally: ${target}: reconnected`);
    } finally {
      ac.abort();
      const r = await s.done;
      assert.equal(r.code, 0);
      await server.close();
    }
  });

  it('--json: one object per snapshot per target, filters applied', async () => {
    const clocks = [{ t: T0 + 1 }, { t: T0 + 1 }];
    const stores = clocks.map((c) => new Store({ now: () => c.t }));
    const backends = stores.map((st, i) => new Watched(new StoreBackend(st, `col-${i + 1}`, 't', ingest)));
    const subs = backends.map((b) => b.nextSubscription());
    const servers = await Promise.all(backends.map((b) => startRpcServer('127.0.0.1:0', b)));
    const targets = servers.map((sv) => `127.0.0.1:${sv.address.port}`);
    const ac = new AbortController();
    const s = start(
      ['stream', '--target', targets.join(','), '--json', '--status', '>=400', '--group-by', 'uri'],
      {
        stream: { signal: ac.signal },
      },
    );
    try {
      await Promise.all(subs);
      const [a, b] = stores as [Store, Store];
      add(a, 10_000, 'example.com', '192.0.2.1', '/busy', 429);
      add(a, 5, 'example.com', '192.0.2.1', '/ok', 200);
      add(a, 3, 'example.com', '192.0.2.1', '/gone', 404);
      add(b, 4, 'other.com', '192.0.2.1', '/fine', 200);
      for (const c of clocks) c.t += 60;
      a.tick();
      await s.stdout.waitFor(/col-1/);
      b.tick();
      await s.stdout.waitFor(/col-2/);
      assert.deepEqual(s.stdout.text.trim().split('\n'), [
        `{"ts":${T0},"source":"col-1","target":"${targets[0]}","total_entries":2,"top_label":"/busy","top_count":10000}`,
        `{"ts":${T0},"source":"col-2","target":"${targets[1]}","total_entries":0,"top_label":"","top_count":0}`,
      ]);
      assert.equal(s.stderr.text, '');
    } finally {
      ac.abort();
      assert.equal((await s.done).code, 0);
      for (const sv of servers) await sv.close();
    }
  });
});

describe('the query commands in a real process', () => {
  it('topn exits with its status after one response; trend draws no sparkline into a pipe', async () => {
    const clock = { t: T0 + 1 };
    const store = new Store({ now: () => clock.t });
    add(store, 1_234, 'example.com', '192.0.2.1', '/', 200);
    const server = await startRpcServer('127.0.0.1:0', new StoreBackend(store, 'proc', 't', ingest));
    const t = `127.0.0.1:${server.address.port}`;
    const dead = `127.0.0.1:${await closedPort()}`;
    // A tiny entry registering only these commands, with main.ts's error handling.
    const entry = `
      import { Command, CommanderError } from 'commander';
      import { Output } from ${JSON.stringify(new URL('../output.ts', import.meta.url).href)};
      import { queryCommands } from ${JSON.stringify(new URL('./index.ts', import.meta.url).href)};
      const io = { stdout: new Output(process.stdout), stderr: (l) => process.stderr.write(l + '\\n') };
      const result = { code: 0 };
      const program = new Command('logtally').exitOverride();
      for (const c of queryCommands(io, result)) program.addCommand(c.exitOverride());
      try { await program.parseAsync(process.argv.slice(1), { from: 'user' }); process.exitCode = result.code; }
      catch (e) {
        if (e instanceof CommanderError) process.exitCode = e.exitCode;
        else { process.stderr.write('logtally: ' + e.message + '\\n'); process.exitCode = 2; }
      }`;
    const proc = async (...args: string[]) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', entry, '--', ...args], {
        cwd: new URL('.', import.meta.url),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const [code] = (await once(child, 'close')) as [number];
      return { code, stdout, stderr };
    };
    try {
      const [ok, trend] = await Promise.all([
        proc('topn', '--target', `${t},${dead}`),
        proc('trend', '--target', t),
      ]);
      assert.equal(ok.code, 1);
      assert.equal(
        ok.stdout,
        `=== proc (${t}) ===\nRANK  COUNT  LABEL\n   1  1 234  example.com\n\n=== ${dead} ===\nerror: connection refused\n`,
      );
      assert.equal(ok.stderr, `logtally: ${dead}: connection refused\n`);
      assert.equal(trend.code, 0);
      assert.equal(trend.stdout, 'TIME                  COUNT\n2026-11-18T11:06:00Z  1 234\n');
    } finally {
      await server.close();
    }
  });
});
