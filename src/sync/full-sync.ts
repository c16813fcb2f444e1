/**
 * The full-sync runner (engineering-anchors §2.2): pull every enabled collection page by page,
 * validate and hash each record, stage it, then apply all complete collections in one transaction.
 *
 * Guarantees, each from the issue:
 * - "Stage, then apply: nothing touches the live tables until a collection is complete. A failed
 *   or empty collection keeps its last-known-good rows." A collection whose read throws is marked
 *   `failed`, its staged rows are discarded, and the other collections still apply (`partial`).
 * - Apply is one transaction for the whole run, which also writes the run's final state, so a
 *   crash never leaves half a run applied.
 * - "Unchanged rows are not written." Each page is compared with the live rows; unchanged records
 *   are never written, and in the common case (below) not even staged.
 * - "Absence in a complete full-sync collection marks a row deleted (soft delete, kept as a
 *   tombstone)"; records that arrive `tobedeleted` become tombstones too; a returning record is
 *   `restored`. Invalid records are not applied and are not absent either.
 * - Duplicates within a run: the first is kept; the others get a `duplicate-sourced-id` issue.
 *
 * Two read modes per collection:
 * - `sorted` (re-syncs of providers that page in sourcedId order, as OneRoster servers default to,
 *   oneroster-spec-notes §2.5): one range query per page returns the live rows between the previous
 *   page's last id and this page's last id. That one query finds changes, and absences (live ids
 *   the page skipped), so unchanged records are neither staged nor looked up one by one. Order is
 *   checked as pages arrive; if it breaks, the collection is read again once in `general` mode and
 *   the next run starts in `general` mode for it (remembered in the run's entity counts).
 * - `general` (first syncs and unsorted providers): point lookups per page, every sourcedId staged
 *   (key only when unchanged or invalid), absence by anti-join at apply.
 * In both modes a record whose raw fingerprint (provider JSON) equals the live row's is unchanged
 * without being read and hashed again (the no-change fast path).
 *
 * Memory is bounded by one page plus one prefetched page: the next page's request is issued
 * before the current page is processed, so the provider works while we hash and write.
 */
import { hostname } from 'node:os';
import type { ControlledTransaction } from 'kysely';
import type { DataIssue } from '../oneroster/issues.ts';
import type { CollectionName } from '../oneroster/types.ts';
import type { PageReader, PageSummary, ReadOptions } from '../source/page-reader.ts';
import { StoreError, isStoreError } from '../store/errors.ts';
import type { CollectionOutcome, EndpointCounts, EntityCounts, IssueSummary, RunError, RunStatus } from '../store/run-repository.ts';
import { emptyIssueSummary } from '../store/run-repository.ts';
import { STAGE_WRITE_MIN, StageOp, type Database } from '../store/schema.ts';
import type { AbsenceRule, ApplyCollection } from '../store/apply.ts';
import type { CollectionStager, KnownRow, RangeRow, StageRow } from '../store/staging.ts';
import type { Store } from '../store/store.ts';
import { errorCode } from '../error-info.ts';
import { fieldDiff } from './field-diff.ts';
import { ReferenceSets, checkStagedReferences, crossCheckFor, selfReferencing, type CrossCheck } from './reference-check.ts';
import { emptyPrepTimings, normalizing, prepareRecord, readItem, type PrepTimings, type PreparedEntry, type ReadResult } from './page-prep.ts';
import { PageSource, type PageTicket, type PreparedPage } from './page-source.ts';
import { sharedPrepPool, type PrepPool } from './prep-pool.ts';
import { ORDER_UNSAFE, PageSummaryBuilder, matchesLive, pageHashSalt } from './page-summary.ts';
import {
  DEFAULT_POLICY,
  REQUIRED_COLLECTIONS,
  classify,
  collectionVerdict,
  holdReasons,
  orderCollections,
  sdsRunStatus,
  thresholdsFor,
  type HoldReason,
  type SyncPolicy,
} from './planner.ts';
import { DEFAULT_CODEC, type RecordCodec } from './record-codec.ts';

/** A full sync reads active records only (SDS: full syncs filter `status='active'`, deltas do not). */
export const FULL_SYNC_FILTER = "status='active'";

/** The delta filter: everything changed after the cursor, `tobedeleted` records included. */
export function deltaFilter(cursor: string): string {
  return `dateLastModified>'${cursor}'`;
}

/** Default overlap subtracted from the run's start when a cursor is taken (issue 4: 10 minutes). */
export const DEFAULT_OVERLAP_MS = 10 * 60_000;

/**
 * An approved hold, for the re-run that applies it: the deletions and updates the admin approved
 * (by entity, sourcedIds from the held run's plan) and the collections they approved emptying.
 * The re-run holds again only for changes beyond these ("capped at what was approved").
 */
export interface Approval {
  heldRunId: number;
  deletes: ReadonlyMap<CollectionName, ReadonlySet<string>>;
  updates: ReadonlyMap<CollectionName, ReadonlySet<string>>;
  emptied: ReadonlySet<CollectionName>;
}

export interface SyncProgress {
  collection: CollectionName;
  pages: number;
  /** Items received so far in this collection (restarts from 0 if the collection is re-read). */
  records: number;
  /** `X-Total-Count` when the provider sends it. */
  total?: number;
  bytes: number;
  /** True on the last call for the collection (read finished or failed). */
  done: boolean;
}

/**
 * A collection's progress as its checkpoint (stage_checkpoints, written with every staged page)
 * records it: how another process follows a run it does not run. Undefined for an unreadable one.
 */
export function checkpointProgress(collection: CollectionName, text: string): SyncProgress | undefined {
  let cp: Partial<Checkpoint>;
  try {
    cp = JSON.parse(text) as Partial<Checkpoint>;
  } catch {
    return undefined;
  }
  const n = cp.counts;
  if (cp.v !== 1 || n === undefined) return undefined;
  const p: SyncProgress = { collection, pages: n.pages, records: n.fetched, bytes: n.bytes, done: cp.done === true };
  if (n.total !== undefined) p.total = n.total;
  return p;
}

/** Small logging port (pino fits it). Metadata carries ids and counts, never record contents. */
export interface SyncLogger {
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
}

