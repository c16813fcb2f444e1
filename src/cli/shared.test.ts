import { strict as assert } from 'node:assert';
import { afterEach, describe, it } from 'node:test';
import { storeLabel } from '../store/store.ts';
import { dbPath, DEFAULT_DB } from './shared.ts';

const VARS = ['ROSTERSYNC_DATABASE_URL', 'ROSTERSYNC_DB'] as const;
const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));

describe('dbPath', () => {
  afterEach(() => {
    for (const v of VARS) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
  });

  it('takes --db, then ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then the default file', () => {
    for (const v of VARS) delete process.env[v];
    assert.equal(dbPath(undefined), DEFAULT_DB);
    process.env.ROSTERSYNC_DB = '/data/r.db';
    assert.equal(dbPath(undefined), '/data/r.db');
    process.env.ROSTERSYNC_DATABASE_URL = 'postgres://rs@db.internal:5432/rostersync';
    assert.equal(dbPath(undefined), 'postgres://rs@db.internal:5432/rostersync');
    assert.equal(dbPath('./local.db'), './local.db', '--db wins');
    process.env.ROSTERSYNC_DATABASE_URL = '';
    assert.equal(dbPath(undefined), '/data/r.db', 'an empty variable counts as unset');
  });
});

describe('storeLabel', () => {
  it('drops the password and query of a PostgreSQL URL, keeps SQLite paths', () => {
    assert.equal(storeLabel('postgres://rs:hunter2@db.internal:5433/rostersync?sslmode=require&password=x'), 'postgres://rs@db.internal:5433/rostersync');
    assert.equal(storeLabel('postgresql://db.internal/rostersync'), 'postgresql://db.internal/rostersync');
    assert.equal(storeLabel('./rostersync.db'), './rostersync.db');
  });
});
