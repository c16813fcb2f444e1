/** Test support: staged `users` rows, for the store tests that stage and apply by hand. */
import type { AnyEntity } from '../oneroster/types.ts';
import { recordValues } from './entity-columns.ts';
import { StageOp } from './schema.ts';
import type { StageRow } from './staging.ts';

/** A users record with the fields the stage columns read. */
export function user(id: string, extra: Record<string, unknown> = {}): AnyEntity {
  return {
    sourcedId: id,
    status: 'active',
    dateLastModified: '2026-01-01T00:00:00.000Z',
    role: 'student',
    email: `${id}@example.org`,
    username: id,
    enabledUser: true,
    ...extra,
  } as unknown as AnyEntity;
}

/** A create row for `id` (data derived from the record). */
export function create(id: string, extra: Record<string, unknown> = {}, more: Partial<StageRow> = {}): StageRow {
  const record = user(id, extra);
  const data = JSON.stringify(record);
  return { sourcedId: id, op: StageOp.create, hash: `h-${id}`, status: record.status, values: recordValues('users', record), data, fp: `fp-${id}`, ...more };
}
