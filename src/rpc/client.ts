/**
 * A LogtallyService client for `host:port` targets (gRPC over HTTP/2).
 * @module
 */
import { type Client, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { LogtallyService } from '../gen/logtally/v1/logtally_pb.ts';
import { formatHostPort, parseHostPort } from './address.ts';
import { type RpcSecurity, sendToken, usesTls } from './security.ts';

export type LogtallyClient = Client<typeof LogtallyService>;

/** Largest response message accepted, bytes. */
export const READ_MAX_BYTES = 256 * 1024 * 1024;

/**
 * A client for `target` (`host:port`; an empty host means localhost). With `security`: TLS when
 * it has a CA or a certificate (the CA verifies the server; the certificate and key are sent for
 * mutual TLS), and the bearer token on every call.
 */
export function createLogtallyClient(
  target: string,
  flag = '--target',
  security?: RpcSecurity,
): LogtallyClient {
  const a = parseHostPort(target, flag);
  const host = a.host === '' ? 'localhost' : a.host;
  const tls = usesTls(security);
  const transport = createGrpcTransport({
    baseUrl: `${tls ? 'https' : 'http'}://${formatHostPort({ host, port: a.port })}`,
    // A full minute is ~2.5 MB columnar (~5 MB as entries); a bound for what a peer can send.
    readMaxBytes: READ_MAX_BYTES,
    ...(tls
      ? {
          nodeOptions: {
            ...(security?.ca ? { ca: security.ca } : {}),
            ...(security?.cert && security.key ? { cert: security.cert, key: security.key } : {}),
          },
        }
      : {}),
    ...(security?.token ? { interceptors: [sendToken(security.token)] } : {}),
  });
  return createClient(LogtallyService, transport);
}
