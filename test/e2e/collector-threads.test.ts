/**
 * `--threads`: a backlog read in parts by worker threads and merged counts exactly as one thread
 * counts it: every Trend point (equal to an independent count of the log), every TopN of the 60m
 * window, the line and error counters and the Prometheus request counters; and with a state file
 * a restart after the parallel read goes on from its end without a line lost or counted twice.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type CollectorOptions, startCollector } from '../../src/collector/run.ts';
import { createLogtallyClient } from '../../src/rpc/client.ts';
import { prng } from '../support/prng.ts';
import { timeLocal } from '../support/time-local.ts';
import { until } from '../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'logtally-threads-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Two hours of combined lines up to `now`, with some the byte path leaves to the text parser. */
function generate(now: number, from: number, to: number): { text: string; times: number[]; bad: number } {
  const times: number[] = [];
  let text = '';
  let bad = 0;
  const rand = prng(17);
  for (let s = now - from; s < now - to; s++) {
    const seed = Math.floor(rand() * 2147483648);
    const n = seed % 5;
    for (let i = 0; i < n; i++) {
      const k = (seed >>> 8) + i;
      if (k % 97 === 0) {
        text += 'not a log line\n';
        bad++;
        continue;
      }
      times.push(s);
      const ip = k % 11 === 0 ? `2001:db8:${k % 7}::${k % 13}` : `198.51.${k % 3}.${k % 250}`;
      const uri = k % 31 === 0 ? `/q\\x22uote${k % 4}` : `/p${k % 40}?x=${k}`;
      text += `${ip} - - [${timeLocal(s)}] "${k % 5 === 0 ? 'POST' : 'GET'} ${uri} HTTP/1.1" ${200 + (k % 4) * 100} ${k % 900} "-" "agent ${k % 6}"\n`;
    }
  }
  return { text, times, bad };
}

/** A collector reading the combined log `o.logs` from its start, and what it logged. */
async function start(o: Partial<CollectorOptions> & { logs: string }) {
  const log: string[] = [];
  const c = await startCollector({
    listen: '127.0.0.1:0',
    format: { dialect: 'nginx', format: 'combined' },
    v4prefix: 24,
    v6prefix: 48,
    metricsListen: '127.0.0.1:0',
    version: 'test',
    fromStart: true,
    log: (l) => log.push(l),
    ...o,
  });
  return { c, log };
}

/** Runs a collector until it read `total` lines; what it answers then. */
async function run(o: Partial<CollectorOptions> & { logs: string }, total: number) {
  const { c, log } = await start(o);
  const client = createLogtallyClient(`127.0.0.1:${c.rpc.address.port}`);
  await until(`${total} lines read`, async () =>
    Number((await client.status({})).linesRead) >= total ? true : undefined,
  );
  const out: Record<string, unknown> = {};
  for (const window of ['60m', '24h'] as const)
    out[`trend ${window}`] = (await client.trend({ window })).points.map((p) => [
      p.start,
      p.span,
      Number(p.count),
    ]);
  for (const groupBy of ['uri', 'prefix', 'website', 'status', 'method'] as const)
    out[`topn ${groupBy}`] = (await client.topN({ groupBy, window: '60m', n: 50 })).entries.map((e) => [
      e.label,
      Number(e.count),
    ]);
  const st = await client.status({});
  out.status = [Number(st.linesRead), Number(st.parseErrors)];
  const metrics = await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`)).text();
  out.metrics = metrics
    .split('\n')
    .filter((l) =>
      /^logtally_(requests_total|lines_read_total|parse_errors_total|response_bytes_(count|sum))/.test(l),
    )
    .sort();
  return { c, out, log };
}

describe('collector --threads: a backlog read in parallel counts as one thread counts it', () => {
  it('same trends (equal to the log), 60m TopN, counters and metrics as one thread', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { text, times, bad } = generate(now, 7200, 0);
    const path = join(dir, 'access.log');
    writeFileSync(path, text);
    const total = times.length + bad;
    const one = await run({ logs: path, threads: 1 }, total);
    await one.c.stop();
    const two = await run({ logs: path, threads: 2, parallelMinBytes: 1 }, total);
    await two.c.stop();
    assert.ok(
      two.log.some((l) => l.includes('in 2 parts on 2 threads')),
      `read in parallel:\n${two.log.join('\n')}`,
    );
    assert.ok(!one.log.some((l) => l.includes(' parts on ')), one.log.join('\n'));
    assert.deepEqual(two.out, one.out);
    assert.deepEqual(one.out.status, [total, bad]);
    // The trend is the log's own count.
    const points = one.out['trend 24h'] as [number, number, number][];
    for (const [start, span, count] of points)
      assert.equal(count, times.filter((t) => t >= start && t < start + span).length, `${start}`);
  });

  it('stopped during the parallel read, then restarted: every line counted once', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { text, times } = generate(now, 3000, 0);
    const path = join(dir, 'stopped.log');
    // A larger backlog: the stop comes while it is being read.
    writeFileSync(path, text.repeat(8));
    const stateFile = join(dir, 'stopped.state');
    const a = await start({ logs: path, threads: 2, parallelMinBytes: 1, stateFile });
    await a.c.stop();
    // Stopped before the parts were merged (the first part is read 1 MiB at a time).
    assert.ok(
      a.log.some((l) => l.includes(' parts on 2 threads')),
      a.log.join('\n'),
    );
    assert.ok(!a.log.some((l) => l.includes(' line(s) counted in ')), a.log.join('\n'));
    const b = await start({ logs: path, threads: 2, parallelMinBytes: 1, stateFile });
    const client = createLogtallyClient(`127.0.0.1:${b.c.rpc.address.port}`);
    const sum = async () =>
      (await client.trend({ window: '24h' })).points.reduce((n, p) => n + Number(p.count), 0);
    await until('every line counted', async () =>
      (await sum()) >= times.length * 8 ? true : undefined,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${a.log.join('\n')}\n${b.log.join('\n')}`);
    });
    // Nothing counted twice: once the tailer runs, the sum is still the log's.
    await until('tailing', async () => ((await client.status({})).files.length > 0 ? true : undefined));
    assert.equal(await sum(), times.length * 8);
    await b.c.stop();
  });

  it('with a state file, a restart after the parallel read goes on from its end', async () => {
    const now = Math.floor(Date.now() / 1000);
    const first = generate(now, 3600, 120);
    const path = join(dir, 'state.log');
    writeFileSync(path, first.text);
    const stateFile = join(dir, 'collector.state');
    const total1 = first.times.length + first.bad;
    const a = await run({ logs: path, threads: 2, parallelMinBytes: 1, stateFile }, total1);
    assert.ok(
      a.log.some((l) => l.includes('on 2 threads')),
      a.log.join('\n'),
    );
    await a.c.stop();
    const more = generate(now, 120, 0);
    appendFileSync(path, more.text);
    const b = await run(
      { logs: path, threads: 2, parallelMinBytes: 1, stateFile },
      more.times.length + more.bad,
    );
    await b.c.stop();
    const all = [...first.times, ...more.times];
    const points = b.out['trend 24h'] as [number, number, number][];
    assert.equal(
      points.reduce((n, p) => n + p[2], 0),
      all.length,
    );
    for (const [start, span, count] of points)
      assert.equal(count, all.filter((t) => t >= start && t < start + span).length, `${start}`);
  });
});
