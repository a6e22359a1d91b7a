import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { SnapshotSchema } from '../gen/logtally/v1/logtally_pb.ts';
import { type Bucket, emptyBucket } from '../store/bucket.ts';
import { Interner } from '../store/interner.ts';
import { MergedStore } from '../store/merged-store.ts';
import { RemoteDictionary } from '../store/remote-dictionary.ts';
import { Store } from '../store/store.ts';
import { ColumnEncoder, decodeColumns } from './columns.ts';
import { snapshotMessage } from './server.ts';

const T0 = 1_795_000_200;

/** A collector's minutes sent columnar through a stream's encoder, received through a dictionary. */
function pipe(store: Store) {
  const encoder = new ColumnEncoder(store.interners);
  const merged = new MergedStore({ now: () => (T0 + 3600) * 1000 });
  const dictionary = new RemoteDictionary(merged.interners);
  const send = (wrap: (b: Uint8Array) => Uint8Array) => {
    const b = store.rings().fine.at(-1);
    assert.ok(b);
    const wire = wrap(
      toBinary(
        SnapshotSchema,
        snapshotMessage({
          source: 's',
          start: b.start,
          span: b.span,
          entries: [],
          totalRequests: b.totalRequests,
          totalBytes: b.totalBytes,
          totalTime: b.totalTime,
          columns: encoder.encode(b),
        }),
      ),
    );
    const s = fromBinary(SnapshotSchema, wire);
    assert.ok(s.columns);
    dictionary.apply(s.columns.dictionary);
    const totals = { requests: s.totalCount, bytes: s.totalBytes, time: s.totalTime };
    return {
      s,
      outcome: merged.addColumns('s', dictionary, s.start, s.span, decodeColumns(s.columns), totals),
    };
  };
  return { merged, send };
}

describe('columnar snapshots', () => {
  it('round-trip through Node Buffers at any offset, sending each value once per stream', () => {
    const clock = { t: T0 + 1 };
    const store = new Store({ now: () => clock.t });
    const { merged, send } = pipe(store);
    store.add('a.test', '10.0.0.1', '/x?q=1', 200, 'up:80', 'GET', 100, 0.5);
    store.add('a.test', '10.0.0.2', '/y', 503, '', 'POST', 7, 0);
    store.add('b.test', '2001:db8::1', '/x', 200, 'up:80', 'GET', 1, 0.25);
    clock.t += 60;
    store.tick();
    // An odd offset inside a larger Buffer (as HTTP/2 hands frames over).
    const first = send((w) => Buffer.concat([Buffer.from('xyz'), Buffer.from(w)]).subarray(3));
    assert.equal(first.outcome, 'added');
    assert.deepEqual(
      first.s.columns?.dictionary.map((d) => d.values),
      [
        ['a.test', 'b.test'],
        ['10.0.0.0/24', '2001:db8::/48'],
        ['/x', '/y'],
        ['200', '503'],
        ['up:80', ''],
        ['GET', 'POST'],
      ],
    );
    store.add('a.test', '10.0.0.9', '/z', 200, 'up:80', 'GET', 5, 0);
    clock.t += 60;
    store.tick();
    const second = send((w) => Buffer.from(w));
    // Only the new URI travels the second time.
    assert.deepEqual(
      second.s.columns?.dictionary.map((d) => d.values),
      [[], [], ['/z'], [], [], []],
    );
    assert.deepEqual(
      merged.topN({ groupBy: 'uri', window: '5m', n: 5 }).map((e) => [e.label, e.requests, e.bytes, e.time]),
      [
        ['/x', 2, 101, 0.75],
        ['/y', 1, 7, 0],
        ['/z', 1, 5, 0],
      ],
    );
  });

  it('sends an id again once the collector freed it and it names another value', () => {
    const interners = Array.from({ length: 6 }, () => new Interner());
    const encoder = new ColumnEncoder(interners);
    const uris = interners[2] as Interner;
    const bucket = (uri: number): Bucket => ({
      ...emptyBucket(T0, 60),
      size: 1,
      ids: Uint32Array.from([0, 0, uri, 0, 0, 0]),
      requests: Uint32Array.of(1),
      bytes: Float64Array.of(0),
      time: Float64Array.of(0),
    });
    const uriValues = (b: Bucket) => encoder.encode(b).dictionary[2]?.values;
    const a = uris.intern('/a');
    assert.deepEqual(uriValues(bucket(a)), ['/a']);
    assert.deepEqual(uriValues(bucket(a)), [], 'sent once');
    uris.sweep(); // nothing holds /a: its id is freed …
    const b = uris.intern('/b'); // … and names /b now
    assert.equal(b, a);
    assert.deepEqual(uriValues(bucket(b)), ['/b']);
    assert.deepEqual(uriValues(bucket(b)), [], 'sent once');
    // More ids handed out again between two buckets than the interner's log names: the stream
    // forgets what it sent and sends every id again (here /b's id was reused too, for /z).
    const other = uris.intern('/other');
    uris.acquire(other);
    const withOther = { ...bucket(b), ids: Uint32Array.from([0, 0, other, 0, 0, 0]) };
    assert.deepEqual(uriValues(withOther), ['/other']);
    for (let i = 0; i < 70_000; i++) {
      uris.sweep();
      uris.intern(`/churn/${i}`);
    }
    uris.sweep();
    const z = uris.intern('/z');
    assert.equal(z, b);
    assert.equal(uris.reuses, 70_002);
    assert.deepEqual(uriValues(bucket(z)), ['/z']);
    assert.deepEqual(uriValues(withOther), ['/other'], 'sent again: the stream forgot every id');
  });

  it('refuses keys whose ids the dictionary never defined, and malformed columns', () => {
    const merged = new MergedStore({ now: () => (T0 + 3600) * 1000 });
    const dictionary = new RemoteDictionary(merged.interners);
    const keys = new Uint8Array(new Uint32Array([0, 0, 0, 0, 0, 5]).buffer);
    const counts = new Uint8Array(new Float64Array([1, 0, 0]).buffer);
    const cols = decodeColumns({ keys, counts });
    assert.equal(
      merged.addColumns('m', dictionary, T0, 60, cols, { requests: 1, bytes: 0, time: 0 }),
      'invalid',
    );
    assert.throws(() => decodeColumns({ keys: keys.subarray(0, 20), counts }), /whole number of keys/);
    assert.throws(() => decodeColumns({ keys, counts: counts.subarray(0, 16) }), /24 bytes|16 bytes/);
    assert.throws(() => dictionary.apply([{ ids: [1], values: [] }]), /dimensions/);
    assert.throws(
      () => dictionary.apply(Array.from({ length: 6 }, () => ({ ids: [1 << 30], values: ['x'] }))),
      /out of range/,
    );
  });
});
