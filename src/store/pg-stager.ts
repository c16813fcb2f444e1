/**
 * The PostgreSQL hot path of staging (issue 8: "the bulk write path uses what PostgreSQL is fast
 * at … COPY into a staging table and one merge"), doing what `sqlite-bulk-stager.ts` does on
 * SQLite with one statement per page instead of one per row:
 *
 * - a page is staged by a pre-check (which of its ids this run staged already: duplicates) and one
 *   binary `COPY … FROM STDIN` of the other rows, in one transaction with the collection's
 *   checkpoint, `synchronous_commit = off` (scratch rows in UNLOGGED tables: a server crash loses
 *   them anyway). Duplicates within the page are settled here first, keeping the first occurrence
 *   as the SQLite stager does. Should another session stage one of the ids between the pre-check
 *   and the COPY (unique violation), the page is redone with the second path;
 * - the second path, `INSERT … SELECT … FROM ROWS FROM (string_to_table($2, …),
 *   unnest($3::integer[]), …) ON CONFLICT DO NOTHING RETURNING sourced_id`: one parameter per
 *   column, so no 65,535-parameter limit either;
 * - point lookups probe the unique key once per id (see `probe`); range lookups read the covering
 *   `_fp` index in byte order (sourced_id is `COLLATE "C"`, migrations/column-types.ts).
 *
 * Statements go straight through the store's `pg.Pool`, one pooled client per page transaction.
 * Stage tables are created by `StagingArea.ensureTables` before `open` is called.
 *
 * Measured on this 2-core machine, 100,000 records of ~500 bytes in pages of 5,000: COPY 10.6 µs
 * per record wall (about half of it client CPU), INSERT … ROWS FROM ~16 µs, the portable stager's
 * IN-list + 100-row inserts ~70 µs (under load). Server side, COPY takes ~2.2 µs per row against
 * ~6.5 µs for the INSERT. At `large` (1.49M records) staging took 18 s of a first sync's wall time.
 */
import type pg from 'pg';
import type { CollectionName } from '../oneroster/types.ts';
import { ENTITY_COLUMNS } from './entity-columns.ts';
import { liveTable, stageTable } from './schema.ts';
import { CHECKPOINTS, stageColumns, stageValues, type CollectionStager, type KnownRow, type RangeRow, type StageContext, type StageRow, type StagerFactory } from './staging.ts';

/**
 * PostgreSQL type of each stage column, in `stageColumns` order (derived from staging.ts, so a
 * column added there is staged here too): `run_id`, `op` and the integer entity columns are
 * `integer`, everything else is `text`.
 */
function stageTypes(c: CollectionName): ColumnType[] {
  const ints = new Set(['run_id', 'op', ...ENTITY_COLUMNS[c].filter((col) => col.type === 'integer').map((col) => col.name)]);
  return stageColumns(c, true).map((name) => (ints.has(name) ? 'integer' : 'text'));
}

type ColumnType = 'text' | 'integer';
type Value = string | number | null;

const quote = (name: string): string => `"${name}"`;

/** Separator of packed text columns (ASCII RS) and the NULL marker (ASCII US). */
const SEP = '\x1e';
const NULL_MARK = '\x1f';

/**
 * A text column packed as one string for `string_to_table($n, chr(30), chr(31))`: values joined by
 * RS, NULL as a lone US. pg would otherwise send a `text[]` literal it builds by escaping every
 * quote and backslash of every value (the JSON columns are full of them): ~64 µs of client CPU per
 * staged record, mostly garbage collection, against ~7 µs for the whole write this way (same
 * micro-benchmark as above). Undefined when a value
 * contains RS or is a lone US (provider text can hold any character): that column is sent as an
 * array instead.
 */
function packText(values: ReadonlyArray<string | null>): string | undefined {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = NULL_MARK;
    else if (v.includes(SEP) || v === NULL_MARK) return undefined;
    else parts[i] = v;
  }
  return parts.join(SEP);
}

