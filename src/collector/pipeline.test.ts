import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DIM } from '../store/dimensions.ts';
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

describe('countInto (the Prometheus counts of each request)', () => {
  it("labels a request by its values' text, also when an id freed by the store names another value", () => {
    const store = new Store();
    const counts = new RequestCounts();
    const observe = countInto(counts, store);
    const websites = store.interners[DIM.website];
    const methods = store.interners[DIM.method];
    const upstreams = store.interners[DIM.upstream];
    assert.ok(websites && methods && upstreams);
    const key = new Uint32Array(6);
    const count = (website: string, method: string, upstream: string) => {
      key[DIM.website] = websites.intern(website);
      key[DIM.method] = methods.intern(method);
      key[DIM.upstream] = upstreams.intern(upstream);
      observe(key, 200, 10, 0.1);
      return key[DIM.website] as number;
    };
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
    const store = new Store();
    const counts = new RequestCounts();
    const observe = countInto(counts, store);
    const websites = store.interners[DIM.website];
    const upstreams = store.interners[DIM.upstream];
    assert.ok(websites && upstreams);
    let reads = 0;
    for (const it of [websites, upstreams]) {
      const value = it.value.bind(it);
      it.value = (id: number) => {
        reads++;
        return value(id);
      };
    }
    const key = new Uint32Array(6);
    const count = (website: string) => {
      key[DIM.website] = websites.intern(website);
      key[DIM.upstream] = upstreams.intern('');
      observe(key, 200, 10, 0.1);
    };
    for (let i = 0; i < 5; i++) count('a.example');
    assert.equal(reads, 2, 'one read of the website, one of the upstream');
    // a.example's id goes to x.example (held), then 70 000 values take another id in turn: the
    // interner's log of 65 536 no longer names the first reuse, so the cache forgets every label.
    const a = key[DIM.website] as number;
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
