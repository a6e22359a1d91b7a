/**
 * Client address → network prefix label (`192.0.2.0/24`, `2001:db8:1::/48`), with IPv4-mapped
 * IPv6 addresses (`::ffff:192.0.2.7`) treated as IPv4. Hand-written for speed: no objects per
 * address. Invalid input gives undefined (the line is malformed).
 * @module
 */

/**
 * The text `s[from, to)` copied into a reused byte array (what the parsers below read), its
 * length; a character past ASCII becomes 0xff, which no address has (a zone id may).
 */
let textBytes = new Uint8Array(64);
function ascii(s: string, from: number, to: number): number {
  const n = to - from;
  if (n > textBytes.length) textBytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(from + i);
    textBytes[i] = c > 0x7f ? 0xff : c;
  }
  return n;
}

/** Parses dotted-quad IPv4 into an unsigned 32-bit number, or -1. */
export function parseIPv4(s: string, from = 0, to = s.length): number {
  const n = ascii(s, from, to); // first: it may replace textBytes with a larger array
  return parseIPv4Bytes(textBytes, 0, n);
}

/** As {@link parseIPv4}, for the ASCII bytes `b[from, to)` (the collector's byte path). */
export function parseIPv4Bytes(b: Uint8Array, from: number, to: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = b[i] as number;
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39 && !(digits > 0 && part === 0)) {
      part = part * 10 + (c - 0x30);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  return dots !== 3 || digits === 0 ? -1 : value * 256 + part;
}

/** Parses IPv6 text into 8 16-bit groups; returns false when invalid. Accepts embedded IPv4. */
export function parseIPv6(s: string, out: Uint16Array): boolean {
  const n = ascii(s, 0, s.length); // first: it may replace textBytes with a larger array
  return parseIPv6Bytes(textBytes, 0, n, out);
}

/** Whether `b[from, from + 7)` is `::ffff:` or `::FFFF:` (an IPv4-mapped IPv6 address follows). */
function isMappedPrefix(b: Uint8Array, from: number): boolean {
  if (b[from] !== 0x3a || b[from + 1] !== 0x3a || b[from + 6] !== 0x3a) return false;
  const f = b[from + 2];
  if (f !== 0x66 && f !== 0x46) return false;
  for (let k = 3; k < 6; k++) if (b[from + k] !== f) return false;
  return true;
}

/** The groups after `::`, moved to the end of the address once it is read. */
const tailGroups = new Uint16Array(8);

/** As {@link parseIPv6}, for the ASCII bytes `b[from, to)`: no allocation. */
export function parseIPv6Bytes(b: Uint8Array, from: number, to: number, out: Uint16Array): boolean {
  out.fill(0);
  let end = to;
  for (let k = from; k < to; k++) {
    if (b[k] === 0x25) {
      end = k; // a zone id
      break;
    }
  }
  // Groups before `::` go to `out` from its start, those after it to `tailGroups`.
  let head = 0;
  let tail = 0;
  let sawDouble = false;
  let i = from;
  if (to - from >= 2 && b[from] === 0x3a && b[from + 1] === 0x3a) {
    sawDouble = true;
    i = from + 2;
    if (end === i) return true;
  }
  while (i < end) {
    let segEnd = i;
    let dot = false;
    while (segEnd < end && b[segEnd] !== 0x3a) {
      if (b[segEnd] === 0x2e) dot = true;
      segEnd++;
    }
    if (head + tail > 7) return false;
    if (segEnd === end && dot) {
      // An embedded IPv4 tail.
      const v4 = parseIPv4Bytes(b, i, end);
      if (v4 < 0 || head + tail > 6) return false;
      if (sawDouble) {
        tailGroups[tail++] = v4 >>> 16;
        tailGroups[tail++] = v4 & 0xffff;
      } else {
        out[head++] = v4 >>> 16;
        out[head++] = v4 & 0xffff;
      }
      break;
    }
    const len = segEnd - i;
    if (len < 1 || len > 4) return false;
    let v = 0;
    for (let k = i; k < segEnd; k++) {
      const c = b[k] as number;
      const h =
        c >= 0x30 && c <= 0x39
          ? c - 0x30
          : c >= 0x61 && c <= 0x66
            ? c - 87
            : c >= 0x41 && c <= 0x46
              ? c - 55
              : -1;
      if (h < 0) return false;
      v = v * 16 + h;
    }
    if (sawDouble) tailGroups[tail++] = v;
    else out[head++] = v;
    i = segEnd;
    if (i < end) {
      i++; // ':'
      if (i < end && b[i] === 0x3a) {
        if (sawDouble) return false;
        sawDouble = true;
        i++;
        if (i === end) break;
      } else if (i === end) {
        return false;
      }
    }
  }
  const total = head + tail;
  if (sawDouble ? total > 7 : total !== 8) return false;
  for (let k = 0; k < tail; k++) out[8 - tail + k] = tailGroups[k] as number;
  return true;
}