/** An `integer[]` literal (`{1,NULL,3}`); integers need no quoting. */
function intArray(values: ReadonlyArray<number | null>): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    parts[i] = v === null || v === undefined ? 'NULL' : String(Math.trunc(v));
  }
  return `{${parts.join(',')}}`;
}

/** Binary COPY header: signature, flags (0), header extension length (0). */
const COPY_HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);

/**
 * Rows in PostgreSQL's binary COPY format (COPY documentation, "Binary Format"): per row a field
 * count, per field its byte length (-1: NULL) and bytes; `integer` as 4-byte big-endian, `text` as
 * its UTF-8 bytes. Nothing is escaped or parsed as text, unlike the text and CSV formats, whose
 * escaping of the quotes and backslashes in every JSON column would cost what `packText` saves.
 * Rows shorter than `types` (key-only rows) are padded with NULLs.
 */
export function encodeCopyBinary(rows: readonly (readonly Value[])[], types: readonly ColumnType[]): Buffer {
  const n = types.length;
  let size = COPY_HEADER.length + 2;
  for (const row of rows) {
    size += 2;
    for (let k = 0; k < n; k++) {
      const v = row[k];
      if (v === null || v === undefined) size += 4;
      else if (types[k] === 'integer') size += 8;
      else size += 4 + Buffer.byteLength(String(v), 'utf8');
    }
  }
  const buf = Buffer.allocUnsafe(size);
  let at = COPY_HEADER.copy(buf, 0);
  for (const row of rows) {
    at = buf.writeInt16BE(n, at);
    for (let k = 0; k < n; k++) {
      const v = row[k];
      if (v === null || v === undefined) {
        at = buf.writeInt32BE(-1, at);
      } else if (types[k] === 'integer') {
        at = buf.writeInt32BE(4, at);
        at = buf.writeInt32BE(Number(v), at);
      } else {
        const len = buf.write(String(v), at + 4, 'utf8');
        buf.writeInt32BE(len, at);
        at += 4 + len;
      }
    }
  }
  at = buf.writeInt16BE(-1, at); // trailer
  return at === size ? buf : buf.subarray(0, at);
}

/** The protocol calls pg 8's Connection makes for COPY FROM STDIN (untyped in @types/pg). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/**
 * Runs `COPY … FROM STDIN` with `data` as its whole input on `client`: a pg Submittable speaking
 * the copy-in sub-protocol the way pg-copy-streams does (Query → CopyInResponse → CopyData,
 * CopyDone → CommandComplete, ReadyForQuery), without a stream since the page is one buffer.
 * Resolves with the row count; rejects with the server's error (the transaction is then aborted).
 */
function copyIn(client: pg.PoolClient, text: string, data: Buffer): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let rows = 0;
    let settled = false;
    const settle = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve(rows);
    };
    const query = {
      submit(connection: CopyConnection): void {
        connection.query(text);
      },
      handleCopyInResponse(connection: CopyConnection): void {
        connection.sendCopyFromChunk(data);
        connection.endCopyFrom();
      },
      handleCommandComplete(msg: { text?: string }): void {
        const m = /^COPY (\d+)/.exec(msg.text ?? '');
        if (m) rows = Number(m[1]);
      },
      // An error arrives before ReadyForQuery, or alone when the connection is lost.
      handleError(err: Error): void {
        settle(err);
      },
      handleReadyForQuery(): void {
        settle(undefined);
      },
      // Not sent for COPY FROM; present because pg calls whichever handler a message maps to.
      handleRowDescription(): void {},
      handleDataRow(): void {},
      handleEmptyQuery(): void {},
      handleCopyData(): void {},
      handlePortalSuspended(): void {},
    };
    client.query(query as unknown as pg.Submittable);
  });
}

/** Stager factory over the store's pg pool (the one behind Kysely's PostgresDialect). */
export class PgStagerFactory implements StagerFactory {
  readonly #pool: pg.Pool;
  readonly #copy: boolean;

