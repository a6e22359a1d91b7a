/**
 * Transport security for every gRPC listener and client: TLS (with mutual TLS when a CA is
 * given) and an optional shared bearer token. Off by default (loopback); see README for
 * production.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
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
 * Server side: rejects calls without the bearer token (UNAUTHENTICATED), health checks excepted.
 * The scheme name is case-insensitive (RFC 7235 §2.1): `Bearer`, `bearer` and `BEARER` all do.
 */
export function requireToken(token: string): Interceptor {
  const want = Buffer.from(token);
  return (next) => async (req) => {
    // Health probes (Kubernetes, load balancers) send no credentials; the status is no secret.
    if (req.service.typeName === 'grpc.health.v1.Health') return next(req);
    const m = /^([^ ]+) +(.*)$/s.exec(req.header.get('authorization') ?? '');
    const got = Buffer.from(m?.[2] ?? '');
    if (m?.[1]?.toLowerCase() !== 'bearer' || got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new ConnectError('missing or invalid bearer token', Code.Unauthenticated);
    }
    return next(req);
  };
}

/** Client side: sends the bearer token with every call. */
export function sendToken(token: string): Interceptor {
  return (next) => async (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
}
