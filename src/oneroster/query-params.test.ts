import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectionQuery, parseSingleQuery, QueryParamError, type RawQuery } from './query-params.ts';
import { readStatusInfo, statusInfoSet } from './imsx.ts';

const opts = { collection: 'users' as const, defaultLimit: 100, maxLimit: 5000 };

function rejects(query: RawQuery, codeMinor: string, param: string, message?: RegExp): QueryParamError {
  try {
    parseCollectionQuery(query, opts);
  } catch (e) {
    assert.ok(e instanceof QueryParamError, `expected QueryParamError, got ${String(e)}`);
    assert.equal(e.codeMinor, codeMinor);
    assert.equal(e.param, param);
    assert.equal(e.httpStatus, 400);
    assert.match(e.message, new RegExp(param));
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(query)} to be rejected`);
}

describe('parseCollectionQuery', () => {
  it('applies defaults', () => {
    assert.deepEqual(parseCollectionQuery({}, opts), { limit: 100, offset: 0, orderBy: 'asc', warnings: [] });
    assert.equal(parseCollectionQuery({}, { collection: 'users', maxLimit: 5000 }).limit, 100);
    assert.equal(parseCollectionQuery({}, { ...opts, defaultLimit: 250 }).limit, 250);
  });

  it('parses a full query', () => {
    const q = parseCollectionQuery(
      {
        limit: '50', offset: '0100', sort: 'familyName', orderBy: 'DESC', fields: 'sourcedId, givenName,givenName',
        filter: "role='student' AND orgs.sourcedId='o1'", access_token: 'ignored',
      },
      opts,
    );
    assert.equal(q.limit, 50);
    assert.equal(q.offset, 100);
    assert.equal(q.sort, 'familyName');
    assert.equal(q.orderBy, 'desc');
    assert.deepEqual(q.fields, ['sourcedId', 'givenName']);
    assert.equal(q.filterText, "role='student' AND orgs.sourcedId='o1'");
    assert.equal(q.filter?.kind, 'logical');
    assert.deepEqual(q.warnings, []);
  });

  it('clamps limits over the maximum instead of rejecting', () => {
    assert.equal(parseCollectionQuery({ limit: '10000' }, opts).limit, 5000);
    assert.equal(parseCollectionQuery({ limit: '99999999999' }, opts).limit, 5000);
    assert.equal(parseCollectionQuery({}, { ...opts, defaultLimit: 100, maxLimit: 10 }).limit, 10);
  });

  const badNumbers = ['-1', '1.5', '1e3', '', ' 5', '5 ', '+5', '0x10', 'ten', '١٢'];
  for (const v of badNumbers) {
    it(`rejects limit=${JSON.stringify(v)} and offset=${JSON.stringify(v)}`, () => {
      rejects({ limit: v }, 'invaliddata', 'limit');
      rejects({ offset: v }, 'invaliddata', 'offset');
    });
  }

  it('rejects limit=0 and accepts offset=0', () => {
    rejects({ limit: '0' }, 'invaliddata', 'limit', /at least 1/);
    assert.equal(parseCollectionQuery({ offset: '0' }, opts).offset, 0);
  });

  it('rejects offsets beyond safe integers', () => {
    rejects({ offset: '99999999999999999999' }, 'invaliddata', 'offset', /too large/);
  });

  it('rejects repeated single-valued parameters', () => {
    rejects({ limit: ['10', '20'] }, 'invaliddata', 'limit', /only once/);
    rejects({ offset: ['0', '0'] }, 'invaliddata', 'offset', /only once/);
    rejects({ filter: ["status='active'", "role='x'"] }, 'invaliddata', 'filter', /only once/);
    rejects({ sort: ['a', 'b'] }, 'invaliddata', 'sort');
    rejects({ orderBy: ['asc', 'desc'] }, 'invaliddata', 'orderBy');
    assert.equal(parseCollectionQuery({ limit: ['10'] }, opts).limit, 10);
  });

  it('rejects a bad orderBy', () => {
    rejects({ orderBy: 'up' }, 'invaliddata', 'orderBy');
    rejects({ orderBy: 'acs' }, 'invaliddata', 'orderBy');
  });

  it('warns and falls back to default order for an unknown sort field', () => {
    const q = parseCollectionQuery({ sort: 'shoeSize' }, opts);
    assert.equal(q.sort, undefined);
    assert.equal(q.warnings.length, 1);
    const s = readStatusInfo(statusInfoSet(q.warnings));
    assert.deepEqual(s, {
      codeMajor: 'success',
      severity: 'warning',
      codeMinor: 'invalid_sort_field',
      description: 'Unknown sort field: shoeSize; data is returned in the default order',
    });
  });

  it('accepts dotted sort paths it knows', () => {
    assert.equal(parseCollectionQuery({ sort: 'orgs.sourcedId' }, opts).sort, 'orgs.sourcedId');
  });

  it('rejects blank fields with invalid_blank_selection_field', () => {
    rejects({ fields: '' }, 'invalid_blank_selection_field', 'fields');
    rejects({ fields: ' , ' }, 'invalid_blank_selection_field', 'fields');
  });

  it('returns all fields with a warning for an unknown selection field', () => {
    const q = parseCollectionQuery({ fields: 'sourcedId,shoeSize' }, opts);
    assert.equal(q.fields, undefined);
    assert.equal(q.warnings[0]?.imsx_codeMinor.imsx_codeMinorField[0]?.imsx_codeMinorFieldValue, 'invalid_selection_field');
    assert.match(q.warnings[0]?.imsx_description ?? '', /shoeSize/);
    // nested paths are not selection fields (§2.2: top-level names only)
    assert.equal(parseCollectionQuery({ fields: 'orgs.sourcedId' }, opts).fields, undefined);
  });

  it('merges repeated fields parameters (OAS style: form, explode)', () => {
    assert.deepEqual(parseCollectionQuery({ fields: ['sourcedId', 'role,email'] }, opts).fields, ['sourcedId', 'role', 'email']);
  });

  it('rejects malformed filters with invaliddata and the position', () => {
    const e = rejects({ filter: 'status=active' }, 'invaliddata', 'filter', /position 8/);
    assert.ok(e.cause instanceof Error);
    rejects({ filter: 'status=\u2019active\u2019' }, 'invaliddata', 'filter');
    rejects({ filter: "dateLastModified>'last week'" }, 'invaliddata', 'filter', /ISO 8601/);
  });

  it('rejects unknown filter fields with invalid_filter_field', () => {
    const e = rejects({ filter: "status='active' AND shoeSize='9'" }, 'invalid_filter_field', 'filter', /shoeSize/);
    assert.equal(e.field, 'shoeSize');
    // a field of another collection is unknown here
    rejects({ filter: "class.sourcedId='c1'" }, 'invalid_filter_field', 'filter');
  });

  it('treats a blank filter as no filter', () => {
    assert.equal(parseCollectionQuery({ filter: '  ' }, opts).filter, undefined);
  });

  it('validates per collection', () => {
    const q = parseCollectionQuery({ filter: "class.sourcedId='c1'", sort: 'role' }, { ...opts, collection: 'enrollments' });
    assert.equal(q.sort, 'role');
    assert.ok(q.filter);
  });
});

describe('parseSingleQuery', () => {
  it('parses fields only', () => {
    assert.deepEqual(parseSingleQuery({ fields: 'sourcedId,name', limit: 'x' }, { collection: 'orgs' }), {
      fields: ['sourcedId', 'name'],
      warnings: [],
    });
    assert.deepEqual(parseSingleQuery({}, { collection: 'orgs' }), { warnings: [] });
  });
  it('warns on unknown fields and rejects blank ones', () => {
    const r = parseSingleQuery({ fields: 'nope' }, { collection: 'orgs' });
    assert.equal(r.fields, undefined);
    assert.equal(r.warnings.length, 1);
    assert.throws(() => parseSingleQuery({ fields: '' }, { collection: 'orgs' }), (e: unknown) =>
      e instanceof QueryParamError && e.codeMinor === 'invalid_blank_selection_field');
  });
});
