import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogtallyError } from '../errors.ts';
import { atoi, parseNginxSeconds, parseNginxSize, parseNginxTime } from './units.ts';

function rejects(fn: () => unknown, message: string): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof LogtallyError && e.code === 'ERR_CONF_DIRECTIVE' && e.message === message,
  );
}

describe('parseNginxSize', () => {
  for (const [text, bytes] of [
    ['0', 0],
    ['512', 512],
    ['64k', 65536],
    ['64K', 65536],
    ['1m', 1048576],
    ['2M', 2097152],
    ['007k', 7168],
  ] as const) {
    it(`reads ${text} as ${bytes}`, () => assert.equal(parseNginxSize(text), bytes));
  }
  for (const text of ['', 'k', '1g', '1.5k', '-1', ' 1k', '1kb', '1 k', '0x10']) {
    it(`rejects ${JSON.stringify(text)}`, () =>
      rejects(() => parseNginxSize(text), `invalid size "${text}"`));
  }
});

describe('parseNginxTime (milliseconds)', () => {
  for (const [text, ms] of [
    ['0', 0],
    ['5', 5000],
    ['500ms', 500],
    ['5s', 5000],
    ['1m30s', 90000],
    ['1m30', 90000],
    ['1h', 3600000],
    ['1d2h3m4s5ms', 93784005],
    ['2w', 1209600000],
    ['1m 30s', 90000],
    ['1 2', 3000],
    ['1m 500ms', 60500],
    ['5 ', 5000],
  ] as const) {
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () => assert.equal(parseNginxTime(text), ms));
  }
  // y and M are not accepted for millisecond values (checked with nginx 1.22: flush=1y, flush=1M).
  for (const text of [
    '',
    's',
    '1y',
    '1M',
    '30s1m',
    '1h1h',
    '1x',
    ' 5s',
    '1 2 3',
    '1s 2 ',
    '1 500ms',
    '1.5s',
    '  ',
  ]) {
    it(`rejects ${JSON.stringify(text)}`, () =>
      rejects(() => parseNginxTime(text), `invalid time "${text}"`));
  }
});

describe('parseNginxSeconds', () => {
  // Values checked against nginx 1.22 through `expires "…"` (Cache-Control: max-age).
  for (const [text, s] of [
    ['90', 90],
    ['1m30', 90],
    ['1m 30s', 90],
    ['1h 1', 3601],
    ['1 2', 3],
    ['1  2', 3],
    ['2s 3', 5],
    ['1m 1 ', 61],
    ['1y1M1w', 34732800],
    ['0', 0],
  ] as const) {
    it(`reads ${JSON.stringify(text)} as ${s} s`, () => assert.equal(parseNginxSeconds(text), s));
  }
  for (const text of ['1ms', '1m 3 s', '3s 1m', '1h 1h', ' 1m', '']) {
    it(`rejects ${JSON.stringify(text)}`, () =>
      rejects(() => parseNginxSeconds(text), `invalid time "${text}"`));
  }
});

describe('atoi', () => {
  it('accepts digits only', () => {
    assert.equal(atoi('0042'), 42);
    assert.equal(atoi(''), undefined);
    assert.equal(atoi('+1'), undefined);
    assert.equal(atoi('1e3'), undefined);
    assert.equal(atoi('99999999999999999999'), undefined);
  });
});
