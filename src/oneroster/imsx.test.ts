import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  failureBody,
  failureBody12,
  httpStatusForCodeMinor,
  readStatusInfo,
  statusInfoSet,
  warningStatus,
} from './imsx.ts';

describe('builders', () => {
  it('builds the 1.1 failure body exactly', () => {
    assert.deepEqual(failureBody('invalid_filter_field', 'Unknown filter field: foo'), {
      statusInfoSet: [
        {
          imsx_codeMajor: 'failure',
          imsx_severity: 'error',
          imsx_description: 'Unknown filter field: foo',
          imsx_codeMinor: {
            imsx_codeMinorField: [{ imsx_codeMinorFieldName: 'TargetEndSystem', imsx_codeMinorFieldValue: 'invalid_filter_field' }],
          },
        },
      ],
    });
  });

  it('builds warnings and the 1.2 bare failure', () => {
    const w = warningStatus('invalid_sort_field', 'Unknown sort field: x');
    assert.equal(w.imsx_codeMajor, 'success');
    assert.equal(w.imsx_severity, 'warning');
    assert.deepEqual(statusInfoSet([w]), { statusInfoSet: [w] });
    const f = failureBody12('unknownobject', 'Unknown Object');
    assert.equal(f.imsx_CodeMinor.imsx_codeMinorField[0]?.imsx_codeMinorFieldValue, 'unknownobject');
    assert.ok(!('imsx_codeMinor' in f));
  });

  it('maps codeMinor to HTTP status', () => {
    const table: Array<[string, number]> = [
      ['fullsuccess', 200], ['full success', 200], ['invalid_sort_field', 200], ['invalid_selection_field', 200],
      ['invaliddata', 400], ['invalid data', 400], ['invalid_filter_field', 400], ['invalid_blank_selection_field', 400],
      ['unauthorisedrequest', 401], ['unauthorized', 401], ['forbidden', 403], ['unknownobject', 404],
      ['unknown object', 404], ['server_busy', 429], ['internal_server_error', 500], ['something else', 500],
    ];
    for (const [code, status] of table) assert.equal(httpStatusForCodeMinor(code), status, code);
    assert.equal(httpStatusForCodeMinor('invalid_selection_field', '1.2'), 400);
  });
});

describe('readStatusInfo', () => {
  it('reads what we write (round trip)', () => {
    assert.deepEqual(readStatusInfo(failureBody('invaliddata', 'bad limit')), {
      codeMajor: 'failure', severity: 'error', codeMinor: 'invaliddata', description: 'bad limit',
    });
    assert.deepEqual(readStatusInfo(failureBody12('forbidden', 'scope')), {
      codeMajor: 'failure', severity: 'error', codeMinor: 'forbidden', description: 'scope',
    });
  });

  it('accepts the dialects seen in the wild', () => {
    // MS demo / RICOne: flat string codeMinor beside data
    assert.deepEqual(
      readStatusInfo({ users: [], statusInfoSet: [{ imsx_codeMajor: 'success', imsx_severity: 'warning', imsx_description: 'invalid sort field: foo', imsx_codeMinor: 'invalid_sort_field' }] }),
      { codeMajor: 'success', severity: 'warning', codeMinor: 'invalid_sort_field', description: 'invalid sort field: foo' },
    );
    // Ed-Fi: flat object without codeMinor object form
    assert.deepEqual(readStatusInfo({ imsx_codeMajor: 'failure', imsx_severity: 'error', imsx_codeMinor: 'invalid_data' }), {
      codeMajor: 'failure', severity: 'error', codeMinor: 'invalid_data',
    });
    // Moodle 1.2 style wrapper and odd field name
    assert.deepEqual(
      readStatusInfo({ imsx_statusInfo: { imsx_codeMajor: 'failure', imsx_CodeMinor: { imsx_codeMinorField: { imsx_codeMinorFieldName: 'codeMinor', imsx_codeMinorFieldValue: 'unknownobject' } } } }),
      { codeMajor: 'failure', codeMinor: 'unknownobject' },
    );
    // statusInfoSet as a single object; failure preferred over an earlier success entry
    assert.equal(readStatusInfo({ statusInfoSet: { imsx_codeMajor: 'failure' } })?.codeMajor, 'failure');
    assert.equal(
      readStatusInfo({ statusInfoSet: [{ imsx_codeMajor: 'success', imsx_codeMinor: 'fullsuccess' }, { imsx_codeMajor: 'failure', imsx_codeMinor: 'server_busy' }] })?.codeMinor,
      'server_busy',
    );
    // un-prefixed keys
    assert.equal(readStatusInfo({ codeMajor: 'failure', codeMinor: 'forbidden' })?.codeMinor, 'forbidden');
  });

  it('returns undefined for data bodies and junk', () => {
    for (const b of [undefined, null, 'text', 42, [], { users: [] }, { description: 'x' }, { statusInfoSet: [] }]) {
      assert.equal(readStatusInfo(b), undefined, JSON.stringify(b));
    }
  });
});
