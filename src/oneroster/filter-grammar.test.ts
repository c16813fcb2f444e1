import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  FilterError,
  and,
  buildFilter,
  compileFilter,
  contains,
  eq,
  filterFieldPaths,
  ge,
  gt,
  isKnownFieldPath,
  KNOWN_FIELDS,
  lt,
  ne,
  or,
  parseFilter,
  quoteFilterValue,
  type FilterExpr,
} from './filter-grammar.ts';

const anyField = { isKnownField: () => true };
const users = { isKnownField: (p: string) => isKnownFieldPath('users', p) };

function matches(filter: string, record: object, opts = anyField): boolean {
  return compileFilter(parseFilter(filter), opts)(record);
}

function syntaxErr(filter: string): FilterError {
  try {
    parseFilter(filter);
  } catch (e) {
    assert.ok(e instanceof FilterError, `expected FilterError, got ${String(e)}`);
    assert.equal(e.codeMinor, 'invaliddata');
    return e;
  }
  assert.fail(`expected ${JSON.stringify(filter)} to be rejected`);
}

describe('parseFilter', () => {
  it('parses a single predicate for every operator', () => {
    for (const op of ['=', '!=', '>', '>=', '<', '<=', '~'] as const) {
      assert.deepEqual(parseFilter(`status${op}'active'`), { kind: 'predicate', field: 'status', op, value: 'active' });
    }
  });

  it('gives AND tighter binding than OR', () => {
    const e = parseFilter("a='1' OR b='2' AND c='3' OR d='4'");
    assert.deepEqual(e, {
      kind: 'logical',
      op: 'OR',
      clauses: [
        { kind: 'predicate', field: 'a', op: '=', value: '1' },
        {
          kind: 'logical',
          op: 'AND',
          clauses: [
            { kind: 'predicate', field: 'b', op: '=', value: '2' },
            { kind: 'predicate', field: 'c', op: '=', value: '3' },
          ],
        },
        { kind: 'predicate', field: 'd', op: '=', value: '4' },
      ],
    });
  });

  it('flattens a run of ANDs into one node with any number of predicates', () => {
    const e = parseFilter("a='1' AND b='2' AND c='3' AND d='4'");
    assert.equal(e.kind, 'logical');
    assert.equal(e.kind === 'logical' && e.op, 'AND');
    assert.equal(e.kind === 'logical' && e.clauses.length, 4);
  });

  it('accepts any run of whitespace around AND/OR and the operator, and leading/trailing space', () => {
    const e = parseFilter("  role = 'student'   AND\t status='active'  ");
    assert.deepEqual(filterFieldPaths(e), ['role', 'status']);
  });

  it('accepts + as a space between tokens (form encoding) but keeps it inside values', () => {
    const e = parseFilter("role='a+b'+AND+status='active'");
    assert.deepEqual(e, {
      kind: 'logical',
      op: 'AND',
      clauses: [
        { kind: 'predicate', field: 'role', op: '=', value: 'a+b' },
        { kind: 'predicate', field: 'status', op: '=', value: 'active' },
      ],
    });
  });

  it('unescapes doubled quotes and keeps operators and spaces inside values', () => {
    assert.deepEqual(parseFilter("familyName='O''Brien'"), {
      kind: 'predicate', field: 'familyName', op: '=', value: "O'Brien",
    });
    assert.equal((parseFilter("x=''''") as { value: string }).value, "'");
    assert.equal((parseFilter("x=''") as { value: string }).value, '');
    assert.equal((parseFilter("title='A AND B OR c=''d'''") as { value: string }).value, "A AND B OR c='d'");
  });

  it('parses dotted paths', () => {
    assert.equal((parseFilter("orgs.sourcedId='o1'") as { field: string }).field, 'orgs.sourcedId');
  });

  const rejections: Array<[string, number, RegExp]> = [
    ['', 1, /empty/],
    ['   ', 4, /empty/],
    ['status=active', 8, /single quotes/],
    ["status='active", 8, /no closing quote/],
    ['status=\u2019active\u2019', 8, /ASCII single quotes/],
    ['status=\u2018active\u2019', 8, /ASCII single quotes/],
    ['status="active"', 8, /double quote/],
    ["status='active' foo", 17, /expected AND, OR/],
    ["status='active'x", 16, /expected AND, OR/],
    ["status='active' and role='x'", 17, /upper-case \(AND\)/],
    ["status='active' Or role='x'", 17, /upper-case \(OR\)/],
    ["status='active' AND", 20, /ends after AND/],
    ["status='active' AND ", 20, /ends after AND/],
    ["='x'", 1, /expected a field name/],
    ["status'active'", 7, /expected an operator/],
    ['status', 7, /expected an operator.*end of the filter/],
    ['status=', 8, /found the end/],
    ["a..b='x'", 1, /empty segment/],
    ["(status='active')", 1, /expected a field name/],
    ["status=='active'", 8, /single quotes/],
  ];
  for (const [text, position, message] of rejections) {
    it(`rejects ${JSON.stringify(text)} at position ${position}`, () => {
      const e = syntaxErr(text);
      assert.equal(e.position, position);
      assert.match(e.message, message);
      assert.match(e.message, new RegExp(`position ${position}\\b`));
    });
  }

  it('never echoes filter values in syntax errors', () => {
    const e = syntaxErr("email='pupil@school.org' zzz");
    assert.ok(!e.message.includes('pupil@school.org'));
  });
});

