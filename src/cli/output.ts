/**
 * Writing to stdout with back-pressure, so large outputs neither buffer without bound nor fail
 * when piped into `head` (a closed pipe simply ends the output).
 * @module
 */
import type { Writable } from 'node:stream';

export class Output {
  readonly stream: Writable;
  #closed = false;
  constructor(stream: Writable) {
    this.stream = stream;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.#closed = true;
      else throw err;
    });
  }

  /** True once the reader has gone away. */
  get closed(): boolean {
    return this.#closed;
  }

  async write(data: string | Uint8Array): Promise<void> {
    if (this.#closed) return;
    if (this.stream.write(data)) return;
    const stream = this.stream;
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off('drain', done);
        stream.off('close', done);
        stream.off('error', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
      stream.on('error', done); // the constructor's listener records it
    });
  }
}
