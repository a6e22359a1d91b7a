// Every dialect's fallback split search is bounded per line and per byte (search-budget.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineParseError } from './errors.ts';
import { compileFormat } from './index.ts';
import type { Dialect } from './types.ts';

/** Formats and crafted lines that made each dialect's search scan the line for every candidate. */
const CASES: { dialect: Dialect; format: string; line: (bytes: number) => string }[] = [
  // A missing ` "` anchor after many candidate splits of the first fields (was 1.4 s per 64 KB line).
  { dialect: 'nginx', format: '$a $b "$c" $status', line: (n) => ' '.repeat(n) },
  {
    dialect: 'nginx',
    format: '$remote_user $http_a $http_b [$time_local] $status',
    line: (n) => 'a '.repeat(n / 2),
  },
  { dialect: 'uwsgi', format: '%(addr) %(user) "%(uri)" %(status)', line: (n) => ' '.repeat(n) },
  { dialect: 'uwsgi', format: '%(uri) %(method) %(uagent)|%(status)', line: (n) => 'a '.repeat(n / 2) },
  { dialect: 'envoy', format: '%REQ(A)% %REQ(B)% %REQ(C)% %RESPONSE_CODE%\n', line: (n) => ' '.repeat(n) },
  {
    dialect: 'envoy',
    format: '%REQ(A)% %REQ(B)% "%REQ(C)%" %RESPONSE_CODE%\n',
    line: (n) => 'a '.repeat(n / 2),
  },
];

describe('split search: bounded work on crafted lines, in every dialect', () => {
  for (const c of CASES) {
    it(`${c.dialect} ${JSON.stringify(c.format)}: 8 KB and 64 KB lines are refused within the bound`, () => {
      const f = compileFormat({ dialect: c.dialect, format: c.format });
      const t0 = performance.now();
      for (const bytes of [8192, 65536]) {
        for (let k = 0; k < (bytes === 8192 ? 5 : 10); k++) {
          const r = f.parse(c.line(bytes) + (k === 0 ? '' : 'x'.repeat(k)));
          assert.ok(r instanceof LineParseError, `${bytes}: parsed ${JSON.stringify(r).slice(0, 80)}`);
        }
      }
      // At most 4 M units a line (tens of milliseconds): 15 lines in well under 5 s even on a
      // loaded machine (the first nginx case took 14 s before the anchor scans were charged).
      const ms = performance.now() - t0;
      assert.ok(ms < 5_000, `${ms.toFixed(0)} ms`);
    });
  }
});
