/**
 * PageSource: pages come out prepared in order, whole, and (when prepared on take) the event loop
 * gets turns between slices, so I/O such as the prefetched next page's body proceeds meanwhile.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FetchedPage, PageReader } from '../source/page-reader.ts';
import { PageSource, SLICE } from './page-source.ts';
import { DEFAULT_CODEC } from './record-codec.ts';

const N = SLICE * 2 + 7;

function orgs(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({
    sourcedId: `org-${String(i).padStart(5, '0')}`,
    status: 'active',
    dateLastModified: '2026-01-01T00:00:00.000Z',
    name: `School ${i}`,
    type: 'school',
  }));
}

const reader: PageReader = {
  async *readPages(collection): AsyncIterable<FetchedPage> {
    yield { collection, offset: 0, index: 0, items: orgs(N), bytes: 1, requests: 1 };
  },
};

for (const ahead of [false, true]) {
  test(`take() returns the whole page prepared, in order (ahead: ${ahead})`, async () => {
    const source = new PageSource(reader, DEFAULT_CODEC);
    const pages = [];
    for await (const ticket of source.pages('orgs', { eager: true, ahead })) pages.push(await ticket.take());
    assert.equal(pages.length, 1);
    const [page] = pages;
    assert.equal(page!.count, N);
    assert.equal(page!.entries.length, N);
    assert.deepEqual(
      page!.entries.map((e) => e.id),
      orgs(N).map((o) => (o as { sourcedId: string }).sourcedId),
    );
    assert.ok(page!.entries.every((e) => e.prep?.hash !== undefined && e.prep.issues.length === 0));
  });
}

test('a page read by fingerprint comes out whole and in order across its slices', async () => {
  const source = new PageSource(reader, DEFAULT_CODEC);
  for await (const ticket of source.pages('orgs', { eager: false, ahead: false })) {
    const page = await ticket.take();
    assert.equal(page.count, N);
    assert.deepEqual(
      page.entries.map((e) => e.id),
      orgs(N).map((o) => (o as { sourcedId: string }).sourcedId),
    );
    assert.deepEqual(
      page.entries.map((e) => e.json),
      orgs(N).map((o) => JSON.stringify(o)),
    );
    assert.ok(page.entries.every((e) => e.fp.length > 0 && e.prep === undefined));
  }
});

test('prepared on take by fingerprint (a re-sync), a page gives the event loop a turn between slices', async () => {
  const source = new PageSource(reader, DEFAULT_CODEC);
  for await (const ticket of source.pages('orgs', { eager: false, ahead: false })) {
    let turns = 0;
    const tick = (): void => {
      turns++;
      timer = setImmediate(tick);
    };
    let timer = setImmediate(tick);
    await ticket.take();
    clearImmediate(timer);
    // Three slices: at least two turns happened while the page was being prepared.
    assert.ok(turns >= 2, `event-loop turns during take(): ${turns}`);
  }
});
