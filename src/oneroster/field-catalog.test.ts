import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KNOWN_FIELDS, REF_FIELDS } from './field-catalog.ts';
import { FULL_RECORDS } from './sample-records.ts';
import { COLLECTIONS } from './types.ts';

describe('field catalogue matches types.ts', () => {
  for (const c of COLLECTIONS) {
    it(`${c}: KNOWN_FIELDS is exactly the entity's properties`, () => {
      assert.deepEqual([...KNOWN_FIELDS[c]].sort(), Object.keys(FULL_RECORDS[c]).sort());
    });
    it(`${c}: REF_FIELDS are the GUIDRef properties, with the right cardinality`, () => {
      const rec = FULL_RECORDS[c] as unknown as Record<string, unknown>;
      const refs = Object.entries(rec).filter(([, v]) => {
        const first = Array.isArray(v) ? v[0] : v;
        return typeof first === 'object' && first !== null && 'sourcedId' in first;
      });
      assert.deepEqual(Object.keys(REF_FIELDS[c]).sort(), refs.map(([k]) => k).sort());
      for (const [k, v] of refs) assert.equal(REF_FIELDS[c][k]?.many, Array.isArray(v), k);
    });
  }
});