describe('compileFilter', () => {
  const user = {
    sourcedId: 'u1',
    status: 'active',
    dateLastModified: '2024-05-01T10:00:00.000Z',
    enabledUser: true,
    givenName: 'Aoife',
    familyName: "O'Brien",
    role: 'student',
    orgs: [
      { sourcedId: 'o1', type: 'org' },
      { sourcedId: 'o2', type: 'org' },
    ],
    userIds: [{ type: 'LDAP', identifier: '12' }],
    grades: ['09'],
    metadata: { vendor: { level: 7, tags: ['a', 'b'] } },
  };

  const table: Array<[string, boolean]> = [
    ["status='active'", true],
    ["status='Active'", false], // strings are case-sensitive
    ["status!='active'", false],
    ["familyName='O''Brien'", true],
    ["familyName~'brien'", true],
    ["familyName~'BRI'", true],
    ["familyName~'x'", false],
    ["orgs.sourcedId='o2'", true],
    ["orgs.sourcedId='o3'", false],
    ["orgs.sourcedId!='o2'", false], // != is "no element equals"
    ["orgs.sourcedId!='o3'", true],
    ["orgs='o1'", true], // a GUIDRef leaf compares by sourcedId
    ["userIds.identifier='12'", true],
    ["grades='09'", true],
    ["grades='9'", false], // = on strings is exact, even when numeric
    ["metadata.vendor.level>'6'", true],
    ["metadata.vendor.level='7'", true],
    ["metadata.vendor.level<'10'", true], // numeric, not lexicographic
    ["metadata.vendor.tags='b'", true],
    ["enabledUser='true'", true],
    ["enabledUser='TRUE'", true],
    ["enabledUser='False'", false],
    ["enabledUser!='false'", true],
    ["enabledUser>'false'", false], // booleans have no order
    ["middleName='x'", false], // missing: false ...
    ["middleName!='x'", true], // ... except !=
    ["middleName~''", false],
    ["missing.deep.path='x'", false],
    ["missing.deep.path!='x'", true],
    ["role='student' AND status='active'", true],
    ["role='teacher' AND status='active'", false],
    ["role='teacher' OR status='active'", true],
    ["role='teacher' OR status='x' AND role='student'", false],
    ["role='student' OR status='x' AND role='teacher'", true], // AND binds tighter
    ["role='teacher' OR role='aide' OR orgs.sourcedId='o1'", true],
    ["role='student' AND status='active' AND orgs.sourcedId='o1' AND grades='09'", true],
  ];
  for (const [filter, expected] of table) {
    it(`${filter} → ${expected}`, () => assert.equal(matches(filter, user), expected));
  }

  it('compares dates as instants across precision, offsets and date-only values', () => {
    const at = (dlm: string) => ({ dateLastModified: dlm });
    const cases: Array<[string, string, boolean]> = [
      ["dateLastModified>'2024-05-01T09:59:59Z'", '2024-05-01T10:00:00.000Z', true],
      ["dateLastModified>'2024-05-01T10:00:00Z'", '2024-05-01T10:00:00.000Z', false],
      ["dateLastModified>='2024-05-01T10:00:00Z'", '2024-05-01T10:00:00.000Z', true],
      ["dateLastModified='2024-05-01T10:00:00Z'", '2024-05-01T10:00:00.000Z', true],
      ["dateLastModified>'2024-05-01T10:00:00.001Z'", '2024-05-01T10:00:00Z', false],
      ["dateLastModified<'2024-05-01T10:00:00.001Z'", '2024-05-01T10:00:00Z', true],
      ["dateLastModified='2024-05-01T12:00:00+02:00'", '2024-05-01T10:00:00.000Z', true],
      ["dateLastModified>'2024-05-01T11:00:00+02:00'", '2024-05-01T10:00:00.000Z', true], // 09:00Z
      // text comparison would say '2024-05-01T10…' > '2024-05-01' is true for both; instants decide
      ["dateLastModified>'2024-05-01'", '2024-05-01T00:00:00.000Z', false],
      ["dateLastModified>='2024-05-01'", '2024-05-01T00:00:00.000Z', true],
      ["dateLastModified>'2024-05-01'", '2024-05-01T00:00:00.001Z', true],
      ["dateLastModified<'2024-05-02'", '2024-05-01T23:59:59.999Z', true],
      // the record itself may be non-canonical (dirty or offset data)
      ["dateLastModified>'2024-05-01T09:00:00Z'", '2024-05-01T09:30:00+01:00', false], // 08:30Z,
      ["dateLastModified>'2024-05-01T09:00:00Z'", '2024-05-01T10:00:00.5+01:00', true], // 09:00:00.500Z,
      ["dateLastModified>'2024-05-01T09:00:00Z'", 'garbage', false],
    ];
    for (const [filter, value, expected] of cases) {
      assert.equal(matches(filter, at(value)), expected, `${filter} on ${value}`);
    }
  });

  it('compares date-only fields', () => {
    const e = { beginDate: '2024-09-01', endDate: '2025-06-30' };
    assert.equal(matches("beginDate<='2024-09-01' AND endDate>'2025-06-29T23:00:00Z'", e), true);
    assert.equal(matches("beginDate>'2024-08-31T23:59:59Z'", e), true);
    assert.equal(matches("beginDate>'2024-09-01'", e), false);
  });

  it('treats ISO-looking values on other fields as instants too', () => {
    assert.equal(matches("metadata.syncedAt>'2024-01-01'", { metadata: { syncedAt: '2024-01-01T00:00:01+00:00' } }), true);
  });

  it('rejects a non-date value for a date field', () => {
    assert.throws(
      () => compileFilter(parseFilter("dateLastModified>'yesterday'"), anyField),
      (e: unknown) => e instanceof FilterError && e.codeMinor === 'invaliddata' && e.field === 'dateLastModified',
    );
    // ~ on a date field is a text search and needs no date
    assert.equal(matches("dateLastModified~'2024-05'", { dateLastModified: '2024-05-01T10:00:00.000Z' }), true);
  });

  it('rejects unknown fields with invalid_filter_field naming the field', () => {
    assert.throws(
      () => compileFilter(parseFilter("status='active' AND shoeSize>'40'"), users),
      (e: unknown) =>
        e instanceof FilterError && e.codeMinor === 'invalid_filter_field' && e.field === 'shoeSize' && /shoeSize/.test(e.message),
    );
    assert.throws(() => compileFilter(parseFilter("orgs.name='x'"), users), FilterError);
    assert.doesNotThrow(() => compileFilter(parseFilter("orgs.sourcedId='x' AND metadata.a.b='1'"), users));
  });

  it('filters a realistic list', () => {
    const list = [
      { sourcedId: 'a', status: 'active', role: 'student', dateLastModified: '2024-01-01T00:00:00.000Z' },
      { sourcedId: 'b', status: 'tobedeleted', role: 'student', dateLastModified: '2024-06-01T00:00:00.000Z' },
      { sourcedId: 'c', status: 'active', role: 'teacher', dateLastModified: '2024-06-01T00:00:00.000Z' },
    ];
    const f = compileFilter(parseFilter("role='teacher' AND dateLastModified>'2024-03-01' OR status='tobedeleted'"), anyField);
    assert.deepEqual(list.filter(f).map((r) => r.sourcedId), ['b', 'c']);
  });

  it('is fast enough for a million records', () => {
    const recs = Array.from({ length: 200_000 }, (_, i) => ({
      status: i % 3 ? 'active' : 'tobedeleted',
      dateLastModified: `2024-0${1 + (i % 9)}-01T00:00:00.000Z`,
      orgs: [{ sourcedId: `o${i % 50}`, type: 'org' }],
    }));
    const f = compileFilter(parseFilter("status='active' AND dateLastModified>'2024-05-01T00:00:00Z' OR orgs.sourcedId='o7'"), anyField);
    const t0 = performance.now();
    let n = 0;
    for (const r of recs) if (f(r)) n++;
    const ms = performance.now() - t0;
    assert.ok(n > 0);
    assert.ok(ms < 1000, `200k records took ${ms.toFixed(0)} ms`);
  });
});

