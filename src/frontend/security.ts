/**
 * What keeps the dashboard safe to expose: the response headers (a Content-Security-Policy
 * with no script at all), and the target policy — `?target=` may only name the default target
 * or one listed in `--allow-target`, so a visitor cannot make the server connect anywhere.
 * @module
 */
import { LogtallyError } from '../format/errors.ts';
import { formatHostPort, parseHostPort } from '../rpc/address.ts';
import { STYLE_HASH } from './style.ts';

/**
 * No script, no frames, no plugins, no connections: only the hashed inline stylesheet, data:
 * images (the favicon) and forms that submit to this server.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${STYLE_HASH}`,
  'img-src data:',
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every response, HTML or JSON, success or error. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/** `host:port` in one spelling (IPv6 hosts bracketed), so the allow-list compares like with like. */
export function normalizeTarget(s: string, flag: string): string {
  return formatHostPort(parseHostPort(s, flag));
}

export type TargetChoice =
  | { ok: true; target: string; isDefault: boolean }
  | { ok: false; status: 400; message: string };

export class TargetPolicy {
  readonly defaultTarget: string;
  readonly #allowed: ReadonlySet<string>;

  /** Throws a LogtallyError naming the flag when an address is not `host:port`. */
  constructor(defaultTarget: string, allow: readonly string[]) {
    this.defaultTarget = normalizeTarget(defaultTarget, '--target');
    this.#allowed = new Set([this.defaultTarget, ...allow.map((a) => normalizeTarget(a, '--allow-target'))]);
  }

  /** Every target a request may name, default first. */
  get allowed(): readonly string[] {
    return [...this.#allowed];
  }

  isAllowed(target: string): boolean {
    try {
      return this.#allowed.has(normalizeTarget(target, 'target'));
    } catch {
      return false;
    }
  }

  /** The target of a request: the default when `param` is absent or empty. */
  choose(param: string | null): TargetChoice {
    if (param === null || param === '') return { ok: true, target: this.defaultTarget, isDefault: true };
    let t: string;
    try {
      t = normalizeTarget(param, 'target');
    } catch (e) {
      if (e instanceof LogtallyError) return { ok: false, status: 400, message: e.message };
      throw e;
    }
    if (!this.#allowed.has(t)) {
      return {
        ok: false,
        status: 400,
        message: `target ${t} is not allowed: this frontend queries ${this.defaultTarget}${
          this.#allowed.size > 1 ? ` and the targets given with --allow-target` : ''
        } only (start it with --allow-target ${t} to allow it)`,
      };
    }
    return { ok: true, target: t, isDefault: t === this.defaultTarget };
  }
}
