/**
 * A short-lived cache of query answers shared by every viewer: concurrent and repeated requests
 * for the same view within `ttlMs` cost the collector one query. Dashboards refresh every 30 s
 * and the counts change by the minute, so a second of staleness is invisible; failures are not
 * cached.
 * @module
 */

export class AnswerCache {
  readonly ttlMs: number;
  readonly #max: number;
  readonly #entries = new Map<string, { at: number; value: Promise<unknown> }>();
  readonly #now: () => number;

  constructor(ttlMs: number, max = 512, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.#max = max;
    this.#now = now;
  }

  /** The cached answer for `key`, or the result of `load` (shared by concurrent callers). */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value as Promise<T>;
    if (this.#entries.size >= this.#max) this.#entries.clear();
    const value = load();
    this.#entries.set(key, { at: now, value });
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    return value;
  }
}
