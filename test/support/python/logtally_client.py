"""A small LogtallyService client in Python (grpcio at its defaults), for the end-to-end tests.

Usage: logtally_client.py GENERATED_DIR TARGET COMMAND [ARGS...]
  topn GROUP_BY WINDOW N [FILTER_JSON]   prints {"source", "entries": [...]} as `logtally topn --json`
  trend WINDOW [FILTER_JSON]             prints {"source", "points": [...]} as `logtally trend --json`
  targets                                prints {"targets": [...]} as `logtally targets --json`
  status                                 prints a few Status fields
  health SERVICE                         prints {"status": NAME} of grpc.health.v1 Check
  watch SERVICE                          prints one line per grpc.health.v1 Watch answer until the call ends
  reflect v1|v1alpha                     server reflection: lists the services, fetches the
                                         descriptor of logtally.v1.LogtallyService and calls
                                         TopN through it (no compiled logtally stubs used)
  snapshots TOTAL [columnar]             reads StreamSnapshots (backfill) until the whole buckets
                                         hold TOTAL requests, joining split buckets' parts;
                                         prints one JSON line per bucket
Errors are printed as "ERROR CODE details" on stderr with exit status 1.
"""

import json
import struct
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402

# Stubs of grpc/health and grpc/reflection compiled next to ours extend grpcio's own package.
grpc.__path__.append(sys.argv[1] + "/grpc")
from logtally.v1 import logtally_pb2 as pb  # noqa: E402
from logtally.v1 import logtally_pb2_grpc as pbg  # noqa: E402

DIMENSIONS = ["website", "prefix", "uri", "status", "upstream", "method"]


def round_time(t):
    """As `logtally --json`: request time rounded to the microsecond."""
    return round(t * 1e6) / 1e6


def filter_message(spec):
    f = pb.Filter()
    for key, value in json.loads(spec).items():
        setattr(f, key, value)
    return f


def snapshots(stub, total, columnar):
    """Whole buckets: the parts of a split bucket are joined before it is counted."""
    out = []
    parts = []
    sizes = []
    for msg in stub.StreamSnapshots(pb.StreamSnapshotsRequest(backfill=True, columnar=columnar)):
        sizes.append(msg.ByteSize())
        parts.append(msg)
        if getattr(msg, "part", 0) + 1 < max(getattr(msg, "parts", 0), 1):
            continue
        whole, parts = parts, []
        labels = {}
        keys = 0
        dictionary = [{} for _ in DIMENSIONS]
        for p in whole:
            for e in p.entries:
                labels[e.website] = labels.get(e.website, 0) + e.count
                keys += 1
            if p.HasField("columns"):
                for d, delta in enumerate(p.columns.dictionary):
                    for i, v in zip(delta.ids, delta.values):
                        dictionary[d][i] = v
                n = len(p.columns.keys) // 24
                ids = struct.unpack("<%dI" % (6 * n), p.columns.keys)
                counts = struct.unpack("<%dd" % (3 * n), p.columns.counts)
                for k in range(n):
                    site = dictionary[0][ids[6 * k]]
                    labels[site] = labels.get(site, 0) + counts[k]
                keys += n
        first = whole[0]
        out.append(
            {
                "source": first.source,
                "start": first.start,
                "span": first.span,
                "parts": len(whole),
                "part_numbers": [getattr(p, "part", 0) for p in whole],
                "keys": keys,
                "total_count": first.total_count,
                "websites": labels,
                "largest_message": max(sizes),
                "amend": first.amend,
            }
        )
        sizes = []
        if sum(s["total_count"] for s in out if s["span"] == 60) >= total:
            return out
    return out


def health_stubs():
    from grpc.health.v1 import health_pb2, health_pb2_grpc

    return health_pb2, health_pb2_grpc


