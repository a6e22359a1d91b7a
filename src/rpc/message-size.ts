/**
 * Keeping messages under the 4 MiB that gRPC clients accept by default (grpcio, grpc-go,
 * grpc-java): a large snapshot is split into parts (see Snapshot.part in the proto) which the
 * receiver joins, and a TopN answer is cut to fit. Sizes are upper bounds of the encoded form,
 * computed from the strings' UTF-8 lengths without encoding anything.
 * @module
 */
import { create } from '@bufbuild/protobuf';
import { type Snapshot, SnapshotColumnsSchema, SnapshotSchema } from '../gen/logtally/v1/logtally_pb.ts';
import { D } from '../store/dimensions.ts';
import type { SnapshotData } from './backend.ts';
import type { ColumnsData } from './columns.ts';

/** The default receive limit of gRPC clients. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Parts of one bucket a receiver accepts (a 50 000-key minute needs 2). */
export const MAX_PARTS = 64;

function varintBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** A length-delimited field (tag of one byte) holding `bytes` bytes. */
function fieldBytes(bytes: number): number {
  return 1 + varintBytes(bytes) + bytes;
}

function stringBytes(s: string): number {
  return s === '' ? 0 : fieldBytes(Buffer.byteLength(s));
}

/** A TopNEntry in its response: label, three doubles. */
export function topNEntryBytes(label: string): number {
  return fieldBytes(stringBytes(label) + 27);
}

/** A SnapshotEntry in its snapshot: six strings, three doubles. */
function entryBytes(labels: readonly string[]): number {
  let n = 27;
  for (let d = 0; d < D; d++) n += stringBytes(labels[d] ?? '');
  return fieldBytes(n);
}

/** Everything of a snapshot but its keys (source, numbers, flags, part, and columns' framing). */
function headerBytes(s: SnapshotData): number {
  return stringBytes(s.source) + 9 * 4 + 6 + 2 * 2 + 2 * 6 + 6 * 32 + 64;
}

interface PartPlan {
  entries: [number, number];
  dictionary: { ids: number[]; values: string[] }[];
  keys: [number, number];
}

function emptyPlan(): PartPlan {
  return {
    entries: [0, 0],
    dictionary: Array.from({ length: D }, () => ({ ids: [], values: [] })),
    keys: [0, 0],
  };
}

/**
 * The messages of one snapshot: one when it fits in `maxBytes`, else parts of at most
 * `maxBytes` each (a single dictionary value or entry larger than that is sent alone).
 */
export function snapshotParts(
  s: SnapshotData,
  toMessage: (s: SnapshotData) => Snapshot,
  maxBytes = MAX_MESSAGE_BYTES,
): Snapshot[] {
  const header = headerBytes(s);
  const plans: PartPlan[] = [];
  let plan = emptyPlan();
  let used = header;
  let empty = true;
  const next = () => {
    plans.push(plan);
    plan = emptyPlan();
    used = header;
    empty = true;
  };
  const fits = (bytes: number) => {
    if (!empty && used + bytes > maxBytes) next();
    used += bytes;
    empty = false;
  };
  for (let i = 0; i < s.entries.length; i++) {
    const before = plans.length;
    fits(entryBytes((s.entries[i] as SnapshotData['entries'][number]).labels));
    if (plans.length !== before || i === 0) plan.entries = [i, i];
    plan.entries[1] = i + 1;
  }
  const c = s.columns;
  if (c) {
    c.dictionary.forEach((delta, d) => {
      for (let i = 0; i < delta.ids.length; i++) {
        const value = delta.values[i] as string;
        fits(5 + fieldBytes(Buffer.byteLength(value)));
        const own = plan.dictionary[d] as { ids: number[]; values: string[] };
        own.ids.push(delta.ids[i] as number);
        own.values.push(value);
      }
    });
    const n = c.keys.byteLength / (4 * D);
    let k = 0;
    while (k < n) {
      const room = Math.floor((maxBytes - used) / (8 * D));
      if (room < 1 && !empty) {
        next();
        continue;
      }
      const take = Math.max(1, Math.min(room, n - k));
      plan.keys = [k, k + take];
      used += take * 8 * D;
      empty = false;
      k += take;
      if (k < n) next();
    }
  }
  plans.push(plan);
  if (plans.length === 1) return [toMessage(s)];
  return plans.map((p, part) => {
    const m = toMessage({
      ...s,
      entries: s.entries.slice(p.entries[0], p.entries[1]),
      ...(c ? { columns: sliceColumns(c, p) } : {}),
    });
    m.part = part;
    m.parts = plans.length;
    return m;
  });
}

