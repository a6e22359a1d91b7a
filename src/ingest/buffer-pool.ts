/**
 * A fixed set of read buffers shared by every file of a tailer. Holding a buffer is the right to
 * have one read in flight, so the pool also bounds concurrent reads (libuv runs file reads on a
 * thread pool of 4 by default) and memory: `count × size` bytes whatever the number of files.
 * @module
 */

/** Fixed pool of equally sized buffers; `acquire` waits (FIFO) when all are in use. */
export class BufferPool {
  readonly size: number;
  readonly #free: Buffer[] = [];
  readonly #waiters: ((b: Buffer) => void)[] = [];
  #created = 0;
  readonly #count: number;

  constructor(count: number, size: number) {
    if (!(count >= 1) || !(size >= 1)) throw new RangeError('BufferPool needs count >= 1 and size >= 1');
    this.#count = count;
    this.size = size;
  }

  acquire(): Promise<Buffer> | Buffer {
    const b = this.#free.pop();
    if (b) return b;
    if (this.#created < this.#count) {
      this.#created++;
      return Buffer.allocUnsafeSlow(this.size);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(b: Buffer): void {
    const w = this.#waiters.shift();
    if (w) w(b);
    else this.#free.push(b);
  }
}