function v4Text(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Canonical (RFC 5952) text of 8 groups. */
export function v6Text(g: Uint16Array): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const part = (from: number, to: number) => {
    const xs: string[] = [];
    for (let i = from; i < to; i++) xs.push((g[i] as number).toString(16));
    return xs.join(':');
  };
  if (bestStart === -1) return part(0, 8);
  return `${part(0, bestStart)}::${part(bestStart + bestLen, 8)}`;
}

/** Masks an address to a prefix. Reusable state avoids allocation per call. */
export class PrefixMasker {
  readonly v4bits: number;
  readonly v6bits: number;
  readonly #v4mask: number;
  readonly #g = new Uint16Array(8);
  readonly #v4Cache = new Map<number, string>();

  constructor(v4bits = 24, v6bits = 48) {
    if (!Number.isInteger(v4bits) || v4bits < 0 || v4bits > 32)
      throw new RangeError(`invalid IPv4 prefix length ${v4bits}`);
    if (!Number.isInteger(v6bits) || v6bits < 0 || v6bits > 128)
      throw new RangeError(`invalid IPv6 prefix length ${v6bits}`);
    this.v4bits = v4bits;
    this.v6bits = v6bits;
    this.#v4mask = v4bits === 0 ? 0 : (0xffffffff << (32 - v4bits)) >>> 0;
  }

  /**
   * The masked network of an IPv4 address in ASCII bytes, dotted-quad or IPv4-mapped IPv6
   * (`::ffff:192.0.2.7`), or -1 (any other text).
   */
  v4NetworkBytes(b: Uint8Array, from: number, to: number): number {
    let v4 = parseIPv4Bytes(b, from, to);
    if (v4 < 0 && to - from > 7 && isMappedPrefix(b, from)) v4 = parseIPv4Bytes(b, from + 7, to);
    return v4 >= 0 ? (v4 & this.#v4mask) >>> 0 : -1;
  }

  /**
   * The masked IPv4 network as a number (>= 0) for IPv4 and IPv4-mapped addresses, -1 for
   * IPv6, -2 for invalid input. Cheap: use it as a cache key before building labels.
   */
  v4Network(addr: string): number {
    const n = ascii(addr, 0, addr.length); // first: it may replace textBytes with a larger array
    const net = this.v4NetworkBytes(textBytes, 0, n);
    if (net >= 0) return net;
    return addr.indexOf(':') === -1 ? -2 : -1;
  }

  /** The label of a masked IPv4 network number. */
  v4Label(network: number): string {
    let s = this.#v4Cache.get(network);
    if (s === undefined) {
      s = `${v4Text(network)}/${this.v4bits}`;
      if (this.#v4Cache.size > 65536) this.#v4Cache.clear();
      this.#v4Cache.set(network, s);
    }
    return s;
  }

  /**
   * For an IPv6 address (not IPv4-mapped) and a prefix of at most 48 bits, the masked network
   * packed into one number (a cache key); -1 otherwise.
   */
  v6Network(addr: string): number {
    const n = ascii(addr, 0, addr.length); // first: it may replace textBytes with a larger array
    return this.v6NetworkBytes(textBytes, 0, n);
  }

  /** As {@link v6Network}, for the ASCII bytes `b[from, to)`. */
  v6NetworkBytes(b: Uint8Array, from: number, to: number): number {
    if (this.v6bits > 48) return -1;
    const g = this.#g;
    if (!parseIPv6Bytes(b, from, to, g)) return -1;
    if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return -1;
    const bits = (g[0] as number) * 2 ** 32 + (g[1] as number) * 2 ** 16 + (g[2] as number);
    const drop = 2 ** (48 - this.v6bits);
    return Math.floor(bits / drop) * drop;
  }

  /** The prefix label of any address, or undefined when it is not an IP address. */
  label(addr: string): string | undefined {
    const n = this.v4Network(addr);
    if (n >= 0) return this.v4Label(n);
    if (n === -2) return undefined;
    const g = this.#g;
    if (!parseIPv6(addr, g)) return undefined;
    if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
      return this.v4Label((((g[6] as number) * 65536 + (g[7] as number)) & this.#v4mask) >>> 0);
    }
    let bits = this.v6bits;
    for (let i = 0; i < 8; i++) {
      if (bits >= 16) bits -= 16;
      else {
        g[i] = (g[i] as number) & ((0xffff << (16 - bits)) & 0xffff);
        bits = 0;
      }
    }
    return `${v6Text(g)}/${this.v6bits}`;
  }
}
