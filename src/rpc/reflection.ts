/**
 * gRPC server reflection, v1 and v1alpha (proto/grpc/reflection/…): lets grpcurl, Postman,
 * Evans and grpc_cli list the services and fetch their descriptors without the proto files.
 * The descriptors are the ones embedded in the generated code.
 * @module
 */
import { createRegistry, type DescFile, type Registry, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import { Code } from '@connectrpc/connect';
import {
  file_grpc_reflection_v1_reflection,
  ServerReflection as ReflectionV1,
} from '../gen/grpc/reflection/v1/reflection_pb.ts';
import {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ReflectionV1alpha,
} from '../gen/grpc/reflection/v1alpha/reflection_pb.ts';

/** The files reflection itself adds. */
export const REFLECTION_FILES: readonly DescFile[] = [
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
];
export const REFLECTION_SERVICES: readonly string[] = [ReflectionV1.typeName, ReflectionV1alpha.typeName];

type Request = {
  host: string;
  messageRequest:
    | {
        case: 'fileByFilename' | 'fileContainingSymbol' | 'allExtensionNumbersOfType' | 'listServices';
        value: string;
      }
    | { case: 'fileContainingExtension'; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
};

/** A request's answer, as a message init of either version (their shapes are the same). */
type Answer =
  | { case: 'fileDescriptorResponse'; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: 'allExtensionNumbersResponse'; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: 'listServicesResponse'; value: { service: { name: string }[] } }
  | { case: 'errorResponse'; value: { errorCode: number; errorMessage: string } };

function error(code: Code, message: string): Answer {
  return { case: 'errorResponse', value: { errorCode: code, errorMessage: message } };
}

/** The file and every file it imports, each once, dependencies after it. */
function withDependencies(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    for (const d of f.dependencies) visit(d);
  };
  visit(file);
  return out;
}

/** The file that declares `symbol`: a type, a service, a method, a field or an enum value. */
function fileOf(registry: Registry, symbol: string): DescFile | undefined {
  const desc = registry.get(symbol);
  if (desc) return desc.file;
  const dot = symbol.lastIndexOf('.');
  if (dot < 0) return undefined;
  const parent = registry.get(symbol.slice(0, dot));
  const member = symbol.slice(dot + 1);
  if (parent?.kind === 'service' && parent.methods.some((m) => m.name === member)) return parent.file;
  if (parent?.kind === 'message' && parent.fields.some((f) => f.name === member)) return parent.file;
  if (parent?.kind === 'enum' && parent.values.some((v) => v.name === member)) return parent.file;
  return undefined;
}

interface Known {
  registry: Registry;
  /** Every file by name, imports included. */
  files: Map<string, DescFile>;
  services: readonly string[];
}

function answer({ registry, files, services }: Known, req: Request): Answer {
  const r = req.messageRequest;
  switch (r.case) {
    case 'listServices':
      return { case: 'listServicesResponse', value: { service: services.map((name) => ({ name })) } };
    case 'fileByFilename': {
      const file = files.get(r.value);
      if (!file) return error(Code.NotFound, `file "${r.value}" not found`);
      return { case: 'fileDescriptorResponse', value: { fileDescriptorProto: withDependencies(file) } };
    }
    case 'fileContainingSymbol': {
      const file = fileOf(registry, r.value);
      if (!file) return error(Code.NotFound, `symbol "${r.value}" not found`);
      return { case: 'fileDescriptorResponse', value: { fileDescriptorProto: withDependencies(file) } };
    }
    case 'fileContainingExtension':
      // No file served here declares an extension.
      return error(
        Code.NotFound,
        `extension ${r.value.extensionNumber} of "${r.value.containingType}" not found`,
      );
    case 'allExtensionNumbersOfType': {
      if (registry.getMessage(r.value) === undefined)
        return error(Code.NotFound, `type "${r.value}" not found`);
      return { case: 'allExtensionNumbersResponse', value: { baseTypeName: r.value, extensionNumber: [] } };
    }
    default:
      return error(Code.InvalidArgument, 'empty request: expected one of the message_request fields');
  }
}

/**
 * Registers grpc.reflection.v1 and v1alpha ServerReflection over `files` (each with its
 * imports) for the named `services` (listed in this order).
 */
export function reflectionRoutes(
  files: readonly DescFile[],
  services: readonly string[],
): (router: ConnectRouter) => void {
  const byName = new Map<string, DescFile>();
  const add = (f: DescFile) => {
    // DescFile.name has no ".proto"; requests name files as imports do.
    if (byName.has(f.proto.name)) return;
    byName.set(f.proto.name, f);
    for (const d of f.dependencies) add(d);
  };
  for (const f of [...files, ...REFLECTION_FILES]) add(f);
  const known: Known = {
    registry: createRegistry(...byName.values()),
    files: byName,
    services: [...services, ...REFLECTION_SERVICES],
  };
  return (router) => {
    router.service(ReflectionV1, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          yield { validHost: req.host, originalRequest: req, messageResponse: answer(known, req) };
        }
      },
    });
    router.service(ReflectionV1alpha, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          yield { validHost: req.host, originalRequest: req, messageResponse: answer(known, req) };
        }
      },
    });
  };
}
