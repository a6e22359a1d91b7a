/**
 * A LogtallyService client for `host:port` targets (gRPC over HTTP/2).
 * @module
 */
import { type Client, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { LogtallyService } from '../gen/logtally/v1/logtally_pb.ts';
import { formatHostPort, parseHostPort } from './address.ts';

export type LogtallyClient = Client<typeof LogtallyService>;

/** A client for `target` (`host:port`; an empty host means localhost). */
export function createLogtallyClient(target: string, flag = '--target'): LogtallyClient {
  const a = parseHostPort(target, flag);
  const host = a.host === '' ? 'localhost' : a.host;
  const transport = createGrpcTransport({ baseUrl: `http://${formatHostPort({ host, port: a.port })}` });
  return createClient(LogtallyService, transport);
}
