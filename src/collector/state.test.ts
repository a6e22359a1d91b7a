// A failed checkpoint of --state-file is reported in Status (and /metrics) and retried.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogtallyClient } from '../rpc/client.ts';
import { startCollector } from './run.ts';

const dir = mkdtempSync(join(tmpdir(), 'logtally-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A collector on one logtail file with a state file, its log lines kept. */
async function start(logs: string, o: { stateFile: string; checkpointIntervalMs?: number }) {
  const lines: string[] = [];
  const c = await startCollector({
    listen: '127.0.0.1:0',
    logs,
    format: { dialect: 'nginx', format: 'logtail' },
    v4prefix: 24,
    v6prefix: 48,
    metricsListen: '',
    version: 'test',
    log: (l) => lines.push(l),
    ...o,
  });
  return { c, lines };
}

describe('collector: failed state saves', () => {
  it('are counted in Status with the error, retried every interval, and cleared by the next save', async () => {
    const log = join(dir, 'access.log');
    writeFileSync(log, '');
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir);
    const { c, lines } = await start(log, {
      stateFile: join(stateDir, 'collector.state'),
      checkpointIntervalMs: 200,
    });
    try {
      const client = createLogtallyClient(`127.0.0.1:${c.rpc.address.port}`);
      const first = await client.status({});
      assert.equal(first.stateSaveFailures, 0);
      assert.ok(first.stateLastSaved > 0);
      // The state's directory goes away: every checkpoint fails.
      rmSync(stateDir, { recursive: true });
      const failing = await until('failures reported', async () => {
        const s = await client.status({});
        return s.stateSaveFailures >= 2 ? s : undefined;
      });
      assert.match(failing.stateSaveError, /ENOENT/);
      // Back: the next checkpoint (a full snapshot) succeeds and clears the error.
      mkdirSync(stateDir);
      const ok = await until('a save after the failures', async () => {
        const s = await client.status({});
        return s.stateSaveError === '' && s.stateLastSaved > failing.stateLastSaved ? s : undefined;
      });
      assert.ok(ok.stateSaveFailures >= 2);
      assert.ok(lines.some((l) => /cannot save \(attempt 1; retried every interval\)/.test(l)));
      assert.ok(lines.some((l) => /saving again after \d+ failed attempt/.test(l)));
    } finally {
      await c.stop();
    }
  });
});

describe('collector: a state file it cannot restore', () => {
  it('is moved aside with a message, and the collector starts empty', async () => {
    const log = join(dir, 'empty.log');
    writeFileSync(log, '');
    const stateFile = join(dir, 'damaged.state');
    writeFileSync(stateFile, 'LTSTATE1 but nothing after');
    writeFileSync(`${stateFile}.journal`, 'a journal');
    const { c, lines } = await start(log, { stateFile });
    try {
      const moved = lines.find((l) => l.includes('cannot restore'));
      assert.ok(moved, lines.join('\n'));
      const aside = /moved to (\S+), starting empty/.exec(moved)?.[1] as string;
      assert.equal(readFileSync(aside, 'latin1'), 'LTSTATE1 but nothing after');
      assert.equal(readFileSync(`${aside}.journal`, 'latin1'), 'a journal');
      const st = await createLogtallyClient(`127.0.0.1:${c.rpc.address.port}`).status({});
      assert.equal(Number(st.linesRead), 0);
    } finally {
      await c.stop();
    }
  });
});
