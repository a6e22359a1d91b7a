import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DIM } from '../store/dimensions.ts';
import type { Interner } from '../store/interner.ts';
import { Store } from '../store/store.ts';
import { countInto } from './pipeline.ts';
import { METHOD_NAMES, RequestCounts, STATUSES } from './request-counts.ts';

/** The requests counted per website label, in the order the labels were made. */
function requestsByHost(d: ReturnType<RequestCounts['export']>): [string, number][] {
  const byHost = new Map<string, number>();
  for (const [k, v] of d.requests) {
    const host = d.hosts[Math.floor(k / (METHOD_NAMES.length * STATUSES))] as string;
    byHost.set(host, (byHost.get(host) ?? 0) + v);
  }
  return [...byHost];
}

/** A store observed by `countInto`, and `count` that observes one request of those values. */
function counting() {
  const store = new Store();
  const counts = new RequestCounts();
  const observe = countInto(counts, store);
  const [websites, methods, upstreams] = [DIM.website, DIM.method, DIM.upstream].map(
    (d) => store.interners[d] as Interner,
  ) as [Interner, Interner, Interner];
  const key = new Uint32Array(6);
  /** Returns the website's id. */
  const count = (website: string, method = 'GET', upstream = '') => {
    key[DIM.website] = websites.intern(website);
    key[DIM.method] = methods.intern(method);
    key[DIM.upstream] = upstreams.intern(upstream);
    observe(key, { status: 200, bytes: 10, time: 0.1 });
    return key[DIM.website] as number;
  };
  return { counts, websites, upstreams, count };
}

describe('countInto (the Prometheus counts of each request)', () => {
  it("labels a request by its values' text, also when an id freed by the store names another value", () => {
    const { counts, websites, count } = counting();
    const a = count('a.example', 'GET', '');
    count('a.example', 'GET', '');
    // Nothing holds a.example: a sweep frees its id, which the next new value takes.
    websites.sweep();
    const b = count('b.example', 'POST', '10.0.0.1:80');
    assert.equal(b, a, 'the id is reused');
    const d = counts.export();
    assert.deepEqual(requestsByHost(d), [
      ['a.example', 2],
      ['b.example', 1],
    ]);
    assert.deepEqual(d.upstreamNames.slice(1), ['10.0.0.1:80']);
    assert.equal(
      d.upstreams.reduce((n, [, v]) => n + v, 0),
      1,
    );
  });

  it('reads each label once, -1 (no upstream) included, and forgets them all after more reuses than the log names', () => {
    const { counts, websites, upstreams, count } = counting();
    let reads = 0;
    for (const it of [websites, upstreams]) {
      const value = it.value.bind(it);
      it.value = (id: number) => {
        reads++;
        return value(id);
      };
    }
    let a = 0;
    for (let i = 0; i < 5; i++) a = count('a.example');
    assert.equal(reads, 2, 'one read of the website, one of the upstream');
    // a.example's id goes to x.example (held), then 70 000 values take another id in turn: the
    // interner's log of 65 536 no longer names the first reuse, so the cache forgets every label.
    websites.sweep();
    assert.equal(websites.intern('x.example'), a);
    websites.acquire(a);
    for (let i = 0; i < 70_000; i++) {
      websites.sweep();
      websites.intern(`churn${i}.example`);
    }
    count('x.example');
    assert.equal(reads, 3, 'x.example read (a.example was named)');
    assert.deepEqual(requestsByHost(counts.export()), [
      ['a.example', 5],
      ['x.example', 1],
    ]);
  });
});
