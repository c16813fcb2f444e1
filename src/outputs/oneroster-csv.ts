/**
 * OneRoster 1.1 CSV export (`rostersync export oneroster-csv --out FILE.zip [--since RUN]`, issue 6):
 * a zip holding `manifest.csv` and one CSV per rostering collection, columns in the 1.1 order
 * (oneroster-spec-notes §7.2).
 *
 * - Bulk (default): every live row; `status` (`active`) and `dateLastModified` are filled (they may
 *   be blank in bulk, §7.1, but filled costs nothing and helps consumers).
 * - Delta (`sinceRun: N`): only rows changed by runs after N; deletions are `tobedeleted` rows
 *   (§5, §7.1). A collection with no change is not written and the manifest says `absent`.
 * - `dateLastModified` is the store's change time when the reader gives one (issue 6).
 * - Multi-valued fields are comma-joined in one (quoted) cell; `userIds` are `{type:identifier}`
 *   items; booleans `true`/`false`; dates `YYYY-MM-DD` as stored (§7.1).
 *
 * Streaming: each CSV goes row by row through csv-stringify into a yazl entry and the zip into a
 * file, with backpressure end to end, so memory does not grow with the roster (bench/export.ts).
 * The zip is written to a temporary name and renamed into place once complete. `manifest.csv` is the
 * last entry: its `absent`/`delta` lines are known only after the collections were read (zip
 * readers find entries through the central directory, so the order does not matter to them).
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify/sync';
import { ZipFile } from 'yazl';
import type {
  AcademicSession, Class, CollectionName, Course, Demographics, Enrollment, EntityByCollection, GuidRef, Org, User,
} from '../oneroster/types.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import { CsvSink } from './csv-sink.ts';
import type { ExportRow, RosterReader, RowsOptions } from './roster-reader.ts';
import { isDeletedRow, rowModifiedAt } from './roster-reader.ts';

/** 1.1 CSV columns per collection, in spec order (§7.2). */
export const ONEROSTER_CSV_COLUMNS: Readonly<Record<CollectionName, readonly string[]>> = {
  academicSessions: ['sourcedId', 'status', 'dateLastModified', 'title', 'type', 'startDate', 'endDate', 'parentSourcedId', 'schoolYear'],
  orgs: ['sourcedId', 'status', 'dateLastModified', 'name', 'type', 'identifier', 'parentSourcedId'],
  courses: ['sourcedId', 'status', 'dateLastModified', 'schoolYearSourcedId', 'title', 'courseCode', 'grades', 'orgSourcedId', 'subjects', 'subjectCodes'],
  classes: ['sourcedId', 'status', 'dateLastModified', 'title', 'grades', 'courseSourcedId', 'classCode', 'classType', 'location', 'schoolSourcedId', 'termSourcedIds', 'subjects', 'subjectCodes', 'periods'],
  users: ['sourcedId', 'status', 'dateLastModified', 'enabledUser', 'orgSourcedIds', 'role', 'username', 'userIds', 'givenName', 'familyName', 'middleName', 'identifier', 'email', 'sms', 'phone', 'agentSourcedIds', 'grades', 'password'],
  enrollments: ['sourcedId', 'status', 'dateLastModified', 'classSourcedId', 'schoolSourcedId', 'userSourcedId', 'role', 'primary', 'beginDate', 'endDate'],
  demographics: ['sourcedId', 'status', 'dateLastModified', 'birthDate', 'sex', 'americanIndianOrAlaskaNative', 'asian', 'blackOrAfricanAmerican', 'nativeHawaiianOrOtherPacificIslander', 'white', 'demographicRaceTwoOrMoreRaces', 'hispanicOrLatinoEthnicity', 'countryOfBirthCode', 'stateOfBirthAbbreviation', 'cityOfBirth', 'publicSchoolResidenceStatus'],
};

/** Every `file.*` key of a 1.1 manifest, in the order of the spec's example (§7.1). */
export const MANIFEST_FILES = [
  'academicSessions', 'categories', 'classes', 'classResources', 'courses', 'courseResources',
  'demographics', 'enrollments', 'lineItems', 'orgs', 'resources', 'results', 'users',
] as const;
export type ManifestFile = (typeof MANIFEST_FILES)[number];
export type ManifestMode = 'absent' | 'bulk' | 'delta';

type Cell = string | undefined;

function bool(v: boolean | undefined): Cell {
  return v === undefined ? undefined : v ? 'true' : 'false';
}
function list(v: readonly string[] | undefined): Cell {
  return v === undefined ? undefined : v.join(',');
}
function refs(v: readonly GuidRef[] | undefined): Cell {
  return v === undefined ? undefined : v.map((r) => r.sourcedId).join(',');
}

