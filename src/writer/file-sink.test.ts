import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { fakeTime, gzipMembers, tempDir } from '../../test/support/writer-fakes.ts';
import { compileNginx } from '../format/nginx/compile.ts';
import type { WriterDiagnostic } from './diagnostics.ts';
import { createLog } from './log.ts';

const fmt = compileNginx('$n $msg');
const lineOf = (n: number, msg = '-') => `${n} ${msg}\n`;
const size = (p: string) => {
  try {
    return statSync(p).size;
  } catch {
    return -1;
  }
};

describe('file log: unbuffered', () => {
  it('writes each line with one write, in order, with raw bytes preserved', (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'a.log');
    const log = createLog(path, { format: fmt });
    log.write({ n: 1, msg: 'plain' });
    assert.equal(readFileSync(path, 'latin1'), '1 plain\n', 'in the file as soon as write returns');
    log.write({ n: 2, msg: 'café \udc80\udcff' });
    log.close();
    const bytes = readFileSync(path);
    assert.deepEqual(bytes.subarray(8), Buffer.from('2 caf\\xC3\\xA9 \\x80\\xFF\n', 'latin1'));
    assert.equal(log.stats.lines, 2);
    assert.equal(log.stats.writes, 2);
    assert.equal(log.stats.bytes, bytes.length);
  });

  it('escape=none keeps raw bytes (lone surrogates) byte for byte', (t) => {
    const path = join(tempDir(t), 'raw.log');
    const log = createLog(path, { format: compileNginx('$v', { escape: 'none' }), buffer: '1k' });
    log.write({ v: 'é\udc80\udcff' });
    log.write({ v: 'x' });
    log.close();
    assert.deepEqual(readFileSync(path), Buffer.from([0xc3, 0xa9, 0x80, 0xff, 0x0a, 0x78, 0x0a]));
  });
});

describe('file log: buffer=', () => {
  it('writes when the next line does not fit, never splitting a line', (t) => {
    const path = join(tempDir(t), 'b.log');
    const time = fakeTime();
    // Each line "NN xxxxxxxx\n" is 12 bytes; a 40-byte buffer holds 3.
    const log = createLog(path, { format: fmt, buffer: 40, timers: time.timers, clock: time.clock });
    for (let i = 10; i < 13; i++) log.write({ n: i, msg: 'xxxxxxxx' });
    assert.equal(size(path), 0, 'three lines fit: nothing written yet');
    log.write({ n: 13, msg: 'xxxxxxxx' });
    assert.equal(readFileSync(path, 'latin1'), '10 xxxxxxxx\n11 xxxxxxxx\n12 xxxxxxxx\n');
    assert.equal(log.stats.writes, 1);
    assert.equal(log.stats.flushes, 1);
    log.close();
    assert.equal(readFileSync(path, 'latin1').split('\n').length - 1, 4, 'close flushes the rest');
  });

  it('a line longer than the buffer is written on its own after the buffered ones', (t) => {
    const path = join(tempDir(t), 'long.log');
    const log = createLog(path, { format: fmt, buffer: '32' });
    log.write({ n: 1, msg: 'short' });
    log.write({ n: 2, msg: 'y'.repeat(100) });
    assert.equal(readFileSync(path, 'latin1'), `1 short\n2 ${'y'.repeat(100)}\n`);
    assert.equal(log.stats.writes, 2);
    log.close();
  });

  it('flush=: buffered lines are written once the oldest is older than the flush time', (t) => {
    const path = join(tempDir(t), 'f.log');
    const time = fakeTime();
    const log = createLog(path, {
      format: fmt,
      buffer: '64k',
      flush: '5s',
      timers: time.timers,
      clock: time.clock,
    });
    assert.equal(time.pending(), 0);
    log.write({ n: 1 });
    assert.equal(time.pending(), 1, 'the first line into an empty buffer arms the timer');
    time.advance(3000);
    log.write({ n: 2 });
    assert.equal(time.pending(), 1, 'later lines do not re-arm it');
    time.advance(1999);
    assert.equal(size(path), 0);
    time.advance(1);
    assert.equal(readFileSync(path, 'latin1'), lineOf(1) + lineOf(2), 'flushed 5 s after the oldest line');
    assert.equal(time.pending(), 0);
    time.advance(60_000);
    assert.equal(log.stats.flushes, 1, 'an empty buffer arms nothing');
    log.write({ n: 3 });
    log.flush();
    assert.equal(time.pending(), 0, 'an explicit flush cancels the timer');
    log.close();
  });

  it('close() flushes; writes after close are dropped and counted', (t) => {
    const path = join(tempDir(t), 'c.log');
    const log = createLog(path, { format: fmt, buffer: '4k' });
    for (let i = 0; i < 10; i++) log.write({ n: i });
    assert.equal(size(path), 0);
    log.close();
    assert.equal(readFileSync(path, 'latin1').split('\n').length - 1, 10);
    assert.equal(log.write({ n: 11 }), false);
    assert.equal(log.stats.dropped, 1);
  });

  it('reopen() flushes to the old file and continues in a new one at the same path', (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'r.log');
    const log = createLog(path, { format: fmt, buffer: '4k' });
    log.write({ n: 1 });
    renameSync(path, `${path}.1`);
    log.write({ n: 2 });
    log.reopen();
    log.write({ n: 3 });
    log.close();
    assert.equal(readFileSync(`${path}.1`, 'latin1'), lineOf(1) + lineOf(2));
    assert.equal(readFileSync(path, 'latin1'), lineOf(3));
  });
});

