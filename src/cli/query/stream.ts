/**
 * `logtally stream`: the live snapshot feed of one or more endpoints, one line per completed
 * minute, until interrupted. Each target is followed on its own and reconnected after errors.
 * @module
 */
import { Command } from 'commander';
import { encodeLine } from '../../format/bytes.ts';
import type { Snapshot, SnapshotEntry } from '../../gen/logtally/v1/logtally_pb.ts';
import type { LogtallyClient } from '../../rpc/client.ts';
import type { SnapshotAssembler } from '../../rpc/message-size.ts';
import { type Dimension, OTHER_TEXT } from '../../store/dimensions.ts';
import type { Filter } from '../../store/filter.ts';
import { compileClientRegex } from '../../store/regex.ts';
import type { Io } from '../format-command.ts';
import { addFilterOptions, addTargetOptions, type FilterFlags, type TargetFlags } from './flags.ts';
import { escapeLabel, formatCount, isoTime, shownLabel } from './text.ts';

/** What one snapshot prints, as JSON (keys as in the reference) and in the text line. */
export interface StreamSummary {
  ts: number;
  source: string;
  target: string;
  total_entries: number;
  top_label: string;
  top_count: number;
  /** The top is the residuals' value: keys not kept one by one (`top_label` is then empty). */
  top_other?: true;
}

/** A predicate over snapshot entries for the filter flags (stream filters on the client side). */
export function snapshotMatcher(f: Filter): (e: SnapshotEntry) => boolean {
  const websiteRe = f.websiteRe === undefined ? undefined : compileClientRegex(f.websiteRe);
  const uriRe = f.uriRe === undefined ? undefined : compileClientRegex(f.uriRe);
  const status = f.status;
  return (e) => {
    if (f.website !== undefined && e.website !== f.website) return false;
    if (f.prefix !== undefined && e.prefix !== f.prefix) return false;
    if (f.uri !== undefined && e.uri !== f.uri) return false;
    if (f.upstream !== undefined && e.upstream !== f.upstream) return false;
    if (f.method !== undefined && e.method !== f.method) return false;
    if (status) {
      if (e.status === OTHER_TEXT) return false;
      const s = Number(e.status);
      const v = status.value;
      const ok =
        status.op === '='
          ? s === v
          : status.op === '!='
            ? s !== v
            : status.op === '<'
              ? s < v
              : status.op === '<='
                ? s <= v
                : status.op === '>'
                  ? s > v
                  : s >= v;
      if (!ok) return false;
    }
    // A residual's OTHER_TEXT (values not known one by one) is not known to match: a negated
    // expression keeps it (a filter and its negation add up to the whole).
    const known = (re: typeof uriRe, v: string) =>
      v !== OTHER_TEXT && (re as NonNullable<typeof uriRe>).test(v);
    if (websiteRe && known(websiteRe, e.website) === (f.websiteReNegate === true)) return false;
    if (uriRe && known(uriRe, e.uri) === (f.uriReNegate === true)) return false;
    return true;
  };
}

/**
 * Summarises a snapshot: the number of entries (keys) under the filter, and the top value of
 * `groupBy` by requests (ties broken by label, in the rings' order: UTF-8 bytes).
 */
export function summarize(
  s: Snapshot,
  target: string,
  groupBy: Dimension,
  matches: (e: SnapshotEntry) => boolean,
): StreamSummary & { requests: number } {
  const sums = new Map<string, number>();
  let entries = 0;
  let requests = 0;
  for (const e of s.entries) {
    if (!matches(e)) continue;
    entries++;
    requests += e.count;
    const label = e[groupBy];
    sums.set(label, (sums.get(label) ?? 0) + e.count);
  }
  let topLabel = '';
  let topCount = 0;
  for (const [label, count] of sums) {
    // Ties by label in the rings' order: the bytes of its UTF-8 (code point order, not `<`'s UTF-16).
    if (
      count > topCount ||
      (count === topCount && count > 0 && Buffer.compare(encodeLine(label), encodeLine(topLabel)) < 0)
    ) {
      topLabel = label;
      topCount = count;
    }
  }
  return {
    ts: s.start,
    source: s.source,
    target,
    total_entries: entries,
    top_label: topLabel === OTHER_TEXT ? '' : topLabel,
    top_count: topCount,
    ...(topLabel === OTHER_TEXT ? { top_other: true as const } : {}),
    requests,
  };
}

/** `2026-03-14T19:23:00Z  col-1 (nginx1:9090)  823 entries  18 432 requests  top 10 000 example.com` */
export function streamLine(s: StreamSummary & { requests: number }): string {
  const who = s.source === '' ? escapeLabel(s.target) : `${escapeLabel(s.source)} (${escapeLabel(s.target)})`;
  const top =
    s.total_entries > 0 ? `  top ${formatCount(s.top_count)} ${shownLabel(s.top_label, s.top_other)}` : '';
  return `${isoTime(s.ts)}  ${who}  ${formatCount(s.total_entries)} entries  ${formatCount(s.requests)} requests${top}`;
}

