/**
 * The console's data browser: search the live records of one connection (users, classes,
 * enrollments and the other collections), a user's page (their classes, contacts or students,
 * flags, demographics and change history) and a class's page (its roster).
 *
 * These answer a tenant's own roster data to that tenant's accounts (as `GET /changes` does), so
 * every route first resolves the connection through `visible` (another tenant's connection is a
 * 404). Records are returned as stored (normalised), never the provider's raw copy, and never a
 * user's `password` field (OneRoster 1.1 §4.13 allows one; it is no business of a console).
 *
 * Search is a case-insensitive substring match of every word of `q` against a few fields per
 * collection (sourcedId, names, email, codes): a sequential scan of one connection's rows (no
 * index helps a substring match), meant for an admin typing into a search box; it has not been
 * measured at `large`. Paging is keyset on sourcedId (`after`), as `RecordRepository.list`.
 */
import type { FastifyInstance } from 'fastify';
import { sql, type RawBuilder } from 'kysely';
import Type, { type Static } from 'typebox';
import { COLLECTIONS, type CollectionName } from '../../oneroster/types.ts';
import { toChangeEvent } from '../../services/change-feed.ts';
import { CONTACT_ROLES } from '../../sds/contacts.ts';
import { USER_FLAGS_KEY, parseUserFlags } from '../../sds/user-flags.ts';
import type { Connection as StoredConnection } from '../../store/connection-repository.ts';
import { toLive, type LiveRecord, type LiveRow } from '../../store/record-repository.ts';
import { liveTable } from '../../store/schema.ts';
import type { Store } from '../../store/store.ts';
import { AdminError } from './admin-errors.ts';
import { visibleConnection, type Principal } from './auth.ts';
import type { AdminContext } from './context.ts';
import { ChangeEvent, errors } from './schemas.ts';

const ConnParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const EntityParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }), entity: Type.Union(COLLECTIONS.map((c) => Type.Literal(c))) });
const RecordParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }), sourcedId: Type.String({ minLength: 1, maxLength: 1000 }) });
const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200, description: 'words matched (case-insensitive substrings) against sourcedId, names, email, codes' })),
  role: Type.Optional(Type.String({ maxLength: 50, description: 'users and enrollments: this role only' })),
  user: Type.Optional(Type.String({ maxLength: 1000, description: 'enrollments: of this user' })),
  class: Type.Optional(Type.String({ maxLength: 1000, description: 'enrollments: of this class' })),
  school: Type.Optional(Type.String({ maxLength: 1000, description: 'classes and enrollments: of this school' })),
  deleted: Type.Optional(Type.Boolean({ description: 'include tombstones (records deleted by a sync)' })),
  after: Type.Optional(Type.String({ maxLength: 1000, description: 'the last sourcedId of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
});
const LiveRow = Type.Object(
  {
    sourcedId: Type.String(),
    status: Type.String(),
    record: Type.Record(Type.String(), Type.Unknown()),
    firstSeenRun: Type.Integer(),
    updatedRun: Type.Integer(),
    deletedAt: Type.Optional(Type.String()),
    deletedRun: Type.Optional(Type.Integer()),
  },
  { additionalProperties: true },
);
const Names = Type.Record(Type.String(), Type.String(), { description: 'display names of the users, classes and orgs the rows refer to, by sourcedId' });
const SearchResult = Type.Object({ entity: Type.String(), records: Type.Array(LiveRow), names: Names, next: Type.Optional(Type.String({ description: 'pass as after= for the next page' })) });
const UserPage = Type.Object(
  {
    user: LiveRow,
    flags: Type.Array(Type.String()),
    enrollments: Type.Array(Type.Object({ enrollment: LiveRow, class: Type.Optional(LiveRow) }, { additionalProperties: true })),
    contacts: Type.Array(LiveRow, { description: 'a student\'s contacts (their agents)' }),
    students: Type.Array(LiveRow, { description: 'a contact\'s students (the users naming them as agent)' }),
    demographics: Type.Optional(LiveRow),
    names: Names,
    changes: Type.Array(ChangeEvent),
  },
  { additionalProperties: true },
);
const ClassPage = Type.Object(
  { class: LiveRow, enrollments: Type.Array(Type.Object({ enrollment: LiveRow, user: Type.Optional(LiveRow) }, { additionalProperties: true })), names: Names, changes: Type.Array(ChangeEvent) },
  { additionalProperties: true },
);

/** Record fields each collection is searched on (besides sourcedId). */
const SEARCH_FIELDS: Record<CollectionName, readonly string[]> = {
  academicSessions: ['title', 'schoolYear'],
  orgs: ['name', 'identifier'],
  courses: ['title', 'courseCode'],
  classes: ['title', 'classCode'],
  users: ['givenName', 'familyName', 'username', 'email', 'identifier'],
  enrollments: [],
  demographics: [],
};

/** The live-table columns the console reads (never `raw`). */
const COLUMNS = ['sourced_id', 'status', 'data', 'content_hash', 'first_seen_run', 'updated_run', 'row_version', 'deleted_at', 'deleted_run'] as const;

/** Rows of a class roster or a user's classes on one page (the console shows them all). */
const MAX_RELATED = 2000;

type Loose = Record<string, unknown>;

/** A live row for the console: never the raw provider copy, never a password. */
function view(r: LiveRecord): Static<typeof LiveRow> {
  const record = { ...(r.record as unknown as Loose) };
  delete record.password;
  return {
    sourcedId: r.sourcedId,
    status: r.status,
    record,
    firstSeenRun: r.firstSeenRun,
    updatedRun: r.updatedRun,
    ...(r.deletedAt !== undefined ? { deletedAt: r.deletedAt } : {}),
    ...(r.deletedRun !== undefined ? { deletedRun: r.deletedRun } : {}),
  };
}

function refId(v: unknown): string | undefined {
  const id = v !== null && typeof v === 'object' ? (v as { sourcedId?: unknown }).sourcedId : undefined;
  return typeof id === 'string' ? id : undefined;
}

function refIds(v: unknown): string[] {
  return Array.isArray(v) ? v.map(refId).filter((x): x is string => x !== undefined) : [];
}

/** What the console shows for a record in a list: a person's name, a class's title, an org's name. */
function displayName(collection: CollectionName, record: Loose): string {
  if (collection === 'users') return [record.givenName, record.familyName].filter((x) => typeof x === 'string' && x !== '').join(' ');
  const v = record.title ?? record.name;
  return typeof v === 'string' ? v : '';
}

/** `text` for LIKE with `\` as the escape character: its wildcards match literally. */
function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** `%word%` (lower-cased) for a case-insensitive LIKE on `lower(…)`. */
function likePattern(word: string): string {
  return `%${likeEscape(word.toLowerCase())}%`;
}

/** Registers the data-browser routes. */
export function dataRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, auth } = ctx;

  const connectionOf = async (p: Principal, id: string): Promise<StoredConnection> =>
    await visibleConnection(store, p, id);

  /** A text field of the stored JSON, as SQL (the `data` column is JSON text in both dialects). */
  const jsonField = (name: string): RawBuilder<string | null> =>
    store.dialect === 'postgres' ? sql<string | null>`(data::jsonb ->> ${sql.lit(name)})` : sql<string | null>`json_extract(data, ${sql.lit(`$.${name}`)})`;

  app.get(
    '/connections/:id/records/:entity',
    {
      schema: {
        tags: ['data'],
        summary: 'Search a connection\'s live records of one collection (the console\'s data browser), in sourcedId order',
        params: EntityParam,
        querystring: SearchQuery,
        response: { 200: SearchResult, ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      const params = request.params as Static<typeof EntityParam>;
      const c = await connectionOf(p, params.id);
      const q = request.query as Static<typeof SearchQuery>;
      const entity = params.entity as CollectionName;
      const limit = q.limit ?? 50;
      const words = (q.q ?? '').trim().split(/\s+/).filter((w) => w !== '').slice(0, 8);
      // Every live table has the LiveCommon columns (typed through live_users); the per-entity
      // ones (role, user_id …) are named with sql.ref below.
      let query = store.db.selectFrom(liveTable(entity) as 'live_users').select(COLUMNS).where('connection_id', '=', c.id);
      if (!q.deleted) query = query.where('deleted_at', 'is', null);
      if (q.after !== undefined) query = query.where('sourced_id', '>', q.after);
      if (q.role !== undefined && (entity === 'users' || entity === 'enrollments')) query = query.where(sql.ref('role'), '=', q.role);
      if (q.user !== undefined && entity === 'enrollments') query = query.where(sql.ref('user_id'), '=', q.user);
      if (q.class !== undefined && entity === 'enrollments') query = query.where(sql.ref('class_id'), '=', q.class);
      if (q.school !== undefined && (entity === 'enrollments' || entity === 'classes')) query = query.where(sql.ref('school_id'), '=', q.school);
      for (const word of words) {
        const pattern = likePattern(word);
        const fields = [sql<string>`sourced_id`, ...SEARCH_FIELDS[entity].map(jsonField)];
        if (entity === 'enrollments') fields.push(sql<string>`user_id`, sql<string>`class_id`);
        query = query.where((eb) => eb.or(fields.map((f) => eb(sql`lower(${f})`, 'like', sql`${pattern} escape '\\'`))));
      }
      const rows = await query.orderBy('sourced_id').limit(limit + 1).execute();
      const records = (rows as LiveRow[]).slice(0, limit).map((r) => toLive(r)).map(view);
      const names = await namesFor(store, c.id, records.map((r) => r.record));
      return { entity, records, names, ...(rows.length > limit ? { next: records[records.length - 1]!.sourcedId } : {}) };
    },
  );

  app.get(
    '/connections/:id/users/:sourcedId',
    {
      schema: {
        tags: ['data'],
        summary: 'A user\'s page: the record, flags, classes (enrollments), contacts or students, demographics and change history',
        params: RecordParam,
        response: { 200: UserPage, ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      const params = request.params as Static<typeof RecordParam>;
      const c = await connectionOf(p, params.id);
      const user = await store.records.get('users', c.id, params.sourcedId);
      if (!user) throw new AdminError('not_found', `user ${params.sourcedId} does not exist in connection ${c.id}`);
      const record = user.record as unknown as Loose;
      const meta = record.metadata as Loose | undefined;
      const flagText = meta?.[USER_FLAGS_KEY];
      const flags = typeof flagText === 'string' ? parseUserFlags(flagText).flags.map(String) : [];

      const enrollmentRows = (await liveWhere(store, 'enrollments', c.id, 'user_id', [user.sourcedId])).slice(0, MAX_RELATED);
      const classes = await byIds(store, 'classes', c.id, enrollmentRows.map((e) => refId((e.record as unknown as Loose).class)));
      // A student's contacts are their agents; a contact's students name them as agent (both ways in OneRoster 1.1 §4.13).
      const agentIds = refIds(record.agents);
      const role = String(record.role ?? '').toLowerCase();
      const linked = (await byIds(store, 'users', c.id, agentIds)).filter((u) => u.deletedAt === undefined || user.deletedAt !== undefined);
      const contacts = CONTACT_ROLES.has(role) ? [] : linked.filter((u) => CONTACT_ROLES.has(String((u.record as unknown as Loose).role ?? '').toLowerCase()));
      // The SDS layer may keep the link on the student's side only: look for students naming this contact.
      const students = CONTACT_ROLES.has(role) ? uniqueById([...linked, ...(await namingAsAgent(store, c.id, user.sourcedId))]) : [];
      const demographics = await store.records.get('demographics', c.id, user.sourcedId);
      const history = await store.changes.list({ connectionId: c.id, entity: 'users', sourcedId: user.sourcedId, order: 'desc', limit: 200 });
      const enrollments = enrollmentRows.map((e) => {
        const cls = classes.find((x) => x.sourcedId === refId((e.record as unknown as Loose).class));
        return { enrollment: view(e), ...(cls ? { class: view(cls) } : {}) };
      });
      const names = await namesFor(store, c.id, [record, ...classes.map((x) => x.record as unknown as Loose)]);
      return {
        user: view(user),
        flags,
        enrollments,
        contacts: contacts.map(view),
        students: students.map(view),
        ...(demographics ? { demographics: view(demographics) } : {}),
        names,
        changes: history.reverse().map(toChangeEvent).map(withoutPassword),
      };
    },
  );

  app.get(
    '/connections/:id/classes/:sourcedId',
    { schema: { tags: ['data'], summary: 'A class\'s page: the record, its roster (enrollments with their users) and change history', params: RecordParam, response: { 200: ClassPage, ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const params = request.params as Static<typeof RecordParam>;
      const c = await connectionOf(p, params.id);
      const cls = await store.records.get('classes', c.id, params.sourcedId);
      if (!cls) throw new AdminError('not_found', `class ${params.sourcedId} does not exist in connection ${c.id}`);
      const rows = (await liveWhere(store, 'enrollments', c.id, 'class_id', [cls.sourcedId])).slice(0, MAX_RELATED);
      const users = await byIds(store, 'users', c.id, rows.map((e) => refId((e.record as unknown as Loose).user)));
      const enrollments = rows.map((e) => {
        const u = users.find((x) => x.sourcedId === refId((e.record as unknown as Loose).user));
        return { enrollment: view(e), ...(u ? { user: view(u) } : {}) };
      });
      const history = await store.changes.list({ connectionId: c.id, entity: 'classes', sourcedId: cls.sourcedId, order: 'desc', limit: 200 });
      return { class: view(cls), enrollments, names: await namesFor(store, c.id, [cls.record as unknown as Loose]), changes: history.reverse().map(toChangeEvent) };
    },
  );
}

// ---- reads of the live tables the repository does not offer (by an indexed column, by many ids) ----

/** Live rows (tombstones included) whose `column` is one of `values`, in sourcedId order. */
async function liveWhere(store: Store, collection: CollectionName, connectionId: string, column: string, values: string[]): Promise<LiveRecord[]> {
  const out: LiveRecord[] = [];
  const unique = [...new Set(values)];
  // Chunks keep the parameter count far below SQLite's and PostgreSQL's limits.
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await store.db
      .selectFrom(liveTable(collection) as 'live_users')
      .select(COLUMNS)
      .where('connection_id', '=', connectionId)
      .where(sql.ref(column), 'in', unique.slice(i, i + 500))
      .orderBy('sourced_id')
      .limit(MAX_RELATED + 1)
      .execute();
    out.push(...(rows as LiveRow[]).map((r) => toLive(r)));
  }
  return out;
}

/** Users (tombstones excluded) whose `agents` name `sourcedId`: a text match narrowed by parsing. */
async function namingAsAgent(store: Store, connectionId: string, sourcedId: string): Promise<LiveRecord[]> {
  const rows = await store.db
    .selectFrom('live_users')
    .select(COLUMNS)
    .where('connection_id', '=', connectionId)
    .where('deleted_at', 'is', null)
    .where(sql`data`, 'like', sql`${`%${likeEscape(JSON.stringify(sourcedId))}%`} escape '\\'`)
    .limit(MAX_RELATED)
    .execute();
  return (rows as LiveRow[]).map((r) => toLive(r)).filter((u) => refIds((u.record as unknown as Loose).agents).includes(sourcedId));
}

function uniqueById(rows: LiveRecord[]): LiveRecord[] {
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.sourcedId) && (seen.add(r.sourcedId), true));
}

/** Live rows by sourcedId, tombstones included, in sourcedId order. */
function byIds(store: Store, collection: CollectionName, connectionId: string, ids: Array<string | undefined>): Promise<LiveRecord[]> {
  return liveWhere(store, collection, connectionId, 'sourced_id', ids.filter((x): x is string => x !== undefined));
}

/** Display names of the users, classes, orgs and sessions `records` refer to. */
async function namesFor(store: Store, connectionId: string, records: Loose[]): Promise<Record<string, string>> {
  const wanted: Partial<Record<CollectionName, Set<string>>> = {};
  const want = (c: CollectionName, id: string | undefined): void => {
    if (id !== undefined) (wanted[c] ??= new Set()).add(id);
  };
  for (const r of records.slice(0, MAX_RELATED)) {
    want('users', refId(r.user));
    want('classes', refId(r.class));
    want('orgs', refId(r.school));
    want('courses', refId(r.course));
    for (const id of refIds(r.orgs)) want('orgs', id);
    for (const id of refIds(r.terms)) want('academicSessions', id);
  }
  const names: Record<string, string> = {};
  for (const [collection, ids] of Object.entries(wanted) as Array<[CollectionName, Set<string>]>) {
    for (const r of await liveWhere(store, collection, connectionId, 'sourced_id', [...ids])) {
      const n = displayName(collection, r.record as unknown as Loose);
      if (n !== '') names[r.sourcedId] = n;
    }
  }
  return names;
}

/** A change event without a `password` field diff (see the file comment). */
function withoutPassword<T extends { fields: unknown }>(e: T): T {
  if (e.fields === null || typeof e.fields !== 'object' || !('password' in e.fields)) return e;
  const fields = { ...(e.fields as Loose) };
  delete fields.password;
  return { ...e, fields };
}