describe('file log: gzip', () => {
  it('each flush is one complete gzip member; the file is readable between flushes', (t) => {
    const path = join(tempDir(t), 'g.log.gz');
    const time = fakeTime();
    const log = createLog(path, {
      format: fmt,
      gzip: 6,
      buffer: 200,
      timers: time.timers,
      clock: time.clock,
    });
    const want: string[] = [];
    for (let i = 0; i < 100; i++) {
      log.write({ n: i, msg: 'hello gzip' });
      want.push(lineOf(i, 'hello gzip'));
      if (i === 50) {
        const mid = gzipMembers(readFileSync(path));
        assert.equal(mid.trailing, 0, 'never a partial member');
        const text = Buffer.concat(mid.members).toString();
        assert.ok(text.length > 0 && want.join('').startsWith(text), 'members hold a prefix of whole lines');
      }
    }
    log.close();
    const file = readFileSync(path);
    const { members, trailing } = gzipMembers(file);
    assert.equal(trailing, 0);
    assert.equal(members.length, log.stats.flushes);
    assert.ok(members.length >= 7, `${members.length} members`);
    for (const m of members) assert.ok(m.toString().endsWith('\n'), 'a member holds whole lines');
    assert.equal(gunzipSync(file).toString(), want.join(''), 'the concatenation reads as one stream');
    assert.equal(file[8], 0, 'level 6 → XFL 0 in the member header');
  });

  it('gzip alone buffers 64K; gzip=true is level 1', (t) => {
    const path = join(tempDir(t), 'd.gz');
    const log = createLog(path, { format: fmt, gzip: true });
    for (let i = 0; i < 1000; i++) log.write({ n: i });
    assert.equal(size(path), 0, '~8K of lines stay in the 64K buffer');
    log.close();
    const file = readFileSync(path);
    assert.equal(file[8], 4, 'level 1 → XFL 4 (fastest)');
    assert.equal(gunzipSync(file).toString().split('\n').length - 1, 1000);
  });
});