describe('building filters', () => {
  it('quotes and escapes values', () => {
    assert.equal(quoteFilterValue("O'Brien"), "'O''Brien'");
    assert.equal(quoteFilterValue(''), "''");
  });

  it('builds and round-trips through the parser', () => {
    const since = new Date(Date.UTC(2024, 7, 1));
    const text = buildFilter(eq('status', 'active'), gt('dateLastModified', since));
    assert.equal(text, "status='active' AND dateLastModified>'2024-08-01T00:00:00.000Z'");
    const exprs: FilterExpr[] = [
      or(eq('familyName', "O'Brien"), contains('email', 'x@y')),
      and(ne('role', 'student'), ge('metadata.n', 3), lt('beginDate', '2024-01-01')),
      eq('enabledUser', true),
    ];
    for (const e of exprs) assert.deepEqual(parseFilter(buildFilter(e)), e);
  });

  it('distributes AND over OR because the grammar has no parentheses', () => {
    const text = buildFilter(or(eq('a', '1'), eq('b', '2')), eq('c', '3'));
    assert.equal(text, "a='1' AND c='3' OR b='2' AND c='3'");
    const f = compileFilter(parseFilter(text), anyField);
    assert.equal(f({ a: '1', c: '3' }), true);
    assert.equal(f({ a: '1', c: '4' }), false);
    assert.equal(f({ b: '2', c: '3' }), true);
  });
});

