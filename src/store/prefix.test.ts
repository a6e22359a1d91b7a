import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrefixMasker, parseIPv4, parseIPv6, parseIPv6Bytes, v6Text } from './prefix.ts';

describe('prefix masking', () => {
  const m = new PrefixMasker(24, 48);
  for (const [addr, label] of [
    ['192.0.2.7', '192.0.2.0/24'],
    ['10.1.2.255', '10.1.2.0/24'],
    ['::ffff:192.0.2.7', '192.0.2.0/24'],
    ['::ffff:c000:0207', '192.0.2.0/24'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1::/48'],
    ['2001:0DB8:0001:ffff::1', '2001:db8:1::/48'],
    ['::1', '::/48'],
    ['fe80::1%eth0', 'fe80::/48'],
  ] as const) {
    it(`${addr} → ${label}`, () => assert.equal(m.label(addr), label));
  }
  for (const bad of [
    '',
    '-',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    'example.com',
    '1::2::3',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7:8:9',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.equal(m.label(bad), undefined));
  }
  it('honours other prefix lengths', () => {
    assert.equal(new PrefixMasker(23, 64).label('192.0.3.9'), '192.0.2.0/23');
    assert.equal(new PrefixMasker(32, 128).label('2001:db8::1'), '2001:db8::1/128');
    assert.equal(new PrefixMasker(0, 0).label('8.8.8.8'), '0.0.0.0/0');
    assert.equal(new PrefixMasker(24, 36).label('2001:db8:ffff::'), '2001:db8:f000::/36');
    assert.throws(() => new PrefixMasker(33, 48), /invalid IPv4 prefix length 33/);
  });
  it('parses and prints IPv6 canonically', () => {
    const g = new Uint16Array(8);
    assert.ok(parseIPv6('1:0:0:2:0:0:0:3', g));
    assert.equal(v6Text(g), '1:0:0:2::3');
    assert.ok(parseIPv6('::', g));
    assert.equal(v6Text(g), '::');
    assert.equal(parseIPv4('0.0.0.0'), 0);
    assert.equal(parseIPv4('255.255.255.255'), 4294967295);
  });
  it('reads an address in bytes only within its bounds', () => {
    const g = new Uint16Array(8);
    const line = new TextEncoder().encode('x 2001:db8:1::7:: y');
    // `2001:db8:1::7:` is refused for its trailing colon, whatever follows it in the line.
    assert.equal(parseIPv6Bytes(line, 2, 16, g), false);
    assert.equal(parseIPv6Bytes(line, 2, 15, g), true);
    assert.equal(v6Text(g), '2001:db8:1::7');
    assert.equal(new PrefixMasker(24, 48).v6NetworkBytes(line, 2, 15), 0x20010db80001);
  });
  it('takes any zone id of a text, and refuses a text past ASCII before it', () => {
    const g = new Uint16Array(8);
    assert.ok(parseIPv6('fe80::1%é', g));
    assert.equal(v6Text(g), 'fe80::1');
    assert.equal(parseIPv6('fe80::é', g), false);
    assert.equal(parseIPv4('1.2.3.é'), -1);
  });
  it('a text longer than any before is read whole (the byte array it is copied into grows first)', () => {
    const g = new Uint16Array(8);
    assert.ok(parseIPv6('fe80::1%eth0', g));
    assert.equal(parseIPv6(`zzzz${'q'.repeat(20_000)}`, g), false);
    assert.ok(parseIPv6(`2001:db8::1%${'e'.repeat(30_000)}`, g));
    assert.equal(v6Text(g), '2001:db8::1');
    assert.equal(new PrefixMasker(24, 48).v6Network(`2001:db8:7::1%${'e'.repeat(40_000)}`), 0x20010db80007);
    assert.equal(parseIPv4(`1.2.3.4${' '.repeat(50_000)}`), -1);
  });
  it('reads an IPv4-mapped address in bytes as its IPv4 network, as in a string', () => {
    const m = new PrefixMasker(24, 48);
    for (const addr of ['::ffff:192.0.2.7', '::FFFF:192.0.2.7', '192.0.2.7']) {
      const line = Buffer.from(`x ${addr} y`, 'latin1');
      assert.equal(m.v4NetworkBytes(line, 2, 2 + addr.length), 0xc0000200);
      assert.equal(m.v4Network(addr), 0xc0000200);
    }
    for (const addr of ['::fFfF:192.0.2.7', '::ffff:192.0.2', '::ffff:2001:db8::1', '2001:db8::1']) {
      const line = Buffer.from(addr, 'latin1');
      assert.equal(m.v4NetworkBytes(line, 0, line.length), -1, addr);
    }
  });
});