describe('if=', () => {
  it('skips lines whose condition is empty or "0"; predicates work too', (t) => {
    const dir = tempDir(t);
    const a = createLog(join(dir, 'a.log'), { format: fmt, if: '$loggable' });
    const b = createLog(join(dir, 'b.log'), { format: fmt, if: (v) => typeof v !== 'function' && v.n !== 2 });
    for (const [n, loggable] of [
      [1, '1'],
      [2, '0'],
      [3, ''],
      [4, undefined],
      [5, 'yes'],
      [6, '00'],
    ] as const) {
      a.write({ n, loggable });
      b.write({ n });
    }
    a.close();
    b.close();
    assert.equal(readFileSync(join(dir, 'a.log'), 'latin1'), [1, 5, 6].map((n) => lineOf(n, '-')).join(''));
    assert.equal(a.stats.skipped, 3);
    assert.equal(
      readFileSync(join(dir, 'b.log'), 'latin1'),
      [1, 3, 4, 5, 6].map((n) => lineOf(n, '-')).join(''),
    );
  });
});

describe('errors never throw into the caller', () => {
  it('a missing directory: lines dropped and counted, reported once, written once it exists', (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'nodir', 'x.log');
    const time = fakeTime();
    const seen: WriterDiagnostic[] = [];
    const log = createLog(path, { format: fmt, clock: time.clock, onError: (d) => seen.push(d) });
    for (let i = 0; i < 5; i++) assert.equal(log.write({ n: i }), false);
    assert.equal(log.stats.dropped, 5);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.code, 'ENOENT');
    assert.equal(seen[0]?.operation, 'open');
    mkdirSync(join(dir, 'nodir'));
    assert.equal(log.write({ n: 5 }), false, 'the open is retried at most once per second');
    time.advance(1000);
    assert.equal(log.write({ n: 6 }), true);
    log.close();
    assert.equal(readFileSync(path, 'latin1'), lineOf(6, '-'));
    assert.equal(seen.length, 1);
  });

  it('disk full (/dev/full): ENOSPC counted, lines dropped for the rest of that second', () => {
    const time = fakeTime(1_000_000_000_000);
    const seen: WriterDiagnostic[] = [];
    const log = createLog('/dev/full', { format: fmt, clock: time.clock, onError: (d) => seen.push(d) });
    assert.equal(log.write({ n: 1 }), false);
    assert.equal(log.write({ n: 2 }), false);
    assert.equal(log.stats.errors, 1, 'the second line is dropped without trying (nginx disk_full_time)');
    time.advance(1000);
    log.write({ n: 3 });
    assert.equal(log.stats.errors, 2);
    assert.equal(log.stats.errorsByCode.ENOSPC, 2);
    assert.equal(log.stats.dropped, 3);
    assert.equal(seen.length, 1, 'reported once per cause');
    log.close();
  });

  it('a throwing variable or hook is contained', (t) => {
    const path = join(tempDir(t), 'e.log');
    const log = createLog(path, {
      format: fmt,
      onError: () => {
        throw new Error('hook');
      },
    });
    const vars = (name: string) => {
      if (name === 'msg') throw new Error('boom');
      return 1;
    };
    assert.equal(log.write(vars), false);
    assert.equal(log.stats.errorsByCode.ERR_WRITER_RENDER, 1);
    log.close();
  });

  it('rejects what nginx rejects, at creation', () => {
    assert.throws(() => createLog('/tmp/x', { format: fmt, flush: '1s' }), /no buffer is defined/);
    assert.throws(() => createLog('/tmp/$host', { format: fmt, buffer: '4k' }), /cannot have variables/);
    assert.throws(
      () => createLog('syslog:server=127.0.0.1', { format: fmt, gzip: true }),
      /cannot be buffered/,
    );
    assert.throws(() => createLog('/tmp/x', { format: fmt, gzip: 10 }), /compression level/);
    assert.throws(() => createLog('/tmp/x', { format: fmt, buffer: '1q' }), /invalid size/);
    assert.throws(
      () => createLog('syslog:server=h,facility=nope', { format: fmt }),
      /unknown syslog facility/,
    );
  });

  it('off writes nothing', () => {
    const log = createLog('off', { format: fmt });
    assert.equal(log.write({ n: 1 }), false);
    assert.equal(log.kind, 'off');
  });
});
