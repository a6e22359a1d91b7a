import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileStrftime, ctimeFormatter, ctimeParser, formatCFloat } from './time.ts';

/**
 * strftime texts from glibc (Python's time.strftime over time.localtime with TZ=UTC, which calls
 * the C library's strftime as uWSGI does): format, epoch seconds, text.
 */
const GLIBC: readonly (readonly [string, number, string])[] = [
  [
    '%a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %%',
    0,
    'Thu Thursday Jan January Thu Jan  1 00:00:00 1970 19 01 01/01/70  1 1970-01-01 70 1970 Jan 00 12 001  0 12 01 00 \n AM am 12:00:00 AM 00:00 0 00 \t 00:00:00 4 00 01 4 00 01/01/70 00:00:00 70 1970 +0000 UTC %',
  ],
  [
    '%a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %%',
    1795455407,
    'Mon Monday Nov November Mon Nov 23 17:36:47 2026 20 23 11/23/26 23 2026-11-23 26 2026 Nov 17 05 327 17  5 11 36 \n PM pm 05:36:47 PM 17:36 1795455407 47 \t 17:36:47 1 47 48 1 47 11/23/26 17:36:47 26 2026 +0000 UTC %',
  ],
  [
    '%a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %%',
    1609459200,
    'Fri Friday Jan January Fri Jan  1 00:00:00 2021 20 01 01/01/21  1 2021-01-01 20 2020 Jan 00 12 001  0 12 01 00 \n AM am 12:00:00 AM 00:00 1609459200 00 \t 00:00:00 5 00 53 5 00 01/01/21 00:00:00 21 2021 +0000 UTC %',
  ],
  [
    '%a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %%',
    1704067199,
    'Sun Sunday Dec December Sun Dec 31 23:59:59 2023 20 31 12/31/23 31 2023-12-31 23 2023 Dec 23 11 365 23 11 12 59 \n PM pm 11:59:59 PM 23:59 1704067199 59 \t 23:59:59 7 53 52 0 52 12/31/23 23:59:59 23 2023 +0000 UTC %',
  ],
  [
    '%a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %%',
    951782400,
    'Tue Tuesday Feb February Tue Feb 29 00:00:00 2000 20 29 02/29/00 29 2000-02-29 00 2000 Feb 00 12 060  0 12 02 00 \n AM am 12:00:00 AM 00:00 951782400 00 \t 00:00:00 2 09 09 2 09 02/29/00 00:00:00 00 2000 +0000 UTC %',
  ],
  [
    '%-d %_d %0e %^a %#a %#p %#Z %10A %5d %-j %_H %-m %3Y %Ey %Od %Q %',
    0,
    '1  1 01 THU THU am utc   Thursday 00001 1  0 1 1970 70 01 %Q %',
  ],
  [
    '%-d %_d %0e %^a %#a %#p %#Z %10A %5d %-j %_H %-m %3Y %Ey %Od %Q %',
    1795455407,
    '23 23 23 MON MON pm utc     Monday 00023 327 17 11 2026 26 23 %Q %',
  ],
  [
    '%-d %_d %0e %^a %#a %#p %#Z %10A %5d %-j %_H %-m %3Y %Ey %Od %Q %',
    1609459200,
    '1  1 01 FRI FRI am utc     Friday 00001 1  0 1 2021 21 01 %Q %',
  ],
  [
    '%-d %_d %0e %^a %#a %#p %#Z %10A %5d %-j %_H %-m %3Y %Ey %Od %Q %',
    1704067199,
    '31 31 31 SUN SUN pm utc     Sunday 00031 365 23 12 2023 23 31 %Q %',
  ],
  [
    '%-d %_d %0e %^a %#a %#p %#Z %10A %5d %-j %_H %-m %3Y %Ey %Od %Q %',
    951782400,
    '29 29 29 TUE TUE am utc    Tuesday 00029 60  0 2 2000 00 29 %Q %',
  ],
  ['%G-W%V-%u %g %U %W', 0, '1970-W01-4 70 00 00'],
  ['%G-W%V-%u %g %U %W', 1795455407, '2026-W48-1 26 47 47'],
  ['%G-W%V-%u %g %U %W', 1609459200, '2020-W53-5 20 00 00'],
  ['%G-W%V-%u %g %U %W', 1704067199, '2023-W52-7 23 53 52'],
  ['%G-W%V-%u %g %U %W', 951782400, '2000-W09-2 00 09 09'],
];

