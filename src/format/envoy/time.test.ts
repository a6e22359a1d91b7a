/**
 * START_TIME specifiers. The strftime rows were checked against glibc's `date -u` (which absl,
 * and so Envoy, follows for these conversions) for this instant: 2026-11-22T18:55:06.123456789Z,
 * a Sunday.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileEnvoy } from './compile.ts';
import { T_NS, T_SEC } from './conformance.case.ts';
import { compileTimeFormat, parseEnvoyTime } from './time.ts';

const SPECIFIERS: readonly [string, string][] = [
  ['%a', 'Sun'],
  ['%A', 'Sunday'],
  ['%b', 'Nov'],
  ['%B', 'November'],
  ['%c', 'Sun Nov 22 18:55:06 2026'],
  ['%C', '20'],
  ['%d', '22'],
  ['%D', '11/22/26'],
  ['%e', '22'],
  ['%F', '2026-11-22'],
  ['%g', '26'],
  ['%G', '2026'],
  ['%h', 'Nov'],
  ['%H', '18'],
  ['%I', '06'],
  ['%j', '326'],
  ['%k', '18'],
  ['%l', ' 6'],
  ['%m', '11'],
  ['%M', '55'],
  ['%p', 'PM'],
  ['%P', 'pm'],
  ['%r', '06:55:06 PM'],
  ['%R', '18:55'],
  ['%S', '06'],
  ['%t', '\t'],
  ['%T', '18:55:06'],
  ['%u', '7'],
  ['%U', '47'],
  ['%V', '47'],
  ['%w', '0'],
  ['%W', '46'],
  ['%x', '11/22/26'],
  ['%X', '18:55:06'],
  ['%y', '26'],
  ['%Y', '2026'],
  ['%z', '+0000'],
  ['%Z', 'UTC'],
  ['%%', '%'],
  // glibc flags
  ['%-I', '6'],
  ['%_m', '11'],
  ['%0e', '22'],
  ['%^a', 'SUN'],
  ['%^B', 'NOVEMBER'],
  ['%-j', '326'],
  // E and O modifiers (C locale: the same as without)
  ['%Ec', 'Sun Nov 22 18:55:06 2026'],
  ['%EY', '2026'],
  ['%Ey', '26'],
  ['%Od', '22'],
  ['%OH', '18'],
  // Envoy's own specifiers
  ['%f', '123456789'],
  ['%1f', '1'],
  ['%2f', '12'],
  ['%3f', '123'],
  ['%4f', '1234'],
  ['%5f', '12345'],
  ['%6f', '123456'],
  ['%7f', '1234567'],
  ['%8f', '12345678'],
  ['%9f', '123456789'],
  ['%s', '1795373706'],
  ['%1s', '1795373706.1'],
  ['%3s', '1795373706.123'],
  ['%6s', '1795373706.123456'],
  ['%9s', '1795373706.123456789'],
  // absl extensions; Envoy hands absl whole seconds, so their fractions are zeros
  ['%Ez', '+00:00'],
  ['%E*z', '+00:00:00'],
  ['%E3S', '06.000'],
  ['%E*S', '06'],
  ['%E6f', '000000'],
  ['%E*f', '0'],
  ['%E4Y', '2026'],
];

describe('START_TIME specifiers', () => {
  for (const [spec, want] of SPECIFIERS) {
    it(`${spec} → ${JSON.stringify(want)}`, () => {
      const t = compileTimeFormat(spec, 0);
      assert.equal(t.render(T_NS), want);
      assert.match(t.render(T_NS), new RegExp(`^(?:${t.pattern})$`));
      const f = compileEnvoy(`[%START_TIME(${spec})%]`);
      assert.equal(f.render({ START_TIME: T_NS }), `[${want}]`);
      const back = f.parse(`[${want}]`);
      assert.ok(!(back instanceof Error), String(back));
      const v = back[`START_TIME(${spec})`];
      assert.equal(v, t.numeric ? Number(want) : want);
    });
  }

  it('the default text is ISO 8601 UTC with milliseconds', () => {
    const t = compileTimeFormat(undefined);
    assert.equal(t.render(T_NS), '2026-11-22T18:55:06.123Z');
    assert.equal(t.render(T_SEC), '2026-11-22T18:55:06.123Z');
    assert.equal(t.render(new Date(Date.UTC(2026, 10, 22, 18, 55, 6, 7))), '2026-11-22T18:55:06.007Z');
    assert.equal(t.render(0), '1970-01-01T00:00:00.000Z');
    assert.equal(parseEnvoyTime('2026-11-22T18:55:06.123Z'), T_SEC);
    assert.equal(parseEnvoyTime('2016-04-15T20:17:00.310Z'), 1460751420.31);
    assert.ok(Number.isNaN(parseEnvoyTime('2026-11-22T18:55:06Z')));
    assert.ok(Number.isNaN(parseEnvoyTime('2026-13-22T18:55:06.123Z')));
    assert.ok(Number.isNaN(parseEnvoyTime('2026-11-22 18:55:06.123Z')));
  });

  it('fractions are truncated, not rounded; number inputs are exact to the microsecond', () => {
    const t = compileTimeFormat('%s.%3f|%s.%6f', 0);
    assert.equal(t.render(1_795_373_706_999_999_999n), '1795373706.999|1795373706.999999');
    assert.equal(t.render(1795373706.1239), '1795373706.123|1795373706.123900');
    assert.equal(t.render(1795373706.9999995), '1795373707.000|1795373707.000000');
    assert.equal(t.render(new Date(1795373706123)), '1795373706.123|1795373706.123000');
  });

  it('caches per second but never serves a stale second', () => {
    const t = compileTimeFormat('%H:%M:%S.%3f', 0);
    assert.equal(t.render(10.5), '00:00:10.500');
    assert.equal(t.render(10.75), '00:00:10.750');
    assert.equal(t.render(11.001), '00:00:11.001');
    assert.equal(t.render(10.25), '00:00:10.250');
  });

  it('renders at a UTC offset, or the process time zone', () => {
    assert.equal(
      compileTimeFormat('%F %T %z %Ez %Z', -330).render(T_SEC),
      '2026-11-22 13:25:06 -0530 -05:30 -0530',
    );
    assert.equal(compileTimeFormat('%F %T %z %Z', 120).render(T_SEC), '2026-11-22 20:55:06 +0200 +02');
    const local = compileTimeFormat('%z', 'local').render(T_SEC);
    const off = -new Date(T_SEC * 1000).getTimezoneOffset();
    const sign = off < 0 ? '-' : '+';
    const a = Math.abs(off);
    assert.equal(
      local,
      `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}${String(a % 60).padStart(2, '0')}`,
    );
  });

  it('ISO week numbers and years at year boundaries', () => {
    // 2026-01-01 is a Thursday; 2024-12-31 a Tuesday in ISO week 1 of 2025.
    assert.equal(compileTimeFormat('%G %g %V %U %W %j %u %w').render(1767225600), '2026 26 01 00 00 001 4 4');
    assert.equal(compileTimeFormat('%F %G %g %V %U %W').render(1735603200), '2024-12-31 2025 25 01 52 53');
  });

  it('epoch-second formats read back as numbers, others as text', () => {
    assert.equal(compileTimeFormat('%s').numeric, true);
    assert.equal(compileTimeFormat('%s.%3f').numeric, true);
    assert.equal(compileTimeFormat('%6s').numeric, true);
    assert.equal(compileTimeFormat('%s.%9f').numeric, false);
    assert.equal(compileTimeFormat('%9s').numeric, false);
    assert.equal(compileTimeFormat('%H%s').numeric, false);
    assert.equal(compileTimeFormat('%s.%3f').parse('1795373706.123'), T_SEC);
    assert.equal(compileTimeFormat('%s.%3f').parse('1795373706.12'), undefined);
    assert.equal(compileTimeFormat('%Y/%m').parse('2026/11'), '2026/11');
    assert.equal(compileTimeFormat('%Y/%m').parse('2026-11'), undefined);
  });
});
