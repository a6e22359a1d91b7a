/**
 * Transport security for every gRPC listener and client: TLS (with mutual TLS when a CA is
 * given) and an optional shared bearer token. Off by default (loopback); see README for
 * production.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Interceptor } from '@connectrpc/connect';
import { LogtallyError } from '../format/errors.ts';

export interface SecurityFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tokenFile?: string;
}

export interface RpcSecurity {
  /** PEM certificate chain and key of this endpoint (server, and client for mutual TLS). */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** PEM CA bundle: verifies the peer; on a server it also requires client certificates. */
  readonly ca?: Buffer;
  readonly token?: string;
}

function read(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new LogtallyError('ERR_FORMAT_OPTION', `${flag}: ${(e as Error).message}`);
  }
}

/** Loads the files the flags name; errors name the flag. */
export function loadSecurity(f: SecurityFlags): RpcSecurity {
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) {
    throw new LogtallyError('ERR_FORMAT_OPTION', '--tls-cert and --tls-key go together');
  }
  const out: { cert?: Buffer; key?: Buffer; ca?: Buffer; token?: string } = {};
  if (f.tlsCert) out.cert = read(f.tlsCert, '--tls-cert');
  if (f.tlsKey) out.key = read(f.tlsKey, '--tls-key');
  if (f.tlsCa) out.ca = read(f.tlsCa, '--tls-ca');
  if (f.tokenFile) {
    const token = read(f.tokenFile, '--token-file').toString('utf8').trim();
    if (token.length < 16)
      throw new LogtallyError(
        'ERR_FORMAT_OPTION',
        '--token-file: the token must have at least 16 characters',
      );
    out.token = token;
  }
  return out;
}

/** True when clients must use TLS to reach an endpoint with this configuration. */
export function usesTls(s: RpcSecurity | undefined): boolean {
  return s?.ca !== undefined || s?.cert !== undefined;
}

/**
 * Server side: whether an `authorization` header carries the bearer token (compared in constant
 * time). The scheme name is case-insensitive (RFC 7235 §2.1): `Bearer`, `bearer` and `BEARER`
 * all do.
 */
export function bearerAccepted(token: string, authorization: string | undefined): boolean {
  const want = Buffer.from(token);
  const m = /^([^ ]+) +(.*)$/s.exec(authorization ?? '');
  const got = Buffer.from(m?.[2] ?? '');
  return m?.[1]?.toLowerCase() === 'bearer' && got.length === want.length && timingSafeEqual(got, want);
}

/** What a call refused for its token is told. */
export const TOKEN_REFUSED = 'missing or invalid bearer token';

/** Client side: sends the bearer token with every call. */
export function sendToken(token: string): Interceptor {
  return (next) => async (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
}
