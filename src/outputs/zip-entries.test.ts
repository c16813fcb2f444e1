import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { ZipFile } from 'yazl';
import { readZipEntries } from './zip-entries.ts';

async function build(fill: (zip: ZipFile) => void, forceZip64 = false): Promise<Buffer> {
  const zip = new ZipFile();
  fill(zip);
  zip.end(forceZip64 ? { forceZip64Format: true, comment: '' } : undefined);
  return buffer(zip.outputStream);
}

describe('readZipEntries', () => {
  const text = 'sourcedId,name\r\n1,"a, b"\r\n'.repeat(50);

  it('reads stored, deflated and streamed entries', async () => {
    const zip = await build((z) => {
      z.addBuffer(Buffer.from('stored'), 'a.txt', { compress: false });
      z.addBuffer(Buffer.from(text), 'b.csv');
      z.addReadStream(Readable.from([Buffer.from(text)]), 'c.csv');
    });
    const entries = readZipEntries(zip);
    assert.deepEqual(entries.map((e) => [e.name, e.method, e.data.toString()]), [['a.txt', 0, 'stored'], ['b.csv', 8, text], ['c.csv', 8, text]]);
    assert.ok(entries[1]!.compressedSize < entries[1]!.size);
  });

  it('reads ZIP64 records', async () => {
    const zip = await build((z) => {
      z.addBuffer(Buffer.from(text), 'big.csv', { forceZip64Format: true });
      z.addReadStream(Readable.from([Buffer.from('x')]), 'x.txt', { forceZip64Format: true });
    }, true);
    assert.deepEqual(readZipEntries(zip).map((e) => [e.name, e.data.toString()]), [['big.csv', text], ['x.txt', 'x']]);
  });

  it('detects corruption', async () => {
    const zip = await build((z) => z.addBuffer(Buffer.from('hello world'), 'h.txt', { compress: false }));
    const bad = Buffer.from(zip);
    bad[bad.indexOf('hello')] = 'j'.charCodeAt(0);
    assert.throws(() => readZipEntries(bad), /CRC mismatch/);
    assert.throws(() => readZipEntries(Buffer.from('not a zip at all, just text')), /not a zip/);
  });
});
