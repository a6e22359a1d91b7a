/**
 * Memory given back when the program is done with it, not at a later garbage collection: a restore
 * at full caps makes and lets go of arrays of hundreds of MB, and what a collection has not freed
 * yet counts in the process's peak. `ArrayBuffer.prototype.transfer` frees a buffer's memory at
 * once (its views read as empty from then on).
 * @module
 */
import type { Bucket } from './bucket.ts';

type Transferable = ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };

/**
 * Gives the memory of an array's buffer back now. Only for arrays whose buffer nothing else
 * shares; an array that is a part of its buffer (a small `Buffer` from Node's pool, a view of a
 * larger array) is left alone: give back the whole (`detach(new Uint8Array(buffer))`) when all of
 * it is done with.
 */
export function detach(a: ArrayBufferView): void {
  const buf = a.buffer as Transferable;
  if (buf.byteLength === 0 || a.byteOffset !== 0 || a.byteLength !== buf.byteLength) return;
  try {
    buf.transfer?.(0);
  } catch {
    // not detachable (a shared or WebAssembly buffer): left to the garbage collector
  }
}

/**
 * `a`'s contents in a new array `length` long (zeros after them); `a`'s own memory is given back
 * now (its views read as empty), not at a later collection.
 */
export function grown<A extends Int32Array | Uint32Array>(a: A, length: number): A {
  const buf = a.buffer as Transferable;
  const make = a instanceof Int32Array ? Int32Array : Uint32Array;
  if (buf.transfer && a.byteOffset === 0 && a.byteLength === buf.byteLength)
    return new make(buf.transfer(length * 4)) as A;
  const out = new make(length);
  out.set(a);
  return out as A;
}

/**
 * Gives the memory of a whole buffer back now, whatever views of it there are: only for a buffer
 * its holder alone reads (a state's arrays read from a file, or moved from a worker thread).
 */
export function detachBuffer(buf: ArrayBufferLike): void {
  if (buf.byteLength > 0) detach(new Uint8Array(buf));
}

/** A bucket's four columns. */
export function bucketArrays(b: Bucket): ArrayBufferView[] {
  return [b.ids, b.requests, b.bytes, b.time];
}

/** The buffers of arrays, each once (packed values, or a bucket's pooled columns, may share one). */
export function buffersOf(arrays: readonly ArrayBufferView[]): ArrayBufferLike[] {
  return [...new Set(arrays.map((a) => a.buffer))];
}

/**
 * The buffers of a store state's arrays, each once (what a worker thread moves to the collector's
 * thread with its state, not copied: the transfer list).
 */
export function transferList(state: {
  readonly values: readonly ArrayBufferView[];
  readonly fine: readonly Bucket[];
  readonly coarse: readonly Bucket[];
  readonly live: Bucket;
}): ArrayBuffer[] {
  const arrays = [...state.values, ...[...state.fine, ...state.coarse, state.live].flatMap(bucketArrays)];
  return buffersOf(arrays).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength > 0);
}

/** Gives back the buffers of a bucket only its holder reads (views of pooled columns included: whole). */
export function detachBucket(b: Bucket): void {
  detachAll(bucketArrays(b));
}

/** Gives back, whole and once each, the buffers of arrays only their holder reads. */
export function detachAll(arrays: readonly ArrayBufferView[]): void {
  for (const buf of buffersOf(arrays)) detachBuffer(buf);
}