describe('compileStrftime (glibc, C locale)', () => {
  for (const [fmt, t, want] of GLIBC) {
    it(`${JSON.stringify(fmt).slice(0, 40)}… at ${t}`, () => {
      const s = compileStrftime(fmt, 0);
      assert.equal(s.format(t), want);
      assert.ok(new RegExp(`^(?:${s.pattern})$`).test(want), 'pattern matches the text');
    });
  }

  it('parses what it wrote back to the instant', () => {
    for (const fmt of [
      '%Y-%m-%dT%H:%M:%S',
      '%c',
      '%d/%b/%Y:%H:%M:%S %z',
      '%s',
      '%D %r',
      '%Y %j %T',
      '%C%y%m%d%H%M%S',
    ]) {
      const s = compileStrftime(fmt, 0);
      for (const t of [0, 951782400, 1704067199, 1795455407])
        assert.equal(s.parse(s.format(t)), t, `${fmt} at ${t}`);
    }
  });

  it('uses the offset written by %z, and the configured zone otherwise', () => {
    assert.equal(compileStrftime('%F %T %z', 0).parse('2026-11-23 23:06:47 +0530'), 1795455407);
    assert.equal(compileStrftime('%F %T', 330).parse('2026-11-23 23:06:47'), 1795455407);
    assert.equal(compileStrftime('%F %T', 330).format(1795455407), '2026-11-23 23:06:47');
  });

  it('gives no instant when the format does not pin one down, or the text disagrees', () => {
    assert.equal(compileStrftime('%H:%M:%S', 0).parse('17:36:47'), undefined);
    assert.equal(compileStrftime('%I:%M %Y-%m-%d', 0).parse('05:36 2026-11-23'), undefined);
    // Sunday is not the 23rd of November 2026.
    assert.equal(compileStrftime('%a %F', 0).parse('Sun 2026-11-23'), undefined);
    assert.equal(compileStrftime('%F', 0).parse('2026-02-30'), undefined);
  });
});

describe('ctime', () => {
  it('formats as C ctime() without the newline, day padded with a space', () => {
    const f = ctimeFormatter(0);
    assert.equal(f(1795455407), 'Mon Nov 23 17:36:47 2026');
    assert.equal(f(1793700000), 'Tue Nov  3 10:00:00 2026');
    assert.equal(ctimeFormatter(-210)(1795455407), 'Mon Nov 23 14:06:47 2026');
  });

  it('parses in the configured zone and rejects inconsistent texts', () => {
    assert.equal(ctimeParser(0)('Tue Nov  3 10:00:00 2026'), 1793700000);
    assert.equal(ctimeParser(-210)('Mon Nov 23 14:06:47 2026'), 1795455407);
    assert.ok(Number.isNaN(ctimeParser(0)('Sun Nov 23 17:36:47 2026')));
    assert.ok(Number.isNaN(ctimeParser(0)('Mon Nov 23 17:36:47')));
    assert.ok(Number.isNaN(ctimeParser(0)('Mon Nov 31 17:36:47 2026')));
  });
});

describe('formatCFloat (snprintf(buf, 11, "%f", (float) x))', () => {
  const cases: [number, string][] = [
    [0.000194, '0.000194'],
    [0, '0.000000'],
    [1 / 128, '0.007812'], // tie: half to even, as glibc
    [3 / 128, '0.023438'],
    [5e-7, '0.000000'], // the float is below one half
    [12.5, '12.500000'],
    [99.9999999, '100.000000'],
    [1234.5678, '1234.56774'], // float precision, cut to 10 characters
    [123456.789, '123456.789'],
    [1e10, '1000000000'],
  ];
  for (const [x, want] of cases) {
    it(`${x} → ${want}`, () => assert.equal(formatCFloat(x), want));
  }
});