export interface RunSyncOptions {
  store: Store;
  reader: PageReader;
  connectionId: string;
  /**
   * `full` (default): `status='active'`, absence deletes. `delta`: `dateLastModified>` each
   * collection's cursor, no status filter, no absence; a collection without a cursor yet is read
   * in full.
   */
  mode?: 'full' | 'delta';
  /** Compute the plan (kept as `changes` rows with `applied = 0`) and apply nothing. */
  dryRun?: boolean;
  /** Apply an approved hold (see `Approval`). */
  approval?: Approval;
  /** Subtracted from the run's start (provider clock) for the next delta's cursor. Default 10 min. */
  overlapMs?: number;
  /**
   * Continue the connection's last run when its process died mid-read (its lease expired) and it
   * has staged pages: the same run id, pages already staged are not fetched again. Default true.
   */
  resume?: boolean;
  /**
   * Graceful shutdown (a worker's SIGTERM): when it fires, the run stops after the page in hand,
   * keeps its staged pages and checkpoints, and ends `failed` with code `released`, so the next
   * run of the connection (any worker) resumes it.
   */
  release?: AbortSignal;
  /** Collections to pull; default the five required ones. Add `courses`/`demographics` when enabled. */
  entities?: readonly CollectionName[];
  onProgress?: (progress: SyncProgress) => void;
  codec?: RecordCodec;
  /**
   * Worker threads that parse and prepare pages while this thread writes (prep-pool.ts). Default:
   * the process's shared pool; `null`: every page is prepared on this thread.
   */
  prepPool?: PrepPool | null;
  policy?: Partial<SyncPolicy>;
  signal?: AbortSignal;
  /** Identifies this process in `runs.lease_owner`. Default `<host>:<pid>`. */
  leaseOwner?: string;
  /** Minimum time between heartbeats, ms. Default 5000. */
  heartbeatMs?: number;
  /** Most issues written to `run_issues` per run (counts stay complete). Default 50,000. */
  maxStoredIssues?: number;
  logger?: SyncLogger;
}

/** Where the run's wall time went, ms (phases run one after another on one event loop). */
export interface RunTimings {
  /** Waiting for the reader's next page (network, provider, client-side parse). */
  readWait: number;
  /** Fingerprints, readEntity, canonical JSON and hashes. */
  normalize: number;
  /** Live-row lookups (point or range). */
  lookup: number;
  /** Classification, raw comparison and staging writes. */
  stage: number;
  /** Issue rows and heartbeats. */
  bookkeeping: number;
  /**
   * Of `normalize`: the codec's `readEntity` (lenient OneRoster read + SDS rules when on), i.e. the
   * validation; with `references` it is what "validation takes under 15% of sync time" measures.
   */
  validate: number;
  /** Reference checks after staging (SDS rules on). */
  references: number;
  /** Counting planned deletions/updates against the safeguards. */
  plan: number;
  /** The one apply transaction (incl. the run's final state), or recording a held/dry run's plan. */
  apply: number;
  /** Emptying the staging tables. */
  cleanup: number;
  /**
   * PostgreSQL: the server time of the early inserts (early-inserts.ts). They run while the read
   * goes on, so this overlaps the other phases instead of adding to the wall time.
   */
  early: number;
}

export interface RunResult {
  runId: number;
  /** This run continued a killed one (same id) this many times. */
  resumes: number;
  status: Exclude<RunStatus, 'running'>;
  mode: 'full' | 'delta';
  dryRun: boolean;
  /** SDS's run status (`held` for a held run). */
  sdsStatus: string;
  /** Why the run was (or, for a dry run, would be) held. */
  hold?: HoldReason[];
  /** Delta runs: the earliest cursor asked from. */
  cursor?: string;
  /** The next delta's cursor, when this run advanced it. */
  nextCursor?: string;
  entities: Partial<Record<CollectionName, EntityCounts>>;
  requests: { perEndpoint: Record<string, EndpointCounts> };
  issues: IssueSummary;
  durationMs: number;
  timings: RunTimings;
  error?: RunError;
}

/** A reader failure for one collection (the reader's own error is the cause). */
class CollectionReadError extends Error {
  readonly code: string;

  constructor(cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.code = typeof code === 'string' ? code : 'source_error';
  }
}

/** A collection's read checkpoint, stored with each staged page (see staging.ts). */
interface Checkpoint {
  v: 1;
  /** The collection was read to its end. */
  done: boolean;
  /** Items received so far: where a resumed read continues (`startOffset`). */
  offset: number;
  counts: EntityCounts;
  state: ReadState;
  cur: IssueSummary;
  /** The run's issue sequence after this page's issues. */
  issueSeq: number;
  /** The issue sequence when the collection's read began (an order break rewinds to it). */
  firstSeq: number;
  full: boolean;
  ep: EndpointCounts | undefined;
  providerStart: string | undefined;
}

/** The run was released at shutdown (see `RunSyncOptions.release`). */
class RunReleased extends Error {}

/** The provider's order broke the sorted-mode assumption: re-read the collection in general mode. */
class OrderBroken extends Error {}

function emptyCounts(): EntityCounts {
  return {
    outcome: 'skipped',
    fetched: 0,
    created: 0,
    updated: 0,
    restored: 0,
    unchanged: 0,
    deleted: 0,
    deletedByAbsence: 0,
    invalid: 0,
    duplicates: 0,
    pages: 0,
    bytes: 0,
  };
}

type Step = { ok: true; r: IteratorResult<PageTicket> } | { ok: false; err: unknown };

function step(it: AsyncIterator<PageTicket>): Promise<Step> {
  // Never rejects: a prefetched page's failure must not become an unhandled rejection.
  return it.next().then(
    (r) => ({ ok: true as const, r }),
    (err: unknown) => ({ ok: false as const, err }),
  );
}

/** Live rows `after < sourced_id <= through` (`CollectionStager.lookupRange`) already read for a page. */
interface KnownRange {
  after: string | undefined;
  through: string;
  rows: Array<[string, RangeRow]>;
}

/** A page entry on the sync's thread: prepared by the page source, read here when needed. */
type Entry = PreparedEntry & { item?: unknown; read?: ReadResult };

interface ReadState {
  mode: 'sorted' | 'general';
  /** Sorted mode: the last sourcedId covered (every live row up to it is resolved). */
  lastId: string | undefined;
  /** Sorted mode: the last sourcedId classified (an equal next id is a duplicate). */
  lastSeen?: string;
  /** Ids seen so far never decreased (order hint for the next run). */
  monotonic: boolean;
}

function mergeIssues(into: IssueSummary, from: IssueSummary): void {
  into.bySeverity.error += from.bySeverity.error;
  into.bySeverity.warning += from.bySeverity.warning;
  for (const [rule, n] of Object.entries(from.byRule)) into.byRule[rule] = (into.byRule[rule] ?? 0) + n;
  into.stored += from.stored;
}