/** `5000` → `5s`, `250` → `250ms`. */
export function formatDelay(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Test and embedding hooks of `stream`. */
export interface StreamOptions {
  /** Delay before reconnecting after an error or the end of a stream; default 5 000 ms. */
  backoffMs?: number;
  /** Stops the feed; default: SIGINT or SIGTERM. */
  signal?: AbortSignal;
}

interface Follow {
  io: Io;
  json: boolean;
  groupBy: Dimension;
  matches: (e: SnapshotEntry) => boolean;
  backoffMs: number;
  describeError: (e: unknown) => string;
  /** Joins a snapshot sent in parts. */
  newAssembler: () => SnapshotAssembler;
  signal: AbortSignal;
  stop: () => void;
}

async function follow(client: LogtallyClient, target: string, o: Follow): Promise<void> {
  let lastError: string | undefined;
  const name = escapeLabel(target);
  while (!o.signal.aborted) {
    let problem: string;
    try {
      const parts = o.newAssembler();
      for await (const part of client.streamSnapshots({ backfill: false }, { signal: o.signal })) {
        const snap = parts.add(part);
        if (!snap) continue;
        if (lastError !== undefined) {
          o.io.stderr(`logtally: ${name}: reconnected`);
          lastError = undefined;
        }
        const s = summarize(snap, target, o.groupBy, o.matches);
        if (o.json) {
          const { requests: _requests, ...object } = s;
          await o.io.stdout.write(`${JSON.stringify(object)}\n`);
        } else {
          await o.io.stdout.write(`${streamLine(s)}\n`);
        }
        if (o.io.stdout.closed) o.stop();
      }
      problem = 'the server ended the stream';
    } catch (e) {
      problem = o.describeError(e);
    }
    if (o.signal.aborted) return;
    if (problem !== lastError) {
      o.io.stderr(`logtally: ${name}: ${escapeLabel(problem)}; reconnecting in ${formatDelay(o.backoffMs)}`);
      lastError = problem;
    }
    await sleep(o.backoffMs, o.signal);
  }
}

interface Flags extends TargetFlags, FilterFlags {
  groupBy: string;
}

export function streamCommand(io: Io, result: { code: number }, options: StreamOptions = {}): Command {
  const cmd = new Command('stream')
    .description('live snapshot feed: one line per completed minute per target, until Ctrl-C')
    .option(
      '--group-by <dimension>',
      'dimension of the top label: website, prefix, uri, status, upstream or method',
      'website',
    );
  addFilterOptions(
    addTargetOptions(cmd, false, 'print newline-delimited JSON (one object per snapshot) instead of lines'),
  );
  cmd.addHelpText(
    'after',
    `
Every target is followed on its own: each completed minute it sends prints one line, labelled
by its source; filters apply to the snapshot's entries. After an error (or the end of the
stream) the target is retried every 5 s; the others keep printing. Runs until Ctrl-C.

Output: one line per snapshot:
  2026-03-14T19:23:00Z  col-1 (nginx1:9090)  823 entries  18 432 requests  top 10 000 example.com
--json prints one object per snapshot (NDJSON):
  {"ts":1773516180,"source":"col-1","target":"nginx1:9090","total_entries":823,"top_label":"example.com","top_count":10000}
(ts is the minute's start, total_entries the number of keys in the snapshot, top_label and
top_count the top value of --group-by by requests; "top_other":true, with an empty top_label,
when that is the keys not kept one by one, shown as "(other)".)

Examples:
  # Watch live merged snapshots from the aggregator
  logtally stream --target agg:9091
  # Watch two collectors simultaneously; each snapshot is labeled by source
  logtally stream --target nginx1:9090,nginx2:9090
  # Which client prefix leads the 429s, minute by minute
  logtally stream --target agg:9091 --status 429 --group-by prefix --json`,
  );
  cmd.action(async (f: Flags) => {
    const [
      { parseEndpoints, parseFilter, parseGroupBy },
      { clientsFor, describeError },
      { SnapshotAssembler },
    ] = await Promise.all([
      import('./options.ts'),
      import('./fanout.ts'),
      import('../../rpc/message-size.ts'),
    ]);
    const groupBy = parseGroupBy(f.groupBy);
    const { filter } = parseFilter(f);
    const ep = parseEndpoints(f);
    const ac = new AbortController();
    const stop = () => ac.abort();
    const external = options.signal;
    if (external) {
      if (external.aborted) stop();
      else external.addEventListener('abort', stop, { once: true });
    } else {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
    try {
      const clients = clientsFor(ep.targets, ep.security);
      const o: Follow = {
        io,
        json: ep.json,
        groupBy,
        matches: snapshotMatcher(filter),
        backoffMs: options.backoffMs ?? 5000,
        describeError,
        newAssembler: () => new SnapshotAssembler(),
        signal: ac.signal,
        stop,
      };
      await Promise.all(ep.targets.map((t) => follow(clients.get(t) as LogtallyClient, t, o)));
      result.code = 0;
    } finally {
      if (external) external.removeEventListener('abort', stop);
      else {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    }
  });
  return cmd;
}
