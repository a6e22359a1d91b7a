import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fakeTime, tempDir } from '../../test/support/writer-fakes.ts';
import { compileNginx } from '../format/nginx/compile.ts';
import { ErrorReporter, emptyStats, type WriterDiagnostic } from './diagnostics.ts';
import { createLog } from './log.ts';
import { OpenFileCache } from './open-file-cache.ts';

const fmt = compileNginx('$host $n');

function cacheIn(
  dir: string,
  settings: { max: number; inactive?: number; minUses?: number; valid?: number },
) {
  const time = fakeTime();
  const stats = emptyStats();
  const cache = new OpenFileCache(
    { inactive: 10_000, minUses: 1, valid: 60_000, ...settings },
    0o644,
    time.clock,
    stats,
    new ErrorReporter('t', stats, () => {}),
  );
  const use = (name: string) => {
    const p = join(dir, name);
    const fd = cache.acquire(p);
    assert.ok(fd >= 0);
    cache.release(p);
  };
  const names = () => cache.paths().map((p) => p.slice(dir.length + 1));
  return { time, stats, cache, use, names };
}

describe('open_log_file_cache', () => {
  it('max: the least recently used descriptor is closed when the cache is full', (t) => {
    const c = cacheIn(tempDir(t), { max: 2 });
    c.use('a');
    c.use('b');
    c.use('a');
    assert.deepEqual(c.names(), ['b', 'a'], 'LRU order, oldest first');
    c.use('c');
    assert.deepEqual(c.names(), ['a', 'c'], 'b was least recently used');
    assert.equal(c.stats.cachedFiles, 2);
    c.cache.clear();
    assert.equal(c.stats.cachedFiles, 0);
  });

  it('inactive: after each use up to two entries idle longer than inactive are closed', (t) => {
    const c = cacheIn(tempDir(t), { max: 10, inactive: 10_000 });
    c.use('a');
    c.use('b');
    c.use('c');
    c.time.advance(5_000);
    c.use('d');
    assert.deepEqual(c.names(), ['a', 'b', 'c', 'd']);
    c.time.advance(5_001);
    c.use('d');
    assert.deepEqual(c.names(), ['c', 'd'], 'a and b (idle 10.001 s) closed; at most two per use, as nginx');
    c.use('d');
    assert.deepEqual(c.names(), ['d']);
    c.time.advance(10_001);
    c.cache.sweep();
    assert.deepEqual(c.names(), [], 'the periodic sweep closes idle entries without writes');
  });

  it('min_uses: a file used fewer times stays in the cache without a descriptor', (t) => {
    const c = cacheIn(tempDir(t), { max: 10, minUses: 2 });
    c.use('a');
    assert.deepEqual(c.names(), ['a']);
    assert.equal(c.cache.openDescriptors, 0, 'closed after the first use');
    c.use('a');
    assert.equal(c.cache.openDescriptors, 1, 'kept open from the second use');
  });

  it('valid: the path is re-checked after valid; a removed or replaced file is reopened', (t) => {
    const dir = tempDir(t);
    const time = fakeTime();
    const log = createLog(join(dir, '$host.log'), {
      format: fmt,
      openFileCache: { max: 10, valid: '60s', inactive: '10m' },
      clock: time.clock,
      timers: time.timers,
    });
    const file = join(dir, 'a.log');
    log.write({ host: 'a', n: 1 });
    unlinkSync(file);
    time.advance(59_999);
    log.write({ host: 'a', n: 2 });
    assert.equal(existsSync(file), false, 'within valid the cached descriptor (to the removed file) is used');
    time.advance(1);
    log.write({ host: 'a', n: 3 });
    assert.equal(readFileSync(file, 'latin1'), 'a 3\n', 'after valid: re-checked, recreated, this line kept');
    // A replaced file (logrotate's rename + new file): same rule.
    renameSync(file, `${file}.1`);
    log.write({ host: 'a', n: 4 });
    assert.equal(readFileSync(`${file}.1`, 'latin1'), 'a 3\na 4\n');
    time.advance(60_000);
    log.write({ host: 'a', n: 5 });
    assert.equal(readFileSync(file, 'latin1'), 'a 5\n');
    // Still the same file after valid: no reopen needed, writes continue.
    time.advance(60_000);
    log.write({ host: 'a', n: 6 });
    assert.equal(readFileSync(file, 'latin1'), 'a 5\na 6\n');
    assert.equal(log.stats.lines, 6);
    assert.equal(log.stats.cachedFiles, 1);
    log.close();
    assert.equal(log.stats.cachedFiles, 0);
  });
});

describe('paths with variables', () => {
  it('one file per value, opened and closed per line without a cache', (t) => {
    const dir = tempDir(t);
    const log = createLog(join(dir, '$host-access.log'), { format: fmt });
    for (let i = 0; i < 6; i++) log.write({ host: i % 2 ? 'odd.example' : 'even.example', n: i });
    log.close();
    assert.equal(
      readFileSync(join(dir, 'even.example-access.log'), 'latin1'),
      'even.example 0\neven.example 2\neven.example 4\n',
    );
    assert.equal(
      readFileSync(join(dir, 'odd.example-access.log'), 'latin1'),
      'odd.example 1\nodd.example 3\nodd.example 5\n',
    );
    assert.equal(log.stats.cachedFiles, 0);
  });

  it('a missing directory drops the line and counts it; unsafe values never leave the directory', (t) => {
    const dir = tempDir(t);
    const seen: WriterDiagnostic[] = [];
    const log = createLog(join(dir, '$host', 'access.log'), {
      format: fmt,
      openFileCache: { max: 4 },
      onError: (d) => seen.push(d),
    });
    mkdirSync(join(dir, 'ok'));
    assert.equal(log.write({ host: 'ok', n: 1 }), true);
    assert.equal(log.write({ host: 'missing', n: 2 }), false);
    assert.equal(log.write({ host: 'missing', n: 3 }), false);
    assert.equal(log.write({ host: '..', n: 4 }), false);
    assert.equal(log.write({ host: 'a/../../b', n: 5 }), false);
    assert.equal(log.stats.dropped, 4);
    assert.equal(log.stats.errorsByCode.ENOENT, 2);
    assert.equal(log.stats.errorsByCode.ERR_WRITER_PATH, 2);
    assert.deepEqual(
      seen.map((d) => d.code),
      ['ENOENT', 'ERR_WRITER_PATH'],
      'each cause reported once',
    );
    assert.equal(readFileSync(join(dir, 'ok', 'access.log'), 'latin1'), 'ok 1\n');
    log.close();
  });

  it('reopen() closes cached descriptors so the next line goes to the path again', (t) => {
    const dir = tempDir(t);
    const log = createLog(join(dir, '$host.log'), { format: fmt, openFileCache: { max: 4 } });
    log.write({ host: 'a', n: 1 });
    renameSync(join(dir, 'a.log'), join(dir, 'a.log.1'));
    log.reopen();
    log.write({ host: 'a', n: 2 });
    log.close();
    assert.equal(readFileSync(join(dir, 'a.log.1'), 'latin1'), 'a 1\n');
    assert.equal(readFileSync(join(dir, 'a.log'), 'latin1'), 'a 2\n');
  });
});
