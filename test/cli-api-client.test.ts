/**
 * `rostersync api-client add|list|revoke|rotate` (issue 6): the secret is printed once and works
 * against the store; lists never show it; rotate and revoke take effect. In-process (a fresh
 * commander program per call), plus one real CLI process to prove the wiring in main.ts.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from '@commander-js/extra-typings';
import { registerApiClient } from '../src/cli/api-client-command.ts';
import { CliError } from '../src/cli/cli-error.ts';
import { openStore } from '../src/store/store.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'rostersync.js');

type Result = { code: number; stdout: string; stderr: string };

async function cli(args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io = { out: { write: (t: string) => (stdout += t) }, err: { write: (t: string) => (stderr += t) } };
  const program = new Command().name('rostersync').exitOverride();
  registerApiClient(program, io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    if (err instanceof CliError) return { code: err.exitCode, stdout, stderr: `${stderr}rostersync: ${err.message}\n` };
    throw err;
  }
}

it('api-client add prints a working secret once; list hides it; rotate and revoke take effect', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-apiclient-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'store.db');
  const setup = await openStore({ url: db });
  const conn = await setup.connections.create({ name: 'district', baseUrl: 'http://sis.example/ims/oneroster/v1p1', authKind: 'none' });
  await setup.close();

  const add = await cli(['api-client', 'add', 'Canvas', '--connection', 'district', '--scopes', 'roster-core,demographics', '--oauth1', '--db', db]);
  assert.equal(add.code, 0, add.stderr);
  const clientId = /client id:\s+(rsc_[0-9a-f]+)/.exec(add.stdout)?.[1];
  const secret = /client secret:\s+(\S+)/.exec(add.stdout)?.[1];
  assert.ok(clientId && secret, `id and secret printed: ${add.stdout}`);
  assert.match(add.stdout, new RegExp(`for connection ${conn.id} \\(scopes roster-core, demographics; OAuth 2 and OAuth 1\\.0a\\)`));
  assert.match(add.stdout, /shown once/);

  const check = async (s: string): Promise<boolean> => {
    const store = await openStore({ url: db });
    try {
      return (await store.apiClients.authenticate(clientId, s)) !== undefined;
    } finally {
      await store.close();
    }
  };
  assert.equal(await check(secret), true, 'the printed secret authenticates');

  const list = await cli(['api-client', 'list', '--db', db]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(clientId));
  assert.match(list.stdout, /Canvas\s+\S+\s+\S+\s+roster-core,demographics\s+oauth2\+oauth1\s+active/);
  const json = await cli(['api-client', 'list', '--json', '--db', db]);
  assert.ok(!list.stdout.includes(secret) && !json.stdout.includes(secret), 'lists never show the secret');
  assert.equal((JSON.parse(json.stdout) as unknown[]).length, 1);

  const rotated = await cli(['api-client', 'rotate', 'Canvas', '--db', db]);
  assert.equal(rotated.code, 0, rotated.stderr);
  const fresh = /client secret:\s+(\S+)/.exec(rotated.stdout)?.[1];
  assert.ok(fresh && fresh !== secret, 'a new secret is printed');
  assert.equal(await check(secret), false, 'the old secret no longer works');
  assert.equal(await check(fresh), true, 'the new one does');

  const revoked = await cli(['api-client', 'revoke', clientId, '--db', db]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, /Revoked API client/);
  assert.equal(await check(fresh), false, 'a revoked client does not authenticate');
  assert.doesNotMatch((await cli(['api-client', 'list', '--db', db])).stdout, new RegExp(clientId), 'revoked clients are hidden');
  assert.match((await cli(['api-client', 'list', '--all', '--db', db])).stdout, /revoked 20\d\d-/);

  const noConn = await cli(['api-client', 'add', 'x', '--connection', 'nope', '--db', db]);
  assert.equal(noConn.code, 2);
  assert.match(noConn.stderr, /no connection "nope"/);
  const badScope = await cli(['api-client', 'add', 'x', '--connection', 'district', '--scopes', 'roster,admin', '--db', db]);
  assert.equal(badScope.code, 2);
  assert.match(badScope.stderr, /unknown scope "admin"/);

  // The real CLI knows the command (main.ts wiring).
  const env = { ...process.env };
  delete env.ROSTERSYNC_DB;
  delete env.ROSTERSYNC_DATABASE_URL;
  const real = await run(process.execPath, [CLI, 'api-client', 'list', '--all', '--json', '--db', db], { env, timeout: 60_000 });
  assert.equal((JSON.parse(real.stdout) as Array<{ clientId: string }>)[0]!.clientId, clientId);
});
