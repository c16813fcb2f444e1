/** Messages between `prep-pool.ts` (the sync's thread) and `prep-worker.ts` (a worker thread). */
import type { SourceErrorCode } from '../source/errors.ts';
import type { CollectionName } from '../oneroster/types.ts';
import type { PreparedBodyParts } from './page-prep.ts';
import type { CodecCounters, CodecRecipe } from './record-codec.ts';

/** How a worker prepares one collection read's pages. */
export interface ReadSetup {
  collection: CollectionName;
  codec: CodecRecipe;
  eager: boolean;
  /** Eager reads with reference checks: per target collection, the ids that will exist. */
  cross?: Array<[CollectionName, string[]]>;
}

export type PrepRequest =
  | { type: 'read'; readId: number; setup: ReadSetup }
  | { type: 'end'; readId: number }
  | { type: 'parse'; reqId: number; readId: number; raw: Uint8Array; status: number; headers: Record<string, string>; label: string };

export type PrepError =
  | { kind: 'source'; code: SourceErrorCode; message: string; status?: number; path?: string }
  | { kind: 'error'; message: string; stack?: string };

export type PrepReply =
  | ({
      reqId: number;
      ok: true;
      /** What the worker's codec counted for this page (added into the sync's codec). */
      counters?: CodecCounters;
    } & PreparedBodyParts)
  | { reqId: number; ok: false; error: PrepError };
