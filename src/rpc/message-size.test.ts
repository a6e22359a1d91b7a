import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBinary } from '@bufbuild/protobuf';
import { type Snapshot, SnapshotSchema } from '../gen/logtally/v1/logtally_pb.ts';
import type { SnapshotData } from './backend.ts';
import { MAX_MESSAGE_BYTES, SnapshotAssembler, snapshotParts } from './message-size.ts';
import { snapshotMessage } from './server.ts';

function entriesSnapshot(keys: number, uriLength: number): SnapshotData {
  return {
    source: 'web1',
    start: 1_800_000_000,
    span: 60,
    entries: Array.from({ length: keys }, (_, i) => ({
      labels: [
        'example.com',
        `192.0.${i % 256}.0/24`,
        `/${String(i).padStart(uriLength - 1, 'u')}`,
        '200',
        '',
        'GET',
      ],
      requests: i + 1,
      bytes: 100 * i,
      time: i / 8,
    })),
    totalRequests: 123_456,
    totalBytes: 7,
    totalTime: 8,
  };
}

function columnarSnapshot(keys: number, uriLength: number): SnapshotData {
  const ids = new Uint32Array(keys * 6);
  const counts = new Float64Array(keys * 3);
  for (let k = 0; k < keys; k++) {
    ids.set([0, k % 256, k, 0, 0, k % 2], k * 6);
    counts[k] = k + 1;
    counts[keys + k] = 100 * k;
    counts[2 * keys + k] = k / 8;
  }
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  return {
    source: 'web1',
    start: 1_800_000_000,
    span: 60,
    entries: [],
    columns: {
      dictionary: [
        { ids: [0], values: ['example.com'] },
        { ids: range(256), values: range(256).map((i) => `192.0.${i}.0/24`) },
        { ids: range(keys), values: range(keys).map((i) => `/${String(i).padStart(uriLength - 1, 'u')}`) },
        { ids: [0], values: ['200'] },
        { ids: [0], values: [''] },
        { ids: [0, 1], values: ['GET', 'POST'] },
      ],
      keys: new Uint8Array(ids.buffer),
      counts: new Uint8Array(counts.buffer),
    },
    totalRequests: 123_456,
    totalBytes: 7,
    totalTime: 8,
  };
}

function reassemble(parts: Snapshot[]): Snapshot {
  const a = new SnapshotAssembler();
  let whole: Snapshot | undefined;
  parts.forEach((p, i) => {
    whole = a.add(p);
    assert.equal(whole === undefined, i < parts.length - 1, `part ${i}`);
  });
  return whole as Snapshot;
}

describe('snapshot parts', () => {
  for (const [name, make] of [
    ['entries', entriesSnapshot],
    ['columns', columnarSnapshot],
  ] as const) {
    it(`splits a 50 000-key minute (${name}) into parts under 4 MiB that join into the same bucket`, () => {
      const s = make(50_000, 80);
      const whole = snapshotMessage(s);
      const wholeBytes = toBinary(SnapshotSchema, whole).byteLength;
      assert.ok(wholeBytes > MAX_MESSAGE_BYTES, `${wholeBytes}`);
      const parts = snapshotParts(s, snapshotMessage);
      assert.equal(parts.length, 2);
      assert.deepEqual(
        parts.map((p) => [p.part, p.parts, p.start, p.span, p.totalCount]),
        [
          [0, 2, s.start, 60, 123_456],
          [1, 2, s.start, 60, 123_456],
        ],
      );
      for (const p of parts) assert.ok(toBinary(SnapshotSchema, p).byteLength <= MAX_MESSAGE_BYTES);
      assert.deepEqual(toBinary(SnapshotSchema, reassemble(parts)), toBinary(SnapshotSchema, whole));
    });

    it(`splits at any size (${name}): every part within the bound, joined equal to the whole`, () => {
      const s = make(300, 20);
      const whole = toBinary(SnapshotSchema, snapshotMessage(s));
      for (const max of [2000, 4096, 20_000]) {
        const parts = snapshotParts(s, snapshotMessage, max);
        assert.ok(parts.length > 1, `${max}`);
        for (const p of parts) assert.ok(toBinary(SnapshotSchema, p).byteLength <= max, `${max}`);
        assert.deepEqual(toBinary(SnapshotSchema, reassemble(parts)), whole, `${max}`);
      }
    });
  }

  it('sends a small bucket whole, as before (part 0, parts 0)', () => {
    const parts = snapshotParts(entriesSnapshot(10, 10), snapshotMessage);
    assert.equal(parts.length, 1);
    assert.equal((parts[0] as Snapshot).parts, 0);
    assert.equal(new SnapshotAssembler().add(parts[0] as Snapshot), parts[0]);
  });

  it('refuses parts out of order or of another bucket', () => {
    const parts = snapshotParts(entriesSnapshot(300, 20), snapshotMessage, 4096);
    assert.throws(
      () => new SnapshotAssembler().add(parts[1] as Snapshot),
      /part 1 of \d+ where part 0 was expected/,
    );
    const a = new SnapshotAssembler();
    a.add(parts[0] as Snapshot);
    const other = { ...(parts[1] as Snapshot), start: 1 };
    assert.throws(() => a.add(other), /is not of the bucket 1800000000\+60s/);
  });
});
