/**
 * The standard gRPC health service (grpc.health.v1.Health, proto/grpc/health/v1/health.proto),
 * for Kubernetes `grpc` probes, load balancers and `grpc_health_probe`. One status for the whole
 * server, answered for the empty service name and for every service served.
 * @module
 */
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { Health, HealthCheckResponse_ServingStatus as Status } from '../gen/grpc/health/v1/health_pb.ts';

/** The serving status of a server, with its watchers. */
export class HealthState {
  #serving: boolean;
  #ended = false;
  readonly #listeners = new Set<() => void>();

  constructor(serving = false) {
    this.#serving = serving;
  }

  get serving(): boolean {
    return this.#serving;
  }

  /** SERVING (true) or NOT_SERVING (false); watchers are told of a change. */
  set(serving: boolean): void {
    if (serving === this.#serving) return;
    this.#serving = serving;
    for (const l of this.#listeners) l();
  }

  /** The server is closing: NOT_SERVING, and every Watch call ends. */
  end(): void {
    this.set(false);
    this.#ended = true;
    for (const l of this.#listeners) l();
  }

  get ended(): boolean {
    return this.#ended;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Registers grpc.health.v1.Health: `services` are the names answered besides "". */
export function healthRoutes(
  state: HealthState,
  services: readonly string[],
): (router: ConnectRouter) => void {
  const known = (name: string) => name === '' || services.includes(name);
  const status = () => (state.serving ? Status.SERVING : Status.NOT_SERVING);
  return (router) => {
    router.service(Health, {
      check(req) {
        if (!known(req.service)) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
        return { status: status() };
      },
      async *watch(req, ctx) {
        if (!known(req.service)) {
          // As the protocol says: SERVICE_UNKNOWN, and the call stays open.
          yield { status: Status.SERVICE_UNKNOWN };
          if (!ctx.signal.aborted)
            await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
          return;
        }
        let wake: (() => void) | undefined;
        let changed = false;
        const off = state.onChange(() => {
          changed = true;
          wake?.();
        });
        const aborted = () => wake?.();
        ctx.signal.addEventListener('abort', aborted, { once: true });
        try {
          let last: Status | undefined;
          while (!ctx.signal.aborted) {
            changed = false;
            const now = status();
            if (now !== last) {
              last = now;
              yield { status: now };
            }
            if (state.ended) return;
            // A change while the answer was being sent is not waited for.
            if (!changed && !ctx.signal.aborted) {
              await new Promise<void>((r) => {
                wake = r;
              });
            }
            wake = undefined;
          }
        } finally {
          off();
          ctx.signal.removeEventListener('abort', aborted);
        }
      },
    });
  };
}