function sliceColumns(c: ColumnsData, p: PartPlan): ColumnsData {
  const n = c.keys.byteLength / (4 * D);
  const [from, to] = p.keys;
  const counts = new Uint8Array(24 * (to - from));
  for (let col = 0; col < 3; col++) {
    counts.set(c.counts.subarray(8 * (col * n + from), 8 * (col * n + to)), 8 * col * (to - from));
  }
  return {
    dictionary: p.dictionary,
    keys: c.keys.subarray(4 * D * from, 4 * D * to),
    counts,
  };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * The receiving side: feed it every message of a StreamSnapshots stream in order; it returns
 * each bucket whole (a bucket sent whole at once, a split one with its last part) and
 * undefined while parts are missing. Throws on a part out of order or disagreeing with the
 * first (the stream is then unusable: reconnect).
 */
export class SnapshotAssembler {
  #parts: Snapshot[] = [];

  add(m: Snapshot): Snapshot | undefined {
    const parts = Math.max(m.parts, 1);
    const first = this.#parts[0];
    const where = `snapshot ${m.start}+${m.span}s`;
    if (parts > MAX_PARTS) throw new Error(`${where}: ${parts} parts (at most ${MAX_PARTS})`);
    if (m.part !== this.#parts.length || m.part >= parts) {
      throw new Error(`${where}: part ${m.part} of ${parts} where part ${this.#parts.length} was expected`);
    }
    if (
      first &&
      (first.start !== m.start ||
        first.span !== m.span ||
        first.parts !== m.parts ||
        first.amend !== m.amend ||
        first.subtract !== m.subtract ||
        (first.columns === undefined) !== (m.columns === undefined))
    ) {
      throw new Error(`${where}: part ${m.part} is not of the bucket ${first.start}+${first.span}s`);
    }
    if (parts === 1) return m;
    this.#parts.push(m);
    if (m.part < parts - 1) return undefined;
    const all = this.#parts;
    this.#parts = [];
    return join(all);
  }
}

function join(parts: readonly Snapshot[]): Snapshot {
  const first = parts[0] as Snapshot;
  const whole = create(SnapshotSchema, {
    source: first.source,
    start: first.start,
    span: first.span,
    totalCount: first.totalCount,
    totalBytes: first.totalBytes,
    totalTime: first.totalTime,
    amend: first.amend,
    subtract: first.subtract,
    entries: parts.flatMap((p) => p.entries),
  });
  if (first.columns) {
    const cols = parts.map((p) => p.columns as NonNullable<Snapshot['columns']>);
    const sizes = cols.map((c) => c.keys.byteLength / (4 * D));
    const counts: Uint8Array[] = [];
    for (let col = 0; col < 3; col++) {
      cols.forEach((c, i) => {
        const n = sizes[i] as number;
        if (!Number.isInteger(n) || c.counts.byteLength !== 24 * n) {
          throw new Error(
            `snapshot ${first.start}+${first.span}s: part ${i} has ${c.counts.byteLength} count bytes for ${n} keys`,
          );
        }
        counts.push(c.counts.subarray(8 * col * n, 8 * (col + 1) * n));
      });
    }
    whole.columns = create(SnapshotColumnsSchema, {
      dictionary: Array.from({ length: D }, (_, d) => ({
        ids: cols.flatMap((c) => c.dictionary[d]?.ids ?? []),
        values: cols.flatMap((c) => c.dictionary[d]?.values ?? []),
      })),
      keys: concat(cols.map((c) => c.keys)),
      counts: concat(counts),
    });
  }
  return whole;
}