/** The cells after sourcedId/status/dateLastModified, per collection (pure). */
const BODY: { [C in CollectionName]: (r: EntityByCollection[C], o: { includePassword: boolean }) => Cell[] } = {
  academicSessions: (s: AcademicSession) => [s.title, s.type, s.startDate, s.endDate, s.parent?.sourcedId, s.schoolYear],
  orgs: (o: Org) => [o.name, o.type, o.identifier, o.parent?.sourcedId],
  courses: (c: Course) => [c.schoolYear?.sourcedId, c.title, c.courseCode, list(c.grades), c.org?.sourcedId, list(c.subjects), list(c.subjectCodes)],
  classes: (c: Class) => [
    c.title, list(c.grades), c.course?.sourcedId, c.classCode, c.classType, c.location, c.school?.sourcedId,
    refs(c.terms), list(c.subjects), list(c.subjectCodes), list(c.periods),
  ],
  users: (u: User, o) => [
    bool(u.enabledUser), refs(u.orgs), u.role, u.username,
    u.userIds === undefined ? undefined : u.userIds.map((id) => `{${id.type}:${id.identifier}}`).join(','),
    u.givenName, u.familyName, u.middleName, u.identifier, u.email, u.sms, u.phone, refs(u.agents), list(u.grades),
    o.includePassword ? u.password : undefined,
  ],
  enrollments: (e: Enrollment) => [e.class?.sourcedId, e.school?.sourcedId, e.user?.sourcedId, e.role, bool(e.primary), e.beginDate, e.endDate],
  demographics: (d: Demographics) => [
    d.birthDate, d.sex, bool(d.americanIndianOrAlaskaNative), bool(d.asian), bool(d.blackOrAfricanAmerican),
    bool(d.nativeHawaiianOrOtherPacificIslander), bool(d.white), bool(d.demographicRaceTwoOrMoreRaces),
    bool(d.hispanicOrLatinoEthnicity), d.countryOfBirthCode, d.stateOfBirthAbbreviation, d.cityOfBirth, d.publicSchoolResidenceStatus,
  ],
};

/**
 * The CSV cells of one row in the collection's column order: `status` is `tobedeleted` for a
 * deletion (tombstone or source-marked), `dateLastModified` the store's change time.
 */
export function oneRosterCsvRow<C extends CollectionName>(collection: C, row: ExportRow<EntityByCollection[C]>, options: { includePassword?: boolean } = {}): Cell[] {
  const body = BODY[collection] as (r: EntityByCollection[C], o: { includePassword: boolean }) => Cell[];
  return [row.record.sourcedId, isDeletedRow(row) ? 'tobedeleted' : 'active', rowModifiedAt(row), ...body(row.record, { includePassword: options.includePassword ?? false })];
}

/** `manifest.csv` text (§7.1): versions, one `file.*` line per 1.1 file, the source system. */
export function manifestCsv(files: Partial<Record<ManifestFile, ManifestMode>>, source: { systemName: string; systemCode: string }): string {
  const rows: string[][] = [['manifest.version', '1.0'], ['oneroster.version', '1.1']];
  for (const f of MANIFEST_FILES) rows.push([`file.${f}`, files[f] ?? 'absent']);
  rows.push(['source.systemName', source.systemName], ['source.systemCode', source.systemCode]);
  return stringify(rows, { header: true, columns: ['propertyName', 'value'], record_delimiter: '\r\n' });
}

export interface OneRosterCsvOptions {
  /** The zip to write (replaced atomically). */
  outFile: string;
  /** Delta since this run: rows changed by later runs, deletions as `tobedeleted`. Absent: bulk. */
  sinceRun?: number;
  /** Collections to export (default all seven rostering collections). Others are `absent`. */
  collections?: readonly CollectionName[];
  /** Write users' passwords (default false: secrets stay out of exports unless asked for). */
  includePasswords?: boolean;
  /** `source.systemName` / `source.systemCode` of the manifest. Default Rostersync / rostersync. */
  source?: { systemName?: string; systemCode?: string };
  /** Deflate level 0–9 (default 6). */
  compressionLevel?: number;
  /** Entry timestamps (default now). */
  mtime?: Date;
  /** Rows per reader batch. */
  batchSize?: number;
  signal?: AbortSignal;
}

export interface OneRosterCsvFileSummary {
  rows: number;
  /** Of which `tobedeleted`. */
  deleted: number;
}

export interface OneRosterCsvSummary {
  outFile: string;
  mode: 'bulk' | 'delta';
  sinceRun?: number;
  files: Partial<Record<CollectionName, OneRosterCsvFileSummary>>;
  manifest: Record<ManifestFile, ManifestMode>;
  /** Size of the zip in bytes. */
  bytes: number;
}

