import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type MinuteWrite, unwritten } from './sink.ts';

const w = (source: string, minute: number, seq: number): MinuteWrite => ({
  source,
  minute,
  seq,
  entries: [],
  totals: { requests: 1, bytes: 0, time: 0 },
});
const ids = (ws: readonly MinuteWrite[]) => ws.map((x) => `${x.source} ${x.minute} ${x.seq}`);

describe('unwritten: the writes of a batch a sink stores', () => {
  it('skips what the ledger holds and what comes earlier in the batch', () => {
    assert.deepEqual(
      ids(
        unwritten(
          [w('a', 60, 0), w('a', 60, 5), w('a', 60, 0), w('b', 60, 0), w('a', 120, 0)],
          [{ source: 'a', minute: 120, seq: 0 }],
        ),
      ),
      ['a 60 0', 'a 60 5', 'b 60 0'],
    );
  });

  it('skips a seal of a minute its source wrote changes to before (a restarted aggregator re-takes it whole)', () => {
    // Held: only changes of minute 60 (it was empty when first published).
    assert.deepEqual(
      ids(
        unwritten([w('a', 60, 0), w('b', 60, 0), w('a', 60, 9000)], [{ source: 'a', minute: 60, seq: 4000 }]),
      ),
      ['b 60 0', 'a 60 9000'],
    );
    // Changes queued before the new seal, in the same batch.
    assert.deepEqual(ids(unwritten([w('a', 60, 4000), w('a', 60, 0)], [])), ['a 60 4000']);
    // A seal before its changes is written, in the same batch as on a retry.
    assert.deepEqual(ids(unwritten([w('a', 60, 0), w('a', 60, 4000)], [])), ['a 60 0', 'a 60 4000']);
    assert.deepEqual(
      ids(unwritten([w('a', 60, 0), w('a', 60, 4000)], [{ source: 'a', minute: 60, seq: 0 }])),
      ['a 60 4000'],
    );
  });
});
