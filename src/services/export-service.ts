/**
 * Exports as one service for the CLI (`rostersync export`) and the admin API: SDS v2.1 CSV and
 * OneRoster 1.1 CSV of a connection's live data, with the delta rules of `--since`.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { exportOneRosterCsv, type OneRosterCsvSummary } from '../outputs/oneroster-csv.ts';
import { exportSdsCsv, type SdsExportSummary } from '../outputs/sds-csv.ts';
import type { Connection } from '../store/connection-repository.ts';
import { StoreError } from '../store/errors.ts';
import type { Store } from '../store/store.ts';
import { StoreRosterReader } from './store-roster-reader.ts';

/** The SDS toggles of a connection's export: stored ones, else what its data has. */
export async function exportToggles(store: Store, c: Connection): Promise<{ toggles: { contacts: boolean; demographics: boolean; userFlags: boolean }; courses: boolean }> {
  const t = (c.options.toggles ?? {}) as { contacts?: boolean; demographics?: boolean; userFlags?: boolean };
  const live = await store.records.countLive(c.id);
  return {
    toggles: { contacts: t.contacts ?? true, demographics: t.demographics ?? live.demographics.active > 0, userFlags: t.userFlags ?? true },
    courses: live.courses.active > 0,
  };
}

/** Writes the SDS v2.1 CSV files of a connection into `outDir`. */
export async function exportSdsFiles(store: Store, c: Connection, outDir: string): Promise<SdsExportSummary> {
  const { toggles, courses } = await exportToggles(store, c);
  return exportSdsCsv(new StoreRosterReader(store, c.id), { outDir, toggles, courses });
}

/**
 * Checks that a delta since `since` can be exported from the change history.
 * @throws StoreError `not_found` (unknown run) / `invalid_input` (history purged past it).
 */
export async function checkDeltaSince(store: Store, c: Connection, since: number): Promise<void> {
  if (since > 0 && !(await store.runs.get(since))) throw new StoreError('not_found', `run ${since} does not exist`);
  if (!(await store.changes.coversRunsAfter(c.id, since))) {
    const w = await store.changes.purgedThrough({ connectionIds: [c.id] });
    throw new StoreError('invalid_input', `the change history of connection ${c.id} was purged by retention through run ${w?.throughRun}; a delta since run ${since} would miss changes: export bulk instead`);
  }
}

/** Writes the OneRoster 1.1 CSV zip of a connection (bulk, or delta since a run). */
export async function exportOneRosterZip(store: Store, c: Connection, outFile: string, since?: number): Promise<OneRosterCsvSummary> {
  if (since !== undefined) await checkDeltaSince(store, c, since);
  return exportOneRosterCsv(new StoreRosterReader(store, c.id), { outFile, ...(since !== undefined ? { sinceRun: since } : {}) });
}

/**
 * Runs `write(dir)` in a fresh temporary directory and returns a zip of what it wrote (as a file
 * path under that directory) with a cleanup function.
 */
export async function zipOfDirectory(write: (dir: string) => Promise<unknown>): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rostersync-export-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const files = join(dir, 'files');
    await write(files);
    const zip = new yazl.ZipFile();
    for (const name of (await readdir(files)).sort()) zip.addFile(join(files, name), name);
    zip.end();
    const file = join(dir, 'export.zip');
    await pipeline(zip.outputStream, createWriteStream(file));
    return { file, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** A temporary file path for an export, with its cleanup. */
export async function tempExportFile(name: string): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rostersync-export-'));
  return { file: join(dir, name), cleanup: () => rm(dir, { recursive: true, force: true }) };
}