  /**
   * @param options.write `copy` (default): pre-check + binary COPY; `insert`: the INSERT … ON
   *   CONFLICT path only (the fallback, selectable for tests and measurements).
   */
  constructor(pool: pg.Pool, options: { write?: 'copy' | 'insert' } = {}) {
    this.#pool = pool;
    this.#copy = (options.write ?? 'copy') === 'copy';
  }

  async open(ctx: StageContext): Promise<CollectionStager> {
    const pool = this.#pool;
    const useCopy = this.#copy;
    const live = quote(liveTable(ctx.collection));
    const stage = quote(stageTable(ctx.collection));
    const names = stageColumns(ctx.collection, true);
    const types = stageTypes(ctx.collection);
    const head = `insert into ${stage} (${names.map(quote).join(', ')})`;
    const copySql = `copy ${stage} (${names.map(quote).join(', ')}) from stdin with (format binary)`;

    const checkpointSql = `insert into ${quote(CHECKPOINTS)} (run_id, collection, state) values ($1, $2, $3)
      on conflict (run_id, collection) do update set state = excluded.state`;
    // Only columns of the covering `_fp` index (deleted_run is set exactly when deleted_at is).
    const rangeFirst = `select sourced_id, raw_fp, deleted_run is not null from ${live}
      where connection_id = $1 and sourced_id <= $2 order by sourced_id`;
    const rangeNext = `select sourced_id, raw_fp, deleted_run is not null from ${live}
      where connection_id = $1 and sourced_id > $3 and sourced_id <= $2 order by sourced_id`;
    // Id lists are probed one unique-key lookup per id: `u.id` drives a LATERAL subquery the planner
    // cannot flatten, so the plan does not depend on statistics. A plain `sourced_id = any($2)`
    // was planned, on a stage table not analyzed since it filled, as a scan of every row of the
    // run filtering on the list: 160 ms per 5,000-id page at 330,000 staged rows and growing
    // (a `large` first sync staged in 74 s instead of 18 s), against ~7 ms this way.
    const probe = (table: string, key: string, cols: string): string =>
      `select u.id, x.* from unnest($2::text[]) as u(id)
        cross join lateral (select ${cols} from ${table} where ${key} = $1 and sourced_id = u.id limit 1) as x`;
    const stagedSql = probe(stage, 'run_id', '1');
    const lookupSql = probe(live, 'connection_id', 'content_hash, raw_fp, deleted_at is not null');
    const dataSql = probe(live, 'connection_id', 'data');

    /** Stage-column values of the offered rows, in `stageColumns` order (key rows stop early). */
    const valuesOf = (rows: readonly StageRow[], offered: readonly number[]): Value[][] =>
      offered.map((i) => stageValues(ctx.collection, ctx.runId, rows[i]!));

    /** INSERT … SELECT FROM ROWS FROM (…) ON CONFLICT DO NOTHING RETURNING: the ids it inserted. */
    const insertPage = async (client: pg.PoolClient, rows: readonly StageRow[], offered: readonly number[]): Promise<Set<string>> => {
      const byRow = valuesOf(rows, offered);
      const values: unknown[] = [ctx.runId];
      const sources: string[] = [];
      for (let k = 1; k < names.length; k++) {
        const arr = new Array<Value>(byRow.length);
        for (let j = 0; j < byRow.length; j++) arr[j] = byRow[j]![k] ?? null;
        const n = values.length + 1;
        if (types[k] === 'integer') {
          values.push(intArray(arr as Array<number | null>));
          sources.push(`unnest($${n}::integer[])`);
        } else {
          const packed = packText(arr as Array<string | null>);
          values.push(packed ?? arr);
          sources.push(packed === undefined ? `unnest($${n}::text[])` : `string_to_table($${n}, chr(30), chr(31))`);
        }
      }
      const text = `${head}\nselect $1::integer, u.* from rows from (${sources.join(', ')}) as u\non conflict do nothing returning sourced_id`;
      const r = await client.query<[string]>({ text, values, rowMode: 'array' });
      return new Set(r.rows.map((row) => row[0]));
    };
    /** Pre-check of the ids already staged in this run, then one binary COPY of the others. */
    const copyPage = async (client: pg.PoolClient, rows: readonly StageRow[], offered: readonly number[]): Promise<Set<string>> => {
      const ids = offered.map((i) => rows[i]!.sourcedId);
      const dup = await client.query<[string]>({ text: stagedSql, values: [ctx.runId, ids], rowMode: 'array' });
      const already = new Set(dup.rows.map((row) => row[0]));
      const fresh = already.size === 0 ? offered : offered.filter((i) => !already.has(rows[i]!.sourcedId));
      if (fresh.length > 0) await copyIn(client, copySql, encodeCopyBinary(valuesOf(rows, fresh), types));
      return new Set(fresh.map((i) => rows[i]!.sourcedId));
    };

    const any = await pool.query({ text: `select 1 from ${live} where connection_id = $1 limit 1`, values: [ctx.connectionId] });
    return {
      liveEmpty: any.rowCount === 0,

      async lookup(sourcedIds) {
        if (sourcedIds.length === 0) return [];
        const r = await pool.query<[string, string, string | null, boolean]>({ text: lookupSql, values: [ctx.connectionId, sourcedIds], rowMode: 'array' });
        const known = new Map<string, KnownRow>();
        for (const [id, hash, fp, deleted] of r.rows) known.set(id, { hash, fp, deleted });
        return sourcedIds.map((id) => known.get(id));
      },

      async lookupRange(after, through) {
        const q = after === undefined ? { text: rangeFirst, values: [ctx.connectionId, through] } : { text: rangeNext, values: [ctx.connectionId, through, after] };
        const r = await pool.query<[string, string | null, boolean]>({ ...q, rowMode: 'array' });
        return r.rows.map((row): [string, RangeRow] => [row[0], { fp: row[1], deleted: row[2] }]);
      },

      async loadData(sourcedIds) {
        const out = new Map<string, string>();
        if (sourcedIds.length === 0) return out;
        const r = await pool.query<[string, string]>({ text: dataSql, values: [ctx.connectionId, sourcedIds], rowMode: 'array' });
        for (const [id, data] of r.rows) out.set(id, data);
        return out;
      },

      async write(rows, checkpoint) {
        // Duplicates within the page: the first occurrence is the one offered to the table.
        const inserted = new Array<boolean>(rows.length).fill(false);
        const offered: number[] = [];
        const seen = new Set<string>();
        for (let i = 0; i < rows.length; i++) {
          const id = rows[i]!.sourcedId;
          if (seen.has(id)) continue;
          seen.add(id);
          offered.push(i);
        }
        const page = async (client: pg.PoolClient, copy: boolean): Promise<void> => {
          await client.query('begin; set local synchronous_commit = off');
          if (offered.length > 0) {
            const fresh = copy ? await copyPage(client, rows, offered) : await insertPage(client, rows, offered);
            // Every offered id is distinct, so "new" is exactly "inserted by this page".
            for (const i of offered) inserted[i] = fresh.has(rows[i]!.sourcedId);
          }
          if (checkpoint) await client.query({ text: checkpointSql, values: [ctx.runId, ctx.collection, checkpoint(inserted)] });
          await client.query('commit');
        };
        const client = await pool.connect();
        let broken: Error | undefined;
        try {
          const rollback = (): Promise<unknown> =>
            client.query('rollback').catch((e: unknown) => {
              broken = e instanceof Error ? e : new Error(String(e)); // the connection is unusable: do not pool it
            });
          try {
            await page(client, useCopy);
          } catch (err) {
            await rollback();
            // A unique violation under COPY: another session staged one of these ids for this run
            // between the pre-check and the COPY (a zombie of a taken-over run). Redo the page with
            // ON CONFLICT, which decides per row.
            if (!useCopy || broken || (err as { code?: unknown }).code !== '23505') throw err;
            try {
              await page(client, false);
            } catch (again) {
              await rollback();
              throw again;
            }
          }
        } finally {
          client.release(broken);
        }
        return inserted;
      },
    };
  }
}
