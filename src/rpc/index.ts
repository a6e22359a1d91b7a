/**
 * gRPC: LogtallyService server and client.
 * @module
 */
export { formatHostPort, type HostPort, parseHostPort } from './address.ts';
export type { FileInfo, QueryBackend, SnapshotData, StatusInfo, TargetInfo } from './backend.ts';
export { createLogtallyClient, type LogtallyClient } from './client.ts';
export { MAX_N, toDimension, toFilter, toN, toOrder, toWindow } from './requests.ts';
export {
  bearerAccepted,
  loadSecurity,
  type RpcSecurity,
  type SecurityFlags,
  sendToken,
  usesTls,
} from './security.ts';
export { logtallyRoutes, type RpcServer, snapshotMessage, startRpcServer } from './server.ts';