describe('field catalogue', () => {
  it('knows top-level fields per collection', () => {
    assert.ok(KNOWN_FIELDS.users.has('givenName'));
    assert.ok(!KNOWN_FIELDS.orgs.has('givenName'));
    assert.ok(KNOWN_FIELDS.enrollments.has('primary'));
  });

  it('validates dotted paths', () => {
    const ok: Array<[Parameters<typeof isKnownFieldPath>[0], string]> = [
      ['users', 'orgs.sourcedId'], ['users', 'orgs.type'], ['users', 'agents.href'], ['users', 'userIds.type'],
      ['users', 'userIds.identifier'], ['users', 'metadata.anything.deep'], ['classes', 'terms.sourcedId'],
      ['courses', 'schoolYear.sourcedId'], ['enrollments', 'class.sourcedId'], ['orgs', 'parent.sourcedId'],
    ];
    for (const [c, p] of ok) assert.equal(isKnownFieldPath(c, p), true, `${c} ${p}`);
    const bad: Array<[Parameters<typeof isKnownFieldPath>[0], string]> = [
      ['users', 'shoe'], ['users', 'orgs.name'], ['users', 'orgs.sourcedId.x'], ['users', 'givenName.x'],
      ['academicSessions', 'schoolYear.sourcedId'], ['users', 'metadata.'], ['users', 'metadata..a'], ['users', ''],
      ['enrollments', 'userIds.type'],
    ];
    for (const [c, p] of bad) assert.equal(isKnownFieldPath(c, p), false, `${c} ${p}`);
  });
});