/**
 * Writes the OneRoster 1.1 CSV zip. Bulk unless `sinceRun` is given (see the file header).
 * @throws when reading or writing fails; the temporary zip is removed and `outFile` is untouched.
 */
export async function exportOneRosterCsv(reader: RosterReader, options: OneRosterCsvOptions): Promise<OneRosterCsvSummary> {
  const delta = options.sinceRun !== undefined;
  const wanted = new Set(options.collections ?? COLLECTIONS);
  const mtime = options.mtime ?? new Date();
  const compressionLevel = options.compressionLevel ?? 6;
  const includePassword = options.includePasswords ?? false;
  const tmp = `${options.outFile}.${process.pid}.partial`;

  await mkdir(dirname(options.outFile), { recursive: true });
  const failure = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failure.signal]) : failure.signal;
  const zip = new ZipFile();
  zip.on('error', (err: unknown) => failure.abort(err));
  const written = pipeline(zip.outputStream, createWriteStream(tmp));
  written.catch((err: unknown) => failure.abort(err));

  const manifest = Object.fromEntries(MANIFEST_FILES.map((f) => [f, 'absent'])) as Record<ManifestFile, ManifestMode>;
  const files: Partial<Record<CollectionName, OneRosterCsvFileSummary>> = {};
  try {
    for (const c of COLLECTIONS) {
      if (!wanted.has(c)) continue;
      signal.throwIfAborted();
      const rowOptions = {
        includeDeleted: delta,
        ...(delta ? { changedSinceRun: options.sinceRun } : {}),
        ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
        signal,
      };
      const openEntry = (name: string) => CsvSink.toZip(zip, name, ONEROSTER_CSV_COLUMNS[c], { signal, mtime, compressionLevel });
      const result = await writeCollection(reader, c, rowOptions, openEntry, { delta, includePassword });
      if (result === undefined) continue;
      files[c] = result;
      manifest[c] = delta ? 'delta' : 'bulk';
    }
    const source = { systemName: options.source?.systemName ?? 'Rostersync', systemCode: options.source?.systemCode ?? 'rostersync' };
    zip.addBuffer(Buffer.from(manifestCsv(manifest, source), 'utf8'), 'manifest.csv', { mtime, compress: compressionLevel > 0, ...(compressionLevel > 0 ? { compressionLevel } : {}) });
    zip.end();
    await written;
    signal.throwIfAborted();
    await rename(tmp, options.outFile);
  } catch (err) {
    failure.abort(err);
    (zip.outputStream as unknown as { destroy?: () => void }).destroy?.();
    await written.catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    // A caller's abort surfaces with the caller's reason, not as a stream's AbortError.
    throw options.signal?.aborted ? options.signal.reason : err;
  }
  const bytes = (await stat(options.outFile)).size;
  const summary: OneRosterCsvSummary = { outFile: options.outFile, mode: delta ? 'delta' : 'bulk', files, manifest, bytes };
  if (options.sinceRun !== undefined) summary.sinceRun = options.sinceRun;
  return summary;
}

/**
 * Streams one collection into a new zip entry. In delta mode a collection without changed rows gets
 * no entry (undefined). The reader's iterator is always closed, so a store-backed reader can
 * release its cursor when the export stops early.
 */
async function writeCollection<C extends CollectionName>(
  reader: RosterReader,
  collection: C,
  rowOptions: RowsOptions,
  openEntry: (name: string) => CsvSink,
  mode: { delta: boolean; includePassword: boolean },
): Promise<OneRosterCsvFileSummary | undefined> {
  const it = reader.rows(collection, rowOptions)[Symbol.asyncIterator]();
  let sink: CsvSink | undefined;
  try {
    // Peek for the first row: a delta collection without one is `absent`.
    let next = await it.next();
    while (!next.done && next.value.length === 0) next = await it.next();
    if (mode.delta && next.done) return undefined;
    sink = openEntry(`${collection}.csv`);
    let deleted = 0;
    for (; !next.done; next = await it.next()) {
      for (const row of next.value) {
        const gone = isDeletedRow(row);
        // Bulk is a snapshot of live rows; a source-marked `tobedeleted` row is not live.
        if (gone && !mode.delta) continue;
        if (gone) deleted++;
        if (!sink.write(oneRosterCsvRow(collection, row, { includePassword: mode.includePassword }))) await sink.drain();
      }
    }
    await sink.close();
    return { rows: sink.rows, deleted };
  } catch (err) {
    await sink?.destroy();
    throw err;
  } finally {
    await it.return?.();
  }
}
