/**
 * Querying several endpoints at once: one client per target, concurrent calls, results in
 * --target order, one clear line per failed target, and the `=== source (host:port) ===`
 * sections of the table output.
 * @module
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { createLogtallyClient, type LogtallyClient } from '../../rpc/client.ts';
import type { RpcSecurity } from '../../rpc/security.ts';
import type { Io } from '../format-command.ts';
import { escapeLabel } from './text.ts';

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EPIPE: 'connection closed',
};

function errnoOf(e: unknown, depth = 0): string | undefined {
  if (depth > 4 || e === null || typeof e !== 'object') return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code in ERRNO_TEXT) return code;
  const errors = (e as { errors?: unknown }).errors;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const c = errnoOf(inner, depth + 1);
      if (c) return c;
    }
  }
  return errnoOf((e as { cause?: unknown }).cause, depth + 1);
}

/** A short, human description of a failed call: `connection refused`, `timed out after 10s`, … */
export function describeError(e: unknown, timeoutMs?: number): string {
  const errno = errnoOf(e);
  if (errno) return ERRNO_TEXT[errno] as string;
  if (e instanceof ConnectError) {
    if (e.code === Code.DeadlineExceeded && timeoutMs !== undefined) {
      return `timed out after ${timeoutMs / 1000}s`;
    }
    const text = plainMessage(e.rawMessage) || Code[e.code] || 'failed';
    return e.code === Code.Unknown || e.code === Code.Internal ? text : `${text} (${codeName(e.code)})`;
  }
  return plainMessage(e instanceof Error ? e.message : String(e));
}

/**
 * An error message for one line: OpenSSL's `…:SSL routines:FUNCTION:REASON:FILE:LINE:SSL alert
 * number N\n` becomes `TLS handshake failed: REASON (alert N)` with what to do about it; other
 * messages lose surrounding white space (a trailing newline was printed as \x0A).
 */
export function plainMessage(message: string): string {
  const ssl = /SSL routines:[^:]*:([^:]+):.*?SSL alert number (\d+)/s.exec(message);
  if (ssl) {
    const hint =
      ssl[2] === '116' ? '; the server requires a client certificate: give --tls-cert and --tls-key' : '';
    return `TLS handshake failed: ${ssl[1]} (alert ${ssl[2]})${hint}`;
  }
  return message.trim();
}

function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** One target's outcome. */
export type Outcome<T> =
  | { readonly target: string; readonly ok: true; readonly value: T }
  | { readonly target: string; readonly ok: false; readonly error: string };

/** One client per target (the flag in address errors is --target). */
export function clientsFor(targets: readonly string[], security: RpcSecurity): Map<string, LogtallyClient> {
  return new Map(targets.map((t) => [t, createLogtallyClient(t, '--target', security)]));
}

/** Runs `call` against every target concurrently; outcomes in target order. */
export async function fanOut<T>(
  targets: readonly string[],
  security: RpcSecurity,
  timeoutMs: number,
  call: (client: LogtallyClient, options: { timeoutMs: number }) => Promise<T>,
): Promise<Outcome<T>[]> {
  const clients = clientsFor(targets, security);
  return Promise.all(
    targets.map(async (target): Promise<Outcome<T>> => {
      try {
        const value = await call(clients.get(target) as LogtallyClient, { timeoutMs });
        return { target, ok: true, value };
      } catch (e) {
        return { target, ok: false, error: describeError(e, timeoutMs) };
      }
    }),
  );
}

/** `=== source (host:port) ===`, or `=== host:port ===` when the source is unknown. */
export function sectionHeader(source: string, target: string): string {
  return source === ''
    ? `=== ${escapeLabel(target)} ===`
    : `=== ${escapeLabel(source)} (${escapeLabel(target)}) ===`;
}

/**
 * Prints the outcomes: with `json`, one line per successful target (errors only on stderr); as
 * tables, one target plainly, several in `===` sections (a failed target's section holds its
 * error). Every failure is also reported on stderr as `logtally: host:port: reason`. Returns the
 * exit status: 1 if any target failed.
 */
export async function printOutcomes<T>(
  io: Io,
  outcomes: readonly Outcome<T>[],
  json: boolean,
  render: {
    source(value: T): string;
    json(value: T, target: string): unknown;
    table(value: T): string[];
  },
): Promise<number> {
  let failed = false;
  const sections = outcomes.length > 1;
  let first = true;
  for (const o of outcomes) {
    if (io.stdout.closed) break;
    if (!o.ok) {
      failed = true;
      io.stderr(`logtally: ${escapeLabel(o.target)}: ${escapeLabel(o.error)}`);
      if (json || !sections) continue;
    }
    if (json) {
      if (o.ok) await io.stdout.write(`${JSON.stringify(render.json(o.value, o.target))}\n`);
      continue;
    }
    const lines: string[] = [];
    if (sections) {
      if (!first) lines.push('');
      lines.push(sectionHeader(o.ok ? render.source(o.value) : '', o.target));
    }
    first = false;
    if (o.ok) lines.push(...render.table(o.value));
    else lines.push(`error: ${escapeLabel(o.error)}`);
    await io.stdout.write(`${lines.join('\n')}\n`);
  }
  return failed ? 1 : 0;
}
