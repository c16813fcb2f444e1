/**
 * Sync progress for people: one bar per collection on a terminal (records, pages, rate, ETA from
 * X-Total-Count when the provider sends it), otherwise one log line every few pages. Writes to
 * stderr so `--json` output on stdout stays clean.
 */
import cliProgress from 'cli-progress';
import type { SyncProgress } from '../sync/full-sync.ts';

export interface ProgressReporter {
  update(p: SyncProgress): void;
  stop(): void;
}

/** A reporter that prints nothing. */
export const silentProgress: ProgressReporter = { update() {}, stop() {} };

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** Bars when stderr is a TTY, log lines otherwise. `everyPages` sets the log-line cadence. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr, everyPages = 5): ProgressReporter {
  if (!stream.isTTY) {
    const started = new Map<string, number>();
    return {
      update(p) {
        if (!started.has(p.collection)) started.set(p.collection, Date.now());
        if (!p.done && p.pages % everyPages !== 0) return;
        const secs = Math.max(0.001, (Date.now() - started.get(p.collection)!) / 1000);
        const of = p.total !== undefined ? `/${p.total}` : '';
        const state = p.done ? 'done' : 'reading';
        stream.write(
          `${new Date().toISOString()} ${p.collection}: ${state}, ${p.records}${of} records, ${p.pages} pages, ${mb(p.bytes)} MB, ${Math.round(p.records / secs)} records/s\n`,
        );
      },
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      format: ' {collection} |{bar}| {value}/{totalText} records · {pages} pages · {rate}/s · ETA {etaText}',
      hideCursor: true,
      clearOnComplete: false,
      stream,
      fps: 5,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  return {
    update(p) {
      let entry = bars.get(p.collection);
      if (!entry) {
        entry = { bar: multi.create(p.total ?? 0, 0), started: Date.now() };
        bars.set(p.collection, entry);
      }
      const secs = Math.max(0.001, (Date.now() - entry.started) / 1000);
      const rate = p.records / secs;
      const total = p.total ?? (p.done ? p.records : 0);
      if (total > 0) entry.bar.setTotal(total);
      const eta = p.total !== undefined && rate > 0 && !p.done ? `${Math.max(0, Math.round((p.total - p.records) / rate))}s` : p.done ? 'done' : '?';
      entry.bar.update(p.records, {
        collection: p.collection.padEnd(16),
        totalText: p.total !== undefined ? String(p.total) : p.done ? String(p.records) : '?',
        pages: p.pages,
        rate: Math.round(rate),
        etaText: eta,
      });
    },
    stop() {
      multi.stop();
    },
  };
}
