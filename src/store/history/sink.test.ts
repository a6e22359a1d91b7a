import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type MinuteWrite, unwritten } from './sink.ts';

/** A write; a seal (seq 0) made `at` ms after its minute began. */
const w = (source: string, minute: number, seq: number, at?: number): MinuteWrite => ({
  source,
  minute,
  seq,
  ...(at !== undefined ? { at } : {}),
  entries: [],
  totals: { requests: 1, bytes: 0, time: 0 },
});
const ids = (ws: readonly MinuteWrite[]) => ws.map((x) => `${x.source} ${x.minute} ${x.seq}`);

describe('unwritten: the writes of a batch a sink stores', () => {
  it('skips what the ledger holds and what comes earlier in the batch', () => {
    assert.deepEqual(
      ids(
        unwritten(
          [w('a', 60, 0, 61_000), w('a', 60, 65_000), w('a', 60, 0, 61_000), w('b', 60, 0), w('a', 120, 0)],
          [{ source: 'a', minute: 120, seq: 0 }],
        ),
      ),
      ['a 60 0', 'a 60 65000', 'b 60 0'],
    );
  });

  it('skips a seal of a minute its source changed before sealing it (a restarted aggregator re-takes it whole)', () => {
    // Held: only a change of minute 60 (it was empty when first published).
    assert.deepEqual(
      ids(
        unwritten(
          [w('a', 60, 0, 900_000), w('b', 60, 0, 900_000), w('a', 60, 950_000)],
          [{ source: 'a', minute: 60, seq: 400_000 }],
        ),
      ),
      ['b 60 0', 'a 60 950000'],
    );
    // The change queued before the new seal, in the same batch (whatever the order: a disk queue
    // sorts a minute's writes by seq).
    assert.deepEqual(ids(unwritten([w('a', 60, 0, 900_000), w('a', 60, 400_000)], [])), ['a 60 400000']);
    assert.deepEqual(ids(unwritten([w('a', 60, 400_000), w('a', 60, 0, 900_000)], [])), ['a 60 400000']);
    // A seal and its own later changes are both written, also on a retry of the changes.
    assert.deepEqual(ids(unwritten([w('a', 60, 0, 61_000), w('a', 60, 61_000), w('a', 60, 70_000)], [])), [
      'a 60 0',
      'a 60 61000',
      'a 60 70000',
    ]);
    assert.deepEqual(
      ids(unwritten([w('a', 60, 0, 61_000), w('a', 60, 70_000)], [{ source: 'a', minute: 60, seq: 0 }])),
      ['a 60 70000'],
    );
    // A seal queued by an older logtally (no time) is kept beside the changes of its batch.
    assert.deepEqual(ids(unwritten([w('a', 60, 0), w('a', 60, 70_000)], [])), ['a 60 0', 'a 60 70000']);
  });
});
