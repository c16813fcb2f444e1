import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLinkHeader, otherQuerySegments, pageOffsets } from './link-header.ts';

test('page offsets: first page has no prev, last page no next', () => {
  assert.deepEqual(pageOffsets(0, 10, 25), { first: 0, next: 10, last: 20 });
  assert.deepEqual(pageOffsets(10, 10, 25), { first: 0, prev: 0, next: 20, last: 20 });
  assert.deepEqual(pageOffsets(20, 10, 25), { first: 0, prev: 10, last: 20 });
  assert.deepEqual(pageOffsets(0, 10, 0), { first: 0, last: 0 });
  assert.deepEqual(pageOffsets(0, 10, 10), { first: 0, last: 0 });
  // Unaligned offset: last is reachable by following next.
  assert.deepEqual(pageOffsets(3, 10, 25), { first: 0, prev: 0, next: 13, last: 23 });
  // Past the end.
  assert.deepEqual(pageOffsets(40, 10, 25), { first: 0, prev: 30, last: 20 });
});

test('keeps other params as sent, replaces limit and offset', () => {
  const raw = "filter=status%3D%27active%27&limit=2&sort=familyName&offset=2&fields=sourcedId";
  assert.deepEqual(otherQuerySegments(raw), ['filter=status%3D%27active%27', 'sort=familyName', 'fields=sourcedId']);
  const h = buildLinkHeader('http://h/ims/oneroster/v1p1/users', raw, 2, 2, 5);
  assert.equal(
    h,
    '<http://h/ims/oneroster/v1p1/users?filter=status%3D%27active%27&sort=familyName&fields=sourcedId&limit=2&offset=0>; rel="first", ' +
      '<http://h/ims/oneroster/v1p1/users?filter=status%3D%27active%27&sort=familyName&fields=sourcedId&limit=2&offset=0>; rel="prev", ' +
      '<http://h/ims/oneroster/v1p1/users?filter=status%3D%27active%27&sort=familyName&fields=sourcedId&limit=2&offset=4>; rel="next", ' +
      '<http://h/ims/oneroster/v1p1/users?filter=status%3D%27active%27&sort=familyName&fields=sourcedId&limit=2&offset=4>; rel="last"',
  );
});

test('OAuth 1 query parameters are not copied into links', () => {
  assert.deepEqual(otherQuerySegments('oauth_nonce=1&filter=x&oauth_signature=abc'), ['filter=x']);
});

test('raw characters that would break the header are encoded', () => {
  assert.deepEqual(otherQuerySegments("filter=dateLastModified>'2024' x&a=\"é\""), ["filter=dateLastModified%3E'2024'%20x", 'a=%22%C3%A9%22']);
});
