/**
 * Fills a collector store to its caps, as the store, frontend and other benchmarks need it:
 * 23 hours of 5 000 keys a minute fill the coarse ring, then an hour at the live cap fills the
 * fine ring, and the last minute stays live and full.
 * - `vocabulary`: keys drawn from shared vocabularies (500 hosts, 65 536 prefixes, 40 000 URIs).
 * - `distinct`: every key unique (a new URI each time) — the worst case for memory.
 * @module
 */
import type { Store } from '../src/store/store.ts';

export type FillMode = 'vocabulary' | 'distinct';

const hosts = Array.from({ length: 500 }, (_, i) => `site${i}.example.com`);
const methods = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE'];
const statuses = [200, 301, 304, 404, 429, 500, 502, 503];

/** Adds distinct key number `k` (its own URI; its host and /24 client prefix shared with neighbours). */
export function addDistinct(store: Store, k: number): void {
  store.add(
    hosts[k % 500] as string,
    `10.${(k >>> 16) & 255}.${(k >>> 8) & 255}.1`,
    `/p/${k}`,
    200,
    '',
    'GET',
    100,
    0.01,
  );
}

/** Fills `store` (whose clock reads `clock.t`) and returns the number of lines added. */
export function fillAtFullCaps(store: Store, clock: { t: number }, mode: FillMode): number {
  let serial = 0;
  const addKeys = (count: number) => {
    for (let i = 0; i < count; i++) {
      const k = serial++;
      if (mode === 'distinct') addDistinct(store, k);
      else {
        const v = k % 200_000;
        store.add(
          hosts[v % 500] as string,
          `10.${(v >>> 8) & 255}.${v & 255}.1`,
          `/api/v1/item/${v % 40_000}`,
          statuses[v % 8] as number,
          '',
          methods[v % 5] as string,
          100,
          0.01,
        );
      }
    }
  };
  for (let m = 0; m < 23 * 60 + 5; m++) {
    addKeys(5_000);
    clock.t += 60;
  }
  for (let m = 0; m < 61; m++) {
    addKeys(100_000);
    clock.t += 60;
  }
  clock.t -= 30;
  addKeys(100_000);
  return serial;
}
