/**
 * Prometheus metrics of a history sink's writer (collector and aggregator alike), read at
 * scrape time from its stats.
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HistoryStats } from '../store/history/writer.ts';

export function registerHistoryMetrics(registry: Registry, stats: () => HistoryStats): void {
  const gauge = (name: string, help: string, read: (s: HistoryStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(stats()));
      },
    });
  const counter = (name: string, help: string, read: (s: HistoryStats) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        const v = read(stats());
        if (v > 0) this.inc(v);
      },
    });
  gauge(
    'logtally_history_queued_minutes',
    'Sealed minutes (and changes to them) waiting to be written to the history sink.',
    (s) => s.queuedMinutes,
  );
  gauge(
    'logtally_history_oldest_queued_seconds',
    'Start of the oldest minute waiting for the history sink, epoch seconds (0: none).',
    (s) => s.oldestQueued,
  );
  counter(
    'logtally_history_written_minutes_total',
    'Minute writes the history sink acknowledged.',
    (s) => s.writtenMinutes,
  );
  counter(
    'logtally_history_written_rows_total',
    'Key rows the history sink acknowledged.',
    (s) => s.writtenRows,
  );
  counter(
    'logtally_history_write_errors_total',
    'Failed writes to the history sink (each retried).',
    (s) => s.writeErrors,
  );
  counter(
    'logtally_history_dropped_minutes_total',
    'Queued minutes dropped because the queue was full while the history sink was failing.',
    (s) => s.droppedMinutes,
  );
}
