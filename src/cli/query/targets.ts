/**
 * `logtally targets`: the collectors behind an endpoint (an aggregator lists every collector it
 * follows; a collector lists itself), with state, last snapshot and failures.
 * @module
 */
import { Command } from 'commander';
import type { Target } from '../../gen/logtally/v1/logtally_pb.ts';
import type { Io } from '../format-command.ts';
import { addTargetOptions, type TargetFlags } from './flags.ts';
import { escapeLabel, formatCount, isoTime, joinColumns, leftAlign, rightAlign } from './text.ts';

export interface TargetsAnswer {
  /** The endpoint's own source name ('' when its Status call failed). */
  readonly source: string;
  readonly targets: readonly Target[];
}

/** The table: `SOURCE ADDRESS STATE LAST SNAPSHOT FAILURES` (`-` for none). */
export function targetsTable(targets: readonly Target[]): string[] {
  return joinColumns([
    leftAlign(['SOURCE', ...targets.map((t) => escapeLabel(t.source) || '-')]),
    leftAlign(['ADDRESS', ...targets.map((t) => escapeLabel(t.address) || '-')]),
    leftAlign(['STATE', ...targets.map((t) => escapeLabel(t.state) || '-')]),
    leftAlign(['LAST SNAPSHOT', ...targets.map((t) => (t.lastSnapshot > 0 ? isoTime(t.lastSnapshot) : '-'))]),
    rightAlign(['FAILURES', ...targets.map((t) => formatCount(t.failures))]),
  ]);
}

/** `{"source","target","targets":[{"source","address","state","last_snapshot","failures"}]}` */
export function targetsJson(a: TargetsAnswer, target: string): unknown {
  return {
    source: a.source,
    target,
    targets: a.targets.map((t) => ({
      source: t.source,
      address: t.address,
      state: t.state,
      last_snapshot: t.lastSnapshot,
      failures: t.failures,
    })),
  };
}

export function targetsCommand(io: Io, result: { code: number }): Command {
  const cmd = new Command('targets').description(
    'the collectors behind an endpoint: source, address, state (up/degraded), last snapshot, failures',
  );
  addTargetOptions(cmd, true);
  cmd.addHelpText(
    'after',
    `
An aggregator lists every collector it follows; a collector lists itself (address "-").

Output:
  SOURCE  ADDRESS      STATE     LAST SNAPSHOT         FAILURES
  col-1   nginx1:9090  up        2026-03-14T19:23:00Z         0
  col-2   nginx2:9090  degraded  2026-03-14T19:20:00Z         3
With several targets one "=== source (host:port) ===" section each. --json prints one object
per target:
  {"source":"agg-prod","target":"agg:9091","targets":[{"source":"col-1","address":"nginx1:9090","state":"up","last_snapshot":1773516180,"failures":0}]}

Examples:
  # Which collectors does the aggregator follow, and are they up?
  logtally targets --target agg:9091
  # Degraded collectors only
  logtally targets --target agg:9091 --json | jq '.targets[] | select(.state == "degraded")'`,
  );
  cmd.action(async (f: TargetFlags) => {
    const [{ parseEndpoints }, { fanOut, printOutcomes }] = await Promise.all([
      import('./options.ts'),
      import('./fanout.ts'),
    ]);
    const ep = parseEndpoints(f);
    const outcomes = await fanOut(
      ep.targets,
      ep.security,
      ep.timeoutMs,
      async (client, options): Promise<TargetsAnswer> => {
        const [list, status] = await Promise.all([
          client.listTargets({}, options),
          client.status({}, options).catch(() => undefined),
        ]);
        return { source: status?.source ?? '', targets: list.targets };
      },
    );
    result.code = await printOutcomes(io, outcomes, ep.json, {
      source: (a) => a.source,
      json: targetsJson,
      table: (a) => targetsTable(a.targets),
    });
  });
  return cmd;
}