/**
 * Runs one full sync of a connection and returns its result. Data problems and collection read
 * failures end up in the result (status `partial`/`failed`), not as throws.
 * @throws StoreError `run_in_progress` when the connection already has a running run,
 *   `not_found` for an unknown connection; rethrows unexpected (store/programming) errors after
 *   marking the run `failed`.
 */
export async function runSync(options: RunSyncOptions): Promise<RunResult> {
  const started = performance.now();
  const { store, reader, connectionId } = options;
  const codec = options.codec ?? DEFAULT_CODEC;
  const policy: SyncPolicy = { ...DEFAULT_POLICY, ...options.policy };
  const collections = orderCollections(options.entities ?? REQUIRED_COLLECTIONS);
  const leaseOwner = options.leaseOwner ?? `${hostname()}:${process.pid}`;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const maxStoredIssues = options.maxStoredIssues ?? 50_000;
  const log = options.logger;
  // Resolved before the run exists: a bad ROSTERSYNC_PREP_THREADS fails here, leaving no run behind.
  const prepPool = options.prepPool === undefined ? sharedPrepPool() : (options.prepPool ?? undefined);

  const connection = await store.connections.get(connectionId);
  if (!connection) throw new StoreError('not_found', `connection ${connectionId} does not exist`);
  const dryRun = options.dryRun === true;
  const overlapMs = options.overlapMs ?? DEFAULT_OVERLAP_MS;
  // Delta: each collection asks from its own cursor; one without a cursor yet is read in full.
  const cursors = options.mode === 'delta' ? await store.cursors.get(connectionId) : new Map<CollectionName, string>();
  const mode: 'full' | 'delta' = collections.some((c) => cursors.has(c)) ? 'delta' : 'full';
  const cursorOf = (c: CollectionName): string | undefined => (mode === 'delta' ? cursors.get(c) : undefined);
  const usedCursors = collections.map(cursorOf).filter((c): c is string => c !== undefined).sort();
  const runCursor = usedCursors[0];
  if (options.mode === 'delta' && mode === 'full') log?.info('no delta cursor yet; running a full sync', { connectionId });
  const localStart = new Date();
  /** The provider's clock at its first answer in this run (HTTP `Date`), else ours at the start. */
  let providerStart: string | undefined;
  const fullReads = new Set<CollectionName>();
  // Order hints: a collection that needed general mode last time starts in it.
  const orderHint = new Map<CollectionName, 'sorted' | 'unsorted'>();
  for (const prev of await store.runs.list({ connectionId, limit: 5 })) {
    for (const c of collections) {
      const o = prev.entities[c]?.order;
      if (o !== undefined && !orderHint.has(c)) orderHint.set(c, o);
    }
  }
  // Resume: the last run of this connection died mid-read (its lease expired) and staged pages.
  let resumeFrom: Map<CollectionName, Checkpoint> | undefined;
  let run: Awaited<ReturnType<typeof store.runs.start>> | undefined;
  if (options.resume !== false && !dryRun && !options.approval) {
    const last = (await store.runs.list({ connectionId, limit: 1 }))[0];
    const resumable = last?.error?.code === 'lease_expired' || last?.error?.code === 'released';
    if (last && last.status === 'failed' && resumable && last.mode === mode && !last.dryRun && last.approvalOf === undefined) {
      const saved = await store.staging.checkpoints(last.id);
      if (saved.size > 0 && (await store.runs.adopt(last.id, leaseOwner))) {
        run = (await store.runs.get(last.id))!;
        resumeFrom = new Map([...saved].map(([c, text]) => [c, JSON.parse(text) as Checkpoint]));
      }
    }
  }
  run ??= await store.runs.start({
    connectionId,
    mode,
    leaseOwner,
    dryRun,
    ...(options.approval ? { approvalOf: options.approval.heldRunId } : {}),
    ...(runCursor !== undefined ? { cursor: runCursor } : {}),
  });
  const runId = run.id;
  // Staged rows of killed runs that were not resumed are dead weight.
  await store.staging.discardDead(connectionId, runId);
  log?.info('sync started', { runId, connectionId, collections, mode, dryRun, ...(runCursor ? { cursor: runCursor } : {}) });

  const entities: Partial<Record<CollectionName, EntityCounts>> = {};
  const perEndpoint: Record<string, EndpointCounts> = {};
  const issues = emptyIssueSummary();
  let issueSeq = 0;
  if (resumeFrom) {
    for (const [c, cp] of resumeFrom) {
      issueSeq = Math.max(issueSeq, cp.issueSeq);
      if (cp.ep) perEndpoint[`/${c}`] = { ...cp.ep };
      providerStart ??= cp.providerStart;
    }
    await store.issues.deleteFrom(runId, issueSeq); // rows a killed page wrote past its checkpoint
    log?.info('resuming a killed run', { runId, connectionId, staged: [...resumeFrom.keys()], resumes: run.resumes });
  }
  let lastBeat = Date.now();
  const toApply = new Map<CollectionName, ApplyCollection>();
  let firstError: RunError | undefined;
  let aborted = false;
  /** Leave the stage tables to the `finally` as they are: kept for a resume, or already emptied. */
  let keepStaging = false;
  /** With reference checks: what each target collection holds after the apply, and the check of the collection being read. */
  const refSets = new ReferenceSets(store.staging, runId, connectionId);
  /** Pages with their records prepared (page-prep.ts) as they arrive. */
  const source = new PageSource(reader, codec, prepPool, (c, reason) =>
    log?.warn('page preparation thread failed; the page was prepared on the sync thread', { runId, connectionId, collection: c, reason }),
  );
  const ingested: ReadonlySet<CollectionName> = new Set(collections);
  let cross: CrossCheck | undefined;
  /** The collection whose cross check is still to be built (lazily, see pullCollection). */
  let crossFor: CollectionName | undefined;
  /** Per full read: summaries of its pages (page-summary.ts), stored once the run applied. */
  const pageSummaries = new Map<CollectionName, PageSummary[]>();
  /** Full reads resumed mid-collection: their summaries join the stored ones instead of replacing them. */
  const resumedReads = new Set<CollectionName>();
  const timings: RunTimings = { readWait: 0, normalize: 0, lookup: 0, stage: 0, bookkeeping: 0, validate: 0, references: 0, plan: 0, apply: 0, cleanup: 0, early: 0 };
  /**
   * PostgreSQL: fresh collections go into the live tables while the read goes on, in the
   * transaction the apply commits (early-inserts.ts). Never for a dry run, which applies nothing.
   */
  const early = dryRun ? undefined : store.staging.early({ runId, tenantId: connection.tenantId, connectionId, now: localStart });
  /** The collection being read, when its staged pages are inserted early. */
  let earlyFor: CollectionName | undefined;

  const heartbeat = async (): Promise<void> => {
    if (Date.now() - lastBeat < heartbeatMs) return;
    lastBeat = Date.now();
    await store.runs.heartbeat(runId, leaseOwner);
  };

  /** Counts issues into the collection's summary; returns those to store (up to the run's cap). */
  const countIssues = (found: DataIssue[], cur: IssueSummary): DataIssue[] => {
    if (found.length === 0) return found;
    for (const i of found) {
      cur.bySeverity[i.severity]++;
      cur.byRule[i.rule] = (cur.byRule[i.rule] ?? 0) + 1;
    }
    const room = Math.max(0, maxStoredIssues - issues.stored - cur.stored);
    const keep = room >= found.length ? found : found.slice(0, room);
    cur.stored += keep.length;
    return keep;
  };
  const storeIssues = async (keep: DataIssue[]): Promise<void> => {
    if (keep.length === 0) return;
    await store.issues.add(runId, issueSeq, keep);
    issueSeq += keep.length;
  };

  const checkpointJson = (
    c: CollectionName,
    cp: { done: boolean; counts: EntityCounts; state: ReadState; cur: IssueSummary; issueSeq: number; firstSeq: number; full: boolean },
  ): string => JSON.stringify({ v: 1, ...cp, offset: cp.counts.fetched, ep: perEndpoint[`/${c}`], providerStart } satisfies Checkpoint);

  /** The checkpoint written with a staged page: the read goes on after it (`issueSeq`: issues stored up to it). */
  const pageCheckpoint = (c: CollectionName, counts: EntityCounts, state: ReadState, cur: IssueSummary, seq: number, firstSeq: number): string =>
    checkpointJson(c, { done: false, counts, state, cur, issueSeq: seq, firstSeq, full: cursorOf(c) === undefined });

  /** Reads a record the page source left unread (it changed, or the reader must decide its id); `t`: this page's own preparation time. */
  const readEntry = (c: CollectionName, e: Entry, t: PrepTimings): ReadResult => {
    if (e.read) return e.read;
    e.read = normalizing(t, () => {
      e.item = JSON.parse(e.json ?? 'null');
      return readItem(c, e.item, codec, t);
    });
    e.id = e.read.id;
    return e.read;
  };
  const addPrep = (t: PrepTimings): void => {
    timings.normalize += t.normalize;
    timings.validate += t.validate;
    timings.references += t.references;
  };

  /** Compares one page with the live rows and stages what must change. */
  const stagePage = async (
    c: CollectionName,
    stager: CollectionStager,
    page: PreparedPage,
    counts: EntityCounts,
    state: ReadState,
    cur: IssueSummary,
    firstSeq: number,
  ): Promise<void> => {
    addPrep(page.t);
    /** Preparation done here, for records the page source left unread. */
    const local = emptyPrepTimings();
    const sourcePrep0 = source.prepMs;
    let t = performance.now();
    const summaries = pageSummaries.get(c);
    let entries: Entry[] = page.entries;
    /** Live rows of a known page's range, read by `skipKnown` (reused below when the range is the same). */
    let knownRange: KnownRange | undefined;
    if (page.known !== undefined) {
      const r = await skipKnown(c, stager, page.known, counts, state, cur, firstSeq);
      if (r === 'skipped') {
        summaries?.push(page.known);
        return;
      }
      knownRange = r;
      entries = page.unread!(local);
    }
    const summary = page.bodyHash !== undefined && summaries !== undefined ? new PageSummaryBuilder() : undefined;
    // The reader decides an unclean id (trimmed, numeric) or rejects the record.
    for (const e of entries) if (e.id === undefined && e.prep === undefined) readEntry(c, e, local);
    // Order check (sorted mode needs it; every mode records it as a hint for the next run).
    let prev = state.lastId;
    for (const e of entries) {
      if (e.id === undefined) continue;
      if ((prev !== undefined && e.id < prev) || ORDER_UNSAFE.test(e.id)) {
        state.monotonic = false;
        if (state.mode === 'sorted') throw new OrderBroken();
      }
      prev = e.id;
    }
    let t2 = performance.now();

    // What the live table holds for this page.
    const known = new Map<string, KnownRow>();
    const absent: string[] = [];
    const pointLookup = async (ids: string[]): Promise<void> => {
      if (ids.length === 0) return;
      const rows = await stager.lookup(ids);
      ids.forEach((id, i) => {
        const k = rows[i];
        if (k) known.set(id, k);
      });
    };
    if (state.mode === 'sorted') {
      // One range read of the covering index: skips unchanged records and finds passed-over rows.
      const ids = new Set<string>();
      for (const e of entries) if (e.id !== undefined) ids.add(e.id);
      const need: string[] = [];
      if (prev !== undefined && prev !== state.lastId) {
        const range = knownRange !== undefined && knownRange.after === state.lastId && knownRange.through === prev ? knownRange.rows : await stager.lookupRange(state.lastId, prev);
        for (const [id, r] of range) {
          if (!ids.has(id)) {
            if (!r.deleted) absent.push(id); // the provider passed over it
          } else if (!r.deleted && r.fp !== null) {
            known.set(id, { hash: '', fp: r.fp, deleted: false }); // hash fetched below if the fp differs
          } else {
            need.push(id);
          }
        }
        state.lastId = prev;
      }
      // (prev === state.lastId: the page only repeats the previous page's last id — duplicates.)
      for (const e of entries) {
        const k = e.id === undefined ? undefined : known.get(e.id);
        if (k !== undefined && (k.fp !== e.fp || e.read !== undefined)) need.push(e.id!);
      }
      await pointLookup(need);
    } else if (!stager.liveEmpty) {
      await pointLookup(entries.filter((e) => e.id !== undefined).map((e) => e.id!));
    }
    t = performance.now();
    timings.lookup += t - t2;

    if (crossFor === c && cross === undefined) {
      const readsSome = entries.some((e) => {
        if (e.prep !== undefined) return false;
        if (e.read !== undefined || e.id === undefined) return true;
        const k = known.get(e.id);
        return !(k !== undefined && !k.deleted && k.fp !== null && k.fp === e.fp);
      });
      if (readsSome) {
        // (Eager pages were checked by the page source: their check was built before the read.)
        const tr = performance.now();
        cross = (await crossCheckFor(c, refSets, ingested, (t) => toApply.get(t))) ?? NO_CROSS;
        timings.references += performance.now() - tr;
      }
    }
    // Classify in page order.
    const found: DataIssue[] = [];
    const rows: StageRow[] = [];
    const rowOps: StageOp[] = [];
    let lastSeen = state.mode === 'sorted' ? state.lastSeen : undefined;
    for (const e of entries) {
      const id = e.id;
      if (state.mode === 'sorted' && id !== undefined) {
        if (id === lastSeen) {
          counts.duplicates++;
          found.push(duplicateIssue(c, id));
          summary?.reject();
          continue;
        }
        lastSeen = id;
      }
      const k = id === undefined ? undefined : known.get(id);
      if (k !== undefined && !k.deleted && k.fp !== null && k.fp === e.fp && e.read === undefined && e.prep === undefined) {
        // Same provider JSON as the live row, which had no issues: unchanged, nothing to read.
        summary?.add(id!, e.fp);
        if (state.mode === 'general') {
          rows.push({ sourcedId: id!, op: StageOp.unchanged, hash: k.hash });
          rowOps.push(StageOp.unchanged);
        } else {
          counts.unchanged++;
        }
        continue;
      }
      let p = e.prep;
      if (p === undefined) {
        const read = readEntry(c, e, local);
        p = normalizing(local, () => prepareRecord(c, e.item, e.json ?? 'null', read, codec, cross, local));
      }
      if (p.skipped) {
        // Not ingested by choice: absent. General mode stages nothing (the anti-join tombstones a
        // live row); sorted mode passed the id as present, so it marks a live row absent itself.
        counts.skipped = (counts.skipped ?? 0) + 1;
        if (state.mode === 'sorted' && k !== undefined && !k.deleted) rows.push({ sourcedId: id!, op: StageOp.absent });
        continue;
      }
      for (const issue of p.issues) found.push(issue);
      if (p.hash === undefined || p.status === undefined) {
        counts.invalid++;
        // General mode stages the key so the anti-join spares the live row (last-known-good).
        if (state.mode === 'general' && e.id !== undefined) {
          rows.push({ sourcedId: e.id, op: StageOp.invalid });
          rowOps.push(StageOp.invalid);
        }
        continue;
      }
      const op = classify({ hash: p.hash, status: p.status }, k);
      // Unchanged, but read because the live row holds another fingerprint (a new codec version, or
      // provider JSON that changed without changing the record): the apply stores this one, so the
      // next sync skips the record unread again instead of reading it every time.
      const refresh = op === StageOp.unchanged && p.clean === true && p.status === 'active' && e.cleanId && k !== undefined && !k.deleted && k.fp !== e.fp;
      if (summary !== undefined) {
        // The live row ends active with this fingerprint: written clean or refreshed, or unchanged and holding it already.
        const endsWithFp = p.status === 'active' && e.cleanId && (op >= STAGE_WRITE_MIN || refresh ? p.clean === true : k !== undefined && !k.deleted && k.fp === e.fp);
        if (endsWithFp) summary.add(id!, e.fp);
        else summary.reject();
      }
      if (op >= STAGE_WRITE_MIN) {
        const row: StageRow = { sourcedId: id!, op, hash: p.hash, status: p.status, fp: p.clean ? e.fp : null };
        if (p.data !== undefined) row.data = p.data;
        if (p.values !== undefined) row.values = p.values;
        if (p.raw !== undefined) row.rawJson = p.raw;
        if (p.refs !== undefined) row.refs = p.refs;
        rows.push(row);
        rowOps.push(op);
      } else if (state.mode === 'general' || refresh) {
        rows.push(refresh ? { sourcedId: id!, op, hash: p.hash, fp: e.fp } : { sourcedId: id!, op, hash: p.hash });
        rowOps.push(op);
      } else {
        counts.unchanged++;
      }
    }
    if (state.mode === 'sorted' && lastSeen !== undefined) state.lastSeen = lastSeen;
    if (absent.length > 0) summary?.reject();
    for (const id of absent) rows.push({ sourcedId: id, op: StageOp.absent });
    addPrep(local);

    // Field-level diffs for the change history and dry runs: only changed records (few) read their
    // live data back.
    const changed = rows.filter((r) => r.op === StageOp.update || r.op === StageOp.restore || r.op === StageOp.delete);
    if (changed.length > 0) {
      const before = await stager.loadData(changed.map((r) => r.sourcedId));
      for (const r of changed) {
        const old = before.get(r.sourcedId);
        if (old !== undefined && r.data !== undefined) r.diff = JSON.stringify(fieldDiff(old, r.data));
      }
    }

    let keep: DataIssue[] = [];
    // Counting happens inside the stage transaction so the page's checkpoint carries it: a resumed
    // run continues from exactly these counts.
    const staged = await stager.write(rows, (inserted) => {
      for (let i = 0; i < rowOps.length; i++) {
        const op = rowOps[i]!;
        if (!inserted[i]) {
          if (op === StageOp.invalid) continue; // counted invalid already
          counts.duplicates++;
          found.push(duplicateIssue(c, rows[i]!.sourcedId));
          continue;
        }
        switch (op) {
          case StageOp.create: counts.created++; break;
          case StageOp.update: counts.updated++; break;
          case StageOp.restore: counts.restored++; break;
          case StageOp.delete: counts.deleted++; break;
          case StageOp.unchanged:
            counts.unchanged++;
            if (rows[i]!.fp) counts.refreshed = (counts.refreshed ?? 0) + 1;
            break;
          default: break; // invalid: counted above
        }
      }
      keep = countIssues(found, cur);
      return pageCheckpoint(c, counts, state, cur, issueSeq + keep.length, firstSeq);
    });
    if (earlyFor === c) {
      // Staged writes, not duplicates (the first of a sourcedId is the one staged).
      const ids: string[] = [];
      for (let i = 0; i < rows.length; i++) if (staged[i] && rows[i]!.op >= STAGE_WRITE_MIN) ids.push(rows[i]!.sourcedId);
      await early!.add(c, ids);
    }
    t2 = performance.now();
    // The next page may have been prepared while this page's write waited on the database.
    timings.stage += t2 - t - local.normalize - local.references - (source.prepMs - sourcePrep0);
    // Issue rows after the stage commit: a kill in between loses at most this page's issue rows
    // (their counts are in the checkpoint); rows past a checkpoint are dropped when a run resumes.
    await storeIssues(keep);
    const s = summary?.summary(page.bodyHash!, page.count);
    if (s !== undefined) summaries!.push(s);
    timings.bookkeeping += performance.now() - t2;
  };

  /**
   * A page recognised by its body (page-summary.ts): skipped when the live rows it covers are
   * exactly its records, unchanged; false when it must be read.
   */
  const skipKnown = async (
    c: CollectionName,
    stager: CollectionStager,
    known: PageSummary,
    counts: EntityCounts,
    state: ReadState,
    cur: IssueSummary,
    firstSeq: number,
  ): Promise<'skipped' | KnownRange | undefined> => {
    if (state.mode !== 'sorted' || (state.lastId !== undefined && known.firstId <= state.lastId)) return undefined;
    const tl = performance.now();
    const rows = await stager.lookupRange(state.lastId, known.lastId);
    const same = matchesLive(known, rows);
    const tw = performance.now();
    timings.lookup += tw - tl;
    if (!same) return { after: state.lastId, through: known.lastId, rows };
    state.lastId = known.lastId;
    state.lastSeen = known.lastId;
    counts.unchanged += known.count;
    counts.knownPages = (counts.knownPages ?? 0) + 1;
    await stager.write([], () => pageCheckpoint(c, counts, state, cur, issueSeq, firstSeq));
    timings.stage += performance.now() - tw;
    return 'skipped';
  };

  /** One complete read of a collection into staging. @throws CollectionReadError | OrderBroken. */
  const readOnce = async (c: CollectionName, stager: CollectionStager, counts: EntityCounts, state: ReadState, cur: IssueSummary, firstSeq: number): Promise<void> => {
    const endpoint = `/${c}`;
    const ep = (perEndpoint[endpoint] ??= { requests: 0, bytes: 0 });
    const cursor = cursorOf(c);
    const filter = cursor !== undefined ? deltaFilter(cursor) : FULL_SYNC_FILTER;
    const startOffset = counts.fetched; // > 0 only when a resumed run continues a collection
    // No live rows (a first sync): every record is read, so the page source prepares them all.
    const eager = stager.liveEmpty && state.mode === 'general';
    if (eager && crossFor === c && cross === undefined) {
      const tr = performance.now();
      cross = (await crossCheckFor(c, refSets, ingested, (t) => toApply.get(t))) ?? NO_CROSS;
      timings.references += performance.now() - tr;
    }
    // Full reads hash every page for the next run's summaries (not for a provider known to page out of
    // sourcedId order: only sorted reads use them); a sorted read also recognises the last ones.
    let pageHash: ReadOptions['pageHash'];
    if (cursor === undefined && orderHint.get(c) !== 'unsorted') {
      pageSummaries.set(c, []);
      const salt = pageHashSalt(codec.version, c);
      if (startOffset > 0) resumedReads.add(c);
      const known = state.mode === 'sorted' ? await store.pageSummaries.load(connectionId, c) : undefined;
      pageHash = known !== undefined && known.size > 0 ? { salt, known: (h) => known.get(h) } : { salt };
    }
    const readOptions = {
      filter,
      eager,
      ...(pageHash !== undefined ? { pageHash } : {}),
      // PostgreSQL writes in the server: prepare the next page while it does (see page-source.ts).
      ahead: store.dialect === 'postgres',
      ...(eager && cross !== undefined ? { cross } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(startOffset > 0 ? { startOffset } : {}),
    };
    const it = source.pages(c, readOptions)[Symbol.asyncIterator]();
    let pending = step(it);
    const progress = (done: boolean): void => {
      if (!options.onProgress) return;
      const p: SyncProgress = { collection: c, pages: counts.pages, records: counts.fetched, bytes: counts.bytes, done };
      if (counts.total !== undefined) p.total = counts.total;
      options.onProgress(p);
    };
    try {
      for (;;) {
        const tw = performance.now();
        const prep0 = source.prepMs;
        const s = await pending;
        // Waiting includes preparing the page when it arrived during the wait (counted in `normalize`).
        timings.readWait += performance.now() - tw - (source.prepMs - prep0);
        if (!s.ok) throw new CollectionReadError(s.err);
        if (s.r.done) break;
        const next = s.r.value;
        pending = step(it); // prefetch: the next request runs while this page is processed
        // Taking a page prepares it in slices; between them the event loop receives the next
        // page (page-source.ts). That time is waiting for the provider too.
        const tt = performance.now();
        const prepTake = source.prepMs;
        const page = await next.take();
        timings.readWait += performance.now() - tt - (source.prepMs - prepTake);
        providerStart ??= page.serverDate ?? localStart.toISOString();
        counts.pages++;
        counts.bytes += page.bytes;
        counts.fetched += page.count;
        if (page.total !== undefined) counts.total = page.total;
        ep.requests += page.requests;
        ep.bytes += page.bytes;
        await stagePage(c, stager, page, counts, state, cur, firstSeq);
        progress(false);
        const tb = performance.now();
        await heartbeat();
        timings.bookkeeping += performance.now() - tb;
        if (options.release?.aborted) throw new RunReleased();
      }
    } catch (err) {
      // Stop the reader (and its prefetched request) before surfacing the failure.
      await Promise.resolve(it.return?.()).catch(() => undefined);
      if (!(err instanceof OrderBroken)) progress(true);
      throw err;
    }
    progress(true);
  };

  /** Reads a collection completely into staging and returns how absence is to be decided. */
  const pullCollection = async (c: CollectionName, counts: EntityCounts, cp?: Checkpoint): Promise<{ liveEmpty: boolean; absence: AbsenceRule }> => {
    const stager = await store.staging.open({ runId, tenantId: connection.tenantId, connectionId, collection: c });
    const firstSeq = cp?.firstSeq ?? issueSeq;
    let cur = cp ? cp.cur : emptyIssueSummary();
    const full = cursorOf(c) === undefined;
    if (full) fullReads.add(c);
    // A delta returns a few changed records: point lookups, no absence.
    const sorted = full && !stager.liveEmpty && orderHint.get(c) !== 'unsorted';
    let state: ReadState = cp ? cp.state : { mode: sorted ? 'sorted' : 'general', lastId: undefined, monotonic: true };
    // The target sets are built on the first page that has a record to check: a re-sync of
    // unchanged data reads no record, so it never builds them (~100k+ ids per set at large).
    cross = undefined;
    crossFor = codec.references ? c : undefined;
    // Early inserts: a fresh collection read from its start (what a killed process inserted early
    // was rolled back with it, so a resumed read's earlier pages are not in).
    earlyFor = early !== undefined && stager.liveEmpty && cp === undefined ? c : undefined;
    if (cp) {
      Object.assign(counts, cp.counts);
      log?.info(cp.done ? 'resumed run: collection already staged' : 'resumed run: continuing the collection', { runId, collection: c, offset: cp.offset });
    }
    try {
      try {
        if (!cp?.done) await readOnce(c, stager, counts, state, cur, firstSeq);
      } catch (err) {
        if (!(err instanceof OrderBroken)) throw err;
        // The provider does not page in sourcedId order: start over in general mode.
        log?.info('collection not in sourcedId order; re-reading it in general mode', { runId, connectionId, collection: c });
        await store.staging.discard(runId, c);
        await store.issues.deleteFrom(runId, firstSeq);
        issueSeq = firstSeq;
        cur = emptyIssueSummary();
        Object.assign(counts, emptyCounts());
        state = { mode: 'general', lastId: undefined, monotonic: false };
        await readOnce(c, stager, counts, state, cur, firstSeq);
      }
      // Read to its end: a resumed run skips this collection.
      if (!cp?.done) await store.staging.checkpoint(runId, c, checkpointJson(c, { done: true, counts, state, cur, issueSeq, firstSeq, full }));
    } finally {
      mergeIssues(issues, cur);
      if (full) counts.order = state.monotonic ? 'sorted' : 'unsorted';
    }
    // A fresh collection (the connection had no live row of it; one run per connection, so it still
    // has none) has nothing to find absent: no scan, which on PostgreSQL would walk the run's own
    // uncommitted early inserts.
    const absence: AbsenceRule =
      !full || stager.liveEmpty ? { kind: 'none' } : state.mode === 'sorted' ? { kind: 'ranges', after: state.lastId } : { kind: 'anti-join' };
    return { liveEmpty: stager.liveEmpty, absence };
  };

  /** Page summaries of the applied full reads, for the next run (a failure only costs that run time). */
  const saveSummaries = async (): Promise<void> => {
    for (const [c, list] of pageSummaries) {
      if (entities[c]?.outcome !== 'applied') continue;
      try {
        await store.pageSummaries.save(connectionId, c, runId, list, !resumedReads.has(c));
      } catch (err) {
        log?.warn('page summaries not saved', { runId, connectionId, collection: c, code: errorCode(err) });
      }
    }
  };

  try {
    for (const c of collections) {
      const counts = emptyCounts();
      entities[c] = counts;
      if (aborted || options.signal?.aborted) {
        aborted = true;
        continue; // stays `skipped`
      }
      try {
        const { liveEmpty, absence } = await pullCollection(c, counts, resumeFrom?.get(c));
        if (collectionVerdict({ fetched: counts.fetched, liveEmpty }, policy) === 'keep') {
          counts.outcome = 'kept';
          counts.error = { code: 'empty_collection', message: `${c} came back empty while the store holds rows for it; kept the last-known-good rows` };
          firstError ??= counts.error;
          await store.staging.discard(runId, c);
          log?.warn('empty collection kept', { runId, connectionId, collection: c });
        } else {
          counts.outcome = 'applied'; // provisional until the apply commits
          // Full mode: every applied collection was read completely, so absence applies.
          const writes = counts.created + counts.updated + counts.restored + counts.deleted - counts.deletedByAbsence;
          toApply.set(c, { absence, writes, ...(liveEmpty ? { fresh: true } : {}), ...(counts.refreshed ? { refreshes: counts.refreshed } : {}) });
        }
      } catch (err) {
        if (!(err instanceof CollectionReadError)) throw err;
        counts.outcome = 'failed';
        counts.error = { code: err.code, message: err.message };
        firstError ??= counts.error;
        await early?.discard(c);
        await store.staging.discard(runId, c);
        if (options.signal?.aborted) aborted = true;
        log?.warn('collection read failed; keeping last-known-good rows', { runId, connectionId, collection: c, code: err.code });
      }
    }

    // References within a collection (session parents, students' agents), now that all is staged.
    cross = undefined;
    crossFor = undefined;
    if (codec.references && !aborted && [...toApply.keys()].some(selfReferencing)) {
      const tr = performance.now();
      const refs = await checkStagedReferences({
        staging: store.staging,
        runId,
        connectionId,
        applied: toApply,
        ingested,
        sets: refSets,
        canonicalJson: (v) => codec.canonicalJson(v),
        report: async (c, found) => {
          const cur = emptyIssueSummary();
          const keep = countIssues(found, cur);
          mergeIssues(issues, cur);
          await storeIssues(keep);
        },
      });
      for (const [c, d] of refs.dropped) {
        const counts = entities[c]!;
        counts.created -= d.created;
        counts.updated -= d.updated;
        counts.restored -= d.restored;
        counts.invalid += d.created + d.updated + d.restored;
        const ap = toApply.get(c);
        if (ap) ap.writes -= d.created + d.updated + d.restored;
      }
      for (const [c, { n }] of refs.unchangedAfterRewrite) {
        const counts = entities[c]!;
        counts.updated -= n;
        counts.unchanged += n;
      }
      // Rows that went in early follow their staged rows.
      for (const c of refs.touched) await early?.reconcile(c);
      timings.references += performance.now() - tr;
    }

    let status: RunResult['status'];
    const reasons: HoldReason[] = [];
    if (aborted) {
      // An aborted run applies nothing: the admin stopped it, so leave the store as it was.
      for (const c of toApply.keys()) entities[c]!.outcome = 'skipped';
      toApply.clear();
      status = 'failed';
      firstError = { code: 'aborted', message: 'the run was aborted before it finished; nothing was applied' };
    } else {
      const outcomes = collections.map((c) => entities[c]!.outcome);
      status = outcomes.every((o) => o === 'applied') ? 'succeeded' : toApply.size > 0 ? 'partial' : 'failed';
      // Safeguards: what the run would delete and update, against the thresholds (issue 4).
      const tp = performance.now();
      for (const [c, ap] of toApply) {
        const counts = entities[c]!;
        const ctx = { runId, connectionId };
        const absent = await store.staging.absentCount(ctx, c, ap.absence);
        counts.deletedByAbsence = absent; // planned; the apply confirms it
        let deletes = counts.deleted + absent;
        let updates = counts.updated;
        const approval = options.approval;
        if (approval && (approval.deletes.has(c) || approval.updates.has(c))) {
          // Approved changes do not count again; anything beyond them does ("capped at what was approved").
          const ids = await store.staging.plannedIds(ctx, c, ap.absence);
          const okDel = approval.deletes.get(c);
          const okUpd = approval.updates.get(c);
          deletes = ids.deletes.filter((id) => !okDel?.has(id)).length;
          updates = ids.updates.filter((id) => !okUpd?.has(id)).length;
        }
        const t = thresholdsFor(policy, c) ?? NO_THRESHOLDS;
        const emptyFullRead = policy.emptyCollection === 'hold' && fullReads.has(c) && counts.fetched === 0;
        // Both a count and a percentage must be crossed: below the counts the live total is not needed.
        if (!emptyFullRead && deletes <= t.deleteCount && updates <= t.updateCount) continue;
        const live = await store.staging.liveCount(connectionId, c);
        reasons.push(...holdReasons(c, { live, deletes, updates, emptyFullRead, emptyApproved: approval?.emptied.has(c) ?? false }, t));
      }
      timings.plan = performance.now() - tp;
      if (reasons.length > 0) {
        status = 'held';
        log?.warn('run held by the safeguards', { runId, connectionId, reasons: reasons.map((r) => `${r.entity}:${r.rule}:${r.planned}`) });
      }
    }
    const sdsStatus = sdsRunStatus({ status, issues });
    const nextCursor = new Date(Date.parse(providerStart ?? localStart.toISOString()) - overlapMs).toISOString();
    let advanced = false;

    const ta = performance.now();
    const applyCtx = { runId, tenantId: connection.tenantId, connectionId, now: new Date() };
    const outcomeBase = () => ({
      status,
      entities,
      requests: perEndpoint,
      issues,
      sdsStatus,
      ...(reasons.length > 0 ? { hold: reasons } : {}),
      ...(firstError ? { error: firstError } : {}),
    });
    if (!aborted && (dryRun || status === 'held')) {
      // Keep the plan for review (`changes` rows with applied = 0); touch nothing live.
      await early?.abandon();
      await store.staging.recordPlan(applyCtx, toApply);
      for (const c of toApply.keys()) {
        const counts = entities[c]!;
        counts.outcome = dryRun ? 'planned' : 'held';
        counts.deleted += counts.deletedByAbsence;
      }
      await store.runs.finish(runId, outcomeBase(), undefined, undefined, leaseOwner);
    } else {
      // Early inserts are committed by the apply, or dropped (an aborted run applies nothing; a
      // collection not applied must leave nothing behind), and then the apply inserts every row.
      let within: ControlledTransaction<Database> | undefined;
      if (early !== undefined) {
        const settled = aborted ? undefined : await early.settle();
        if (early.failure !== undefined) log?.warn('early inserts stopped; the apply writes every row', { runId, connectionId, code: errorCode(early.failure) });
        if (settled !== undefined && [...settled.collections].every((c) => toApply.has(c))) {
          within = settled.trx;
          for (const c of settled.collections) toApply.set(c, { ...toApply.get(c)!, early: true });
        } else {
          await early.abandon();
        }
      }
      await store.staging.apply(applyCtx, toApply, async (trx, applied) => {
        const advance = new Map<CollectionName, string>();
        for (const c of toApply.keys()) {
          const counts = entities[c]!;
          const n = applied[c]?.deletedByAbsence ?? 0;
          counts.deletedByAbsence = n;
          counts.deleted += n;
          if (counts.outcome === 'applied') advance.set(c, nextCursor);
        }
        // The cursor moves with the applied data, in the same transaction, never ahead of it.
        await store.cursors.set(connectionId, runId, advance, trx);
        advanced = advance.size > 0;
        await store.runs.finish(runId, outcomeBase(), trx, undefined, leaseOwner);
      }, within ? { within } : {});
    }
    timings.apply = performance.now() - ta;
    timings.early = early?.ms ?? 0;
    const tc = performance.now();
    if (!dryRun && status !== 'held') await saveSummaries();
    await store.staging.discard(runId);
    keepStaging = true; // emptied: nothing left for the `finally`
    timings.cleanup = performance.now() - tc;
    for (const k of Object.keys(timings) as Array<keyof RunTimings>) timings[k] = Math.round(timings[k]);
    const result: RunResult = {
      runId,
      resumes: run.resumes,
      status,
      mode,
      dryRun,
      sdsStatus,
      entities,
      requests: { perEndpoint },
      issues,
      durationMs: Math.round(performance.now() - started),
      timings,
    };
    if (reasons.length > 0) result.hold = reasons;
    if (runCursor !== undefined) result.cursor = runCursor;
    if (advanced) result.nextCursor = nextCursor;
    if (firstError) result.error = firstError;
    log?.info('sync finished', { runId, connectionId, status, durationMs: result.durationMs });
    return result;
  } catch (err) {
    if (err instanceof RunReleased) {
      // Keep the staged pages: the next run of this connection resumes from them.
      keepStaging = true;
      const error: RunError = { code: 'released', message: 'the process released the run at shutdown; its staged pages are kept and the next run resumes it' };
      await store.runs.finish(runId, { status: 'failed', entities, requests: perEndpoint, issues, error }, undefined, undefined, leaseOwner);
      log?.info('run released at shutdown', { runId, connectionId });
      for (const k of Object.keys(timings) as Array<keyof RunTimings>) timings[k] = Math.round(timings[k]);
      return {
        runId,
        resumes: run.resumes,
        status: 'failed',
        mode,
        dryRun,
        sdsStatus: 'failed',
        entities,
        requests: { perEndpoint },
        issues,
        durationMs: Math.round(performance.now() - started),
        timings,
        error,
      };
    }
    // Another process took the run over (our lease expired while we were cut off): its staged
    // pages and its run row are not ours to touch any more.
    if (isStoreError(err, 'run_not_running')) {
      keepStaging = true;
      throw err;
    }
    // Unexpected failure (store, bug): the apply transaction (if begun) rolled back; record why.
    const code = (err as { code?: unknown } | null)?.code;
    const error: RunError = {
      code: typeof code === 'string' ? code : 'internal_error',
      message: err instanceof Error ? err.message : String(err),
    };
    for (const c of collections) {
      const counts = entities[c];
      if (counts && counts.outcome === 'applied') counts.outcome = 'skipped';
    }
    await store.runs
      .finish(runId, { status: 'failed', entities, requests: perEndpoint, issues, error }, undefined, undefined, leaseOwner)
      .catch(() => undefined); // the original error matters more
    throw err;
  } finally {
    await early?.abandon(); // after a commit: nothing to do
    if (!keepStaging) await store.staging.discard(runId).catch(() => undefined);
  }
}

/** A collection without references into others: nothing to check while staging. */
const NO_CROSS: CrossCheck = { targets: new Set(), has: () => true };

/** Holds off: only the empty-collection rule can hold. */
const NO_THRESHOLDS = { deletePercent: Infinity, deleteCount: Infinity, updatePercent: Infinity, updateCount: Infinity };

function duplicateIssue(c: CollectionName, sourcedId: string): DataIssue {
  return {
    severity: 'error',
    rule: 'duplicate-sourced-id',
    entity: c,
    sourcedId,
    field: 'sourcedId',
    message: `sourcedId appears more than once in ${c} in this run; the first record was kept and this one dropped`,
  };
}

export type { CollectionOutcome };