def reflect(channel, version):
    """What grpcurl does: list, fetch descriptors by symbol, build the types, call a method."""
    import importlib

    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    rpb = importlib.import_module("grpc.reflection.%s.reflection_pb2" % version)
    rpbg = importlib.import_module("grpc.reflection.%s.reflection_pb2_grpc" % version)
    stub = rpbg.ServerReflectionStub(channel)
    requests = [
        rpb.ServerReflectionRequest(host="", list_services=""),
        rpb.ServerReflectionRequest(file_containing_symbol="logtally.v1.LogtallyService"),
        rpb.ServerReflectionRequest(file_containing_symbol="logtally.v1.LogtallyService.TopN"),
        rpb.ServerReflectionRequest(file_by_filename="grpc/health/v1/health.proto"),
        rpb.ServerReflectionRequest(file_containing_symbol="no.such.Thing"),
        rpb.ServerReflectionRequest(all_extension_numbers_of_type="logtally.v1.Filter"),
    ]
    answers = list(stub.ServerReflectionInfo(iter(requests), timeout=60))
    services = [s.name for s in answers[0].list_services_response.service]
    pool = descriptor_pool.DescriptorPool()
    files = []
    for proto_bytes in answers[1].file_descriptor_response.file_descriptor_proto:
        fdp = descriptor_pb2.FileDescriptorProto.FromString(proto_bytes)
        files.append(fdp.name)
        pool.Add(fdp)
    svc = pool.FindServiceByName("logtally.v1.LogtallyService")
    method = svc.methods_by_name["TopN"]
    factory = message_factory.MessageFactory(pool)
    get = getattr(message_factory, "GetMessageClass", None) or factory.GetPrototype
    req_cls = get(method.input_type)
    resp_cls = get(method.output_type)
    call = channel.unary_unary(
        "/logtally.v1.LogtallyService/TopN",
        request_serializer=req_cls.SerializeToString,
        response_deserializer=resp_cls.FromString,
    )
    req = req_cls(group_by="website", window="60m", n=10)
    r = call(req, timeout=60)
    health_files = [
        descriptor_pb2.FileDescriptorProto.FromString(b).name
        for b in answers[3].file_descriptor_response.file_descriptor_proto
    ]
    return {
        "services": services,
        "files": files,
        "methods": [m.name for m in svc.methods],
        "method_files": [
            descriptor_pb2.FileDescriptorProto.FromString(b).name
            for b in answers[2].file_descriptor_response.file_descriptor_proto
        ],
        "health_files": health_files,
        "unknown": [answers[4].error_response.error_code, answers[4].error_response.error_message],
        "extensions": [
            answers[5].all_extension_numbers_response.base_type_name,
            list(answers[5].all_extension_numbers_response.extension_number),
        ],
        "topn": [[e.label, e.count] for e in r.entries],
    }


def main():
    target, command, args = sys.argv[2], sys.argv[3], sys.argv[4:]
    channel = grpc.insecure_channel(target)
    stub = pbg.LogtallyServiceStub(channel)
    try:
        if command == "topn":
            req = pb.TopNRequest(group_by=args[0], window=args[1], n=int(args[2]))
            if len(args) > 3:
                req.filter.CopyFrom(filter_message(args[3]))
            r = stub.TopN(req, timeout=60)
            result = {
                "source": r.source,
                "entries": [
                    {"label": e.label, "count": e.count, "bytes": e.bytes, "time": round_time(e.time)}
                    for e in r.entries
                ],
                "truncated": getattr(r, "truncated", False),
                "message_bytes": r.ByteSize(),
            }
        elif command == "trend":
            req = pb.TrendRequest(window=args[0])
            if len(args) > 1:
                req.filter.CopyFrom(filter_message(args[1]))
            r = stub.Trend(req, timeout=60)
            result = {
                "source": r.source,
                "points": [
                    {"ts": p.start, "span": p.span, "count": p.count, "bytes": p.bytes, "time": round_time(p.time)}
                    for p in r.points
                ],
            }
        elif command == "targets":
            r = stub.ListTargets(pb.ListTargetsRequest(), timeout=60)
            result = {
                "targets": [
                    {
                        "source": t.source,
                        "address": t.address,
                        "state": t.state,
                        "last_snapshot": t.last_snapshot,
                        "failures": t.failures,
                    }
                    for t in r.targets
                ]
            }
        elif command == "status":
            r = stub.Status(pb.StatusRequest(), timeout=60)
            result = {"source": r.source, "lines_read": r.lines_read}
        elif command == "health":
            hpb, hpbg = health_stubs()
            r = hpbg.HealthStub(channel).Check(hpb.HealthCheckRequest(service=args[0]), timeout=60)
            result = {"status": hpb.HealthCheckResponse.ServingStatus.Name(r.status)}
        elif command == "watch":
            hpb, hpbg = health_stubs()
            for r in hpbg.HealthStub(channel).Watch(hpb.HealthCheckRequest(service=args[0])):
                print(hpb.HealthCheckResponse.ServingStatus.Name(r.status), flush=True)
            print("END", flush=True)
            return
        elif command == "reflect":
            result = reflect(channel, args[0])
        elif command == "snapshots":
            for s in snapshots(stub, int(args[0]), len(args) > 1 and args[1] == "columnar"):
                print(json.dumps(s), flush=True)
            return
        else:
            raise SystemExit("unknown command " + command)
    except grpc.RpcError as e:
        sys.stderr.write("ERROR %s %s\n" % (e.code().name, e.details()))
        sys.exit(1)
    print(json.dumps(result))


main()
