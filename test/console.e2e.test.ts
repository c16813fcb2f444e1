/**
 * The web console in a real browser (issue 7 "Done means"): playwright-core drives Debian's
 * Chromium (headless) against a real `rostersync serve` process (temp SQLite store, admin from
 * ROSTERSYNC_ADMIN_PASSWORD) and a simulated district in this process. A new admin logs in, adds a
 * connection to the simulator through the wizard, tests it, runs a sync and follows it live, reads
 * the counts and the error report (filter, CSV), browses the data; then the simulator loses a
 * school's students, the next sync is held, and the admin approves it and sees the deletions
 * applied. Screenshots of the main pages go to `.screenshots/` (gitignored).
 *
 * Skipped, with the reason, when Chromium is missing (CI installs it in `.ci/run`). Builds the
 * console first when `web/dist` is missing or older than the sources.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import type { AnyEntity, CollectionName, User } from '../src/oneroster/types.ts';
import { District } from '../src/simulate/district.ts';
import { startSimulator } from '../src/simulate/server.ts';

const ROOT = join(import.meta.dirname, '..');
const CHROMIUM = process.env.ROSTERSYNC_CHROMIUM || '/usr/bin/chromium';
const SHOTS = join(ROOT, '.screenshots');
const PASSWORD = 'console e2e password';
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set ROSTERSYNC_CHROMIUM`;

/**
 * A district that can lose records: the simulator serves the wrapped district minus the lost
 * sourcedIds (as an SIS does when a school's students vanish from its export). The simulator uses
 * only `version`, `records`, `get`, `size`, `now`, `advance` and `stats` of a district.
 */
class LossyDistrict {
  readonly #inner: District;
  readonly #lost = new Set<string>();
  #losses = 0;

  constructor(inner: District) {
    this.#inner = inner;
  }

  /** Both parts only grow, so the sum changes whenever either does (the dataset's caches key on it). */
  get version(): number {
    return this.#inner.version + this.#losses;
  }

  records(collection: CollectionName): Iterable<AnyEntity> {
    const all = this.#inner.records(collection);
    if (this.#lost.size === 0 || (collection !== 'users' && collection !== 'enrollments' && collection !== 'demographics')) return all;
    return [...all].filter((r) => !this.#lost.has(`${collection}/${r.sourcedId}`));
  }

  get(collection: CollectionName, sourcedId: string): AnyEntity | undefined {
    return this.#lost.has(`${collection}/${sourcedId}`) ? undefined : this.#inner.get(collection, sourcedId);
  }

  size(collection: CollectionName): number {
    return [...this.records(collection)].length;
  }

  now(): Date {
    return this.#inner.now();
  }

  advance(days: number): ReturnType<District['advance']> {
    return this.#inner.advance(days);
  }

  stats(): ReturnType<District['stats']> {
    return this.#inner.stats();
  }

  /** Drops every student of `schoolId` with their enrollments and demographics; returns how many students. */
  loseStudentsOf(schoolId: string): number {
    const students = new Set<string>();
    for (const u of this.#inner.records('users') as Iterable<User>) {
      if (String(u.role).toLowerCase() === 'student' && (u.orgs ?? []).some((o) => o?.sourcedId === schoolId)) students.add(u.sourcedId);
    }
    for (const id of students) {
      this.#lost.add(`users/${id}`);
      this.#lost.add(`demographics/${id}`);
    }
    for (const e of this.#inner.records('enrollments')) {
      const user = (e as { user?: { sourcedId?: string } }).user?.sourcedId;
      if (user !== undefined && students.has(user)) this.#lost.add(`enrollments/${e.sourcedId}`);
    }
    this.#losses++;
    return students.size;
  }
}

/** Builds the console when `web/dist` is missing or older than a source file. */
function ensureConsoleBuilt(): void {
  const index = join(ROOT, 'web', 'dist', 'index.html');
  const newest = (dir: string): number => {
    let t = 0;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const s = statSync(p);
      t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
    }
    return t;
  };
  const sources = Math.max(newest(join(ROOT, 'web', 'src')), statSync(join(ROOT, 'web', 'index.html')).mtimeMs, statSync(join(ROOT, 'web', 'vite.config.ts')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'web', 'vite.config.ts'), '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
  });
  assert.equal(r.status, 0, `npm run build:web failed: ${r.stdout}\n${r.stderr}`);
}

/** Starts `rostersync serve` on a free port; resolves with its URL once it listens. */
async function startServe(dir: string): Promise<{ url: string; child: ChildProcess; output: () => string; stop: () => Promise<number | null> }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ROSTERSYNC_ADMIN_PASSWORD: PASSWORD, ROSTERSYNC_SECRET_KEY_FILE: join(dir, 'key'), ROSTERSYNC_LOG_LEVEL: 'warn' };
  for (const k of ['ROSTERSYNC_DB', 'ROSTERSYNC_DATABASE_URL', 'ROSTERSYNC_SECRET_KEY', 'ROSTERSYNC_WEB_DIST', 'ROSTERSYNC_COOKIE_SECURE']) delete env[k];
  // --no-scheduler: the schedule would start a first full sync of the new connection on its own.
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'rostersync.js'), 'serve', '--port', '0', '--db', join(dir, 'store.db'), '--no-scheduler'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!/serving on (http:\/\/\S+?) /.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`rostersync serve did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: /serving on (http:\/\/\S+?) /.exec(out)![1]!,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(killer);
      }
    },
  };
}

/** Fails when the page scrolls sideways at the laptop viewport (usable without horizontal scrolling). */
async function assertFitsWidth(page: Page, what: string): Promise<void> {
  // The callbacks run in the page (DOM globals there; this file is type-checked without the DOM lib).
  const { scroll, width } = await page.evaluate(() => {
    const w = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
    return { scroll: w.document.documentElement.scrollWidth, width: w.innerWidth };
  });
  assert.ok(scroll <= width + 1, `${what}: the page is ${scroll}px wide in a ${width}px window`);
}

/** Fails when a visible form control has no accessible label. */
async function assertLabelled(page: Page, what: string): Promise<void> {
  type Control = { type: string; offsetParent: unknown; labels: { length: number } | null; getAttribute(n: string): string | null; outerHTML: string };
  const unlabelled = await page.evaluate(() =>
    [...(globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<Control> } }).document.querySelectorAll('input, select, textarea')]
      .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
      .filter((el) => (el.labels?.length ?? 0) === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  assert.deepEqual(unlabelled, [], `${what}: every form control has a label`);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the run page shows a finished run (the live stream ended); returns its status text. */
async function waitForFinishedRun(page: Page): Promise<string> {
  await page.getByRole('heading', { level: 1, name: /^Run #\d+/ }).waitFor();
  await page.locator('h1 .badge').first().filter({ hasNotText: 'running' }).waitFor({ timeout: 90_000 });
  return (await page.locator('h1 .badge').first().innerText()).trim();
}

describe('web console (browser)', () => {
  it('walks a new admin through login, the wizard, a sync with its report, a held sync and its approval', { skip, timeout: 300_000 }, async (t) => {
    ensureConsoleBuilt();
    mkdirSync(SHOTS, { recursive: true });
    const dir = mkdtempSync(join(tmpdir(), 'rostersync-console-e2e-'));
    // Teardown in reverse order of setup, each step bounded, so a failure midway never leaves the
    // browser, the server or the simulator running (or the test process waiting on them).
    const teardown: Array<[string, () => Promise<unknown> | unknown]> = [['temp dir', () => rmSync(dir, { recursive: true, force: true })]];
    t.after(async () => {
      for (const [what, step] of teardown.reverse()) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          Promise.resolve().then(step).catch((err: unknown) => process.stderr.write(`teardown of ${what} failed: ${String(err)}\n`)),
          new Promise((r) => (timer = setTimeout(() => r(process.stderr.write(`teardown of ${what} timed out\n`)), 20_000))),
        ]);
        clearTimeout(timer);
      }
    });

    // Latency makes a sync last a few seconds, so the run page sees it running and follows its events.
    const lossy = new LossyDistrict(District.generate({ size: 'tiny', seed: 11, dirtyRate: 0.08 }));
    const sim = await startSimulator({ district: lossy as unknown as District, auth: 'oauth2', faults: 'latency=250ms' });
    teardown.push(['simulator', () => sim.close()]);
    const serve = await startServe(dir);
    teardown.push(['rostersync serve', () => serve.stop()]);

    const { chromium } = await import('playwright-core');
    const context: BrowserContext = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage', '--disable-default-apps', '--disable-sync'],
      viewport: { width: 1366, height: 768 },
      acceptDownloads: true,
    });
    teardown.push(['browser', () => context.close()]);
    // The console loads nothing from elsewhere (no CDN, no fonts): any other host is refused and recorded.
    const foreign: string[] = [];
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (u.origin === new URL(serve.url).origin) return route.continue();
      foreign.push(u.href);
      return route.abort();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('dialog', (d) => void d.accept());
    page.setDefaultTimeout(30_000);

    // ---- log in (keyboard only: the password field has focus, Enter submits) ----
    await page.goto(serve.url);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await assertLabelled(page, 'login');
    await shot(page, '01-login');
    await page.keyboard.type('wrong password');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
    await page.getByLabel('Password').fill('');
    await page.getByLabel('Password').focus();
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    await page.getByText('No connections yet').waitFor();

    // ---- the wizard: provider from the catalog, access, toggles, test, save ----
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Add connection' }).click();
    await page.getByRole('heading', { level: 1, name: 'Add a connection' }).waitFor();
    await page.getByRole('radio', { name: /Custom OneRoster 1\.1 API/ }).waitFor();
    assert.ok((await page.getByRole('radio').count()) > 10, 'the provider catalog is listed');
    // A provider without contacts has its toggle greyed out.
    await page.getByLabel('Find your SIS').fill('Aeries');
    await page.getByRole('radio', { name: /Aeries/ }).check();
    await page.getByText('Setup guide: Aeries').waitFor();
    assert.equal(await page.getByRole('checkbox', { name: 'Contacts' }).isDisabled(), true, 'Aeries has no contacts: the toggle is greyed out');
    await page.getByLabel('Find your SIS').fill('custom');
    await page.getByRole('radio', { name: /Custom OneRoster 1\.1 API/ }).check();
    await page.getByText('Setup guide: Custom OneRoster 1.1 API').waitFor();
    assert.equal(await page.getByRole('checkbox', { name: 'Contacts' }).isChecked(), true, 'custom supports contacts: on by default');
    await page.getByLabel('Connection name').fill('Simulated district');
    await page.getByLabel('Web access URL').fill(sim.baseUrl);
    await page.getByLabel('Client ID').fill(sim.clientId);
    await page.getByLabel('Client secret').fill(sim.clientSecret);
    await page.getByLabel('Access token URL').fill(sim.tokenUrl);
    assert.equal(await page.getByRole('button', { name: /^Save/ }).isDisabled(), true, 'saving waits for a test');
    await assertLabelled(page, 'wizard');
    await page.getByRole('button', { name: 'Test connection' }).click();
    const checks = page.getByTestId('check-table');
    await checks.waitFor({ timeout: 90_000 });
    const checkText = await checks.innerText();
    assert.match(checkText, /offset=2&limit=1 returns a record different/, 'the check table lists the paging check');
    assert.ok((await checks.locator('tbody tr').count()) >= 15, 'the whole check table is shown');
    assert.ok((await checks.locator('.badge', { hasText: /^pass$/ }).count()) >= 10, 'most checks pass against the simulator');
    await assertFitsWidth(page, 'wizard');
    await shot(page, '02-wizard-tested');
    await page.getByRole('button', { name: /^Save/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Simulated district' }).waitFor();
    await page.getByText('Connection saved').waitFor();
    assert.ok(!(await page.content()).includes(sim.clientSecret), 'the secret is never shown back');

    // ---- first sync: live progress over SSE, then counts, charts and the report ----
    const events = page.waitForRequest((r) => /\/api\/v1\/runs\/\d+\/events$/.test(r.url()));
    await page.getByRole('button', { name: 'Run full sync' }).click();
    await events; // the run page followed the running run's event stream
    // Progress rows arrive as server-sent events while the run reads its collections.
    await page.getByTestId('progress').locator('tbody tr').first().waitFor();
    await shot(page, '03-run-progress');
    assert.equal(await waitForFinishedRun(page), 'succeeded');
    const counts = page.getByTestId('entity-counts');
    await counts.waitFor();
    const usersCreated = Number((await counts.locator('tr[data-entity="users"] td[data-col="created"]').innerText()).replace(/\D/g, ''));
    const enrollmentsCreated = Number((await counts.locator('tr[data-entity="enrollments"] td[data-col="created"]').innerText()).replace(/\D/g, ''));
    assert.ok(usersCreated > 20 && enrollmentsCreated > 50, `users ${usersCreated}, enrollments ${enrollmentsCreated} created`);
    await page.getByTestId('chart-entities').locator('svg rect').first().waitFor();
    await page.getByText('We found some issues with your data.').first().waitFor();
    const report = page.getByTestId('report-table');
    await report.waitFor();
    const rows = await report.locator('tbody tr').count();
    assert.ok(rows > 0, 'the error report lists the dirty records');
    await page.getByTestId('chart-rules').getByRole('img').waitFor();
    // Filter: warnings only.
    await page.getByLabel('Severity').selectOption('warning');
    await page.waitForFunction(() => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<{ textContent: string | null }> } }).document;
      const badges = [...doc.querySelectorAll('[data-testid="report-table"] tbody td:first-child .badge')].map((b) => b.textContent);
      return badges.length > 0 && badges.every((b) => b === 'warning');
    });
    await page.getByLabel('Severity').selectOption('');
    // CSV download of the report.
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download CSV' }).click();
    const csvPath = await (await download).path();
    const csv = readFileSync(csvPath, 'utf8').trim().split('\n');
    assert.match(csv[0]!, /rule/i, 'the CSV has a header');
    assert.ok(csv.length > rows / 2, `the CSV has the report rows (${csv.length - 1})`);
    await assertLabelled(page, 'run');
    await assertFitsWidth(page, 'run');
    await shot(page, '04-run-report');

    // ---- dashboard: health banner, counts per entity, last runs, next scheduled run ----
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    const card = page.locator('.connection-card').first();
    await card.waitFor();
    await card.getByText('We found some issues with your data.').waitFor();
    assert.match(await card.innerText(), /Next scheduled run/);
    assert.match(await card.locator('table').first().innerText(), new RegExp(String(usersCreated)), 'records per entity on the dashboard');
    await assertFitsWidth(page, 'dashboard');
    await shot(page, '05-dashboard');

    // ---- data browser: find a student, open their page ----
    const student = [...lossy.records('users')].find((u) => (u as User).role === 'student' && ((u as User).agents?.length ?? 0) > 0) as User;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Data browser' }).click();
    await page.getByLabel('Search', { exact: true }).fill(student.familyName);
    await page.getByRole('button', { name: 'Search' }).click();
    const studentName = `${student.givenName} ${student.familyName}`;
    await page.getByTestId('data-results').getByRole('link', { name: studentName }).first().click();
    await page.getByRole('heading', { level: 1, name: studentName }).waitFor();
    await page.getByRole('heading', { name: /^Classes \(\d+\)/ }).waitFor();
    await page.getByRole('heading', { name: /^Contacts \([1-9]\d*\)/ }).waitFor();
    await page.getByTestId('change-history').waitFor();
    await assertFitsWidth(page, 'user page');
    await shot(page, '06-user');

    // ---- the simulator loses a school's students; the next sync is held ----
    const school = student.orgs.find((o) => o.sourcedId.startsWith('sch'))?.sourcedId ?? student.orgs[0]!.sourcedId;
    const lost = lossy.loseStudentsOf(school);
    assert.ok(lost > 10, `students lost: ${lost}`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await page.locator('.connection-card').first().getByRole('link', { name: 'Simulated district' }).click();
    await page.getByRole('button', { name: 'Run full sync' }).click();
    assert.equal(await waitForFinishedRun(page), 'held');
    const heldUrl = page.url();
    await page.getByRole('heading', { name: 'Held for approval' }).waitFor();
    const planned = Number((await page.getByTestId('plan-counts').locator('tr[data-entity="enrollments"] td[data-col="deleted"]').innerText()).replace(/\D/g, ''));
    assert.ok(planned > 50, `planned enrollment deletions shown: ${planned}`);
    await shot(page, '07-run-held');

    // ---- holds page: approve ----
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: /Holds/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Holds' }).waitFor();
    await page.getByRole('button', { name: 'Approve and apply' }).waitFor();
    assert.match(await nav.getByRole('link', { name: /Holds/ }).innerText(), /1/, 'the navigation counts the pending hold');
    await assertFitsWidth(page, 'holds');
    await shot(page, '08-holds');
    await page.getByRole('button', { name: 'Approve and apply' }).click();
    assert.equal(await waitForFinishedRun(page), 'succeeded');
    await page.getByText(/Approves/).waitFor();
    await page.waitForFunction(() => !/\d/.test((globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector('nav a[href="/holds"]')?.textContent ?? ''));
    const applied = page.getByTestId('entity-counts');
    const deletedEnrollments = Number((await applied.locator('tr[data-entity="enrollments"] td[data-col="deleted"]').innerText()).replace(/\D/g, ''));
    assert.equal(deletedEnrollments, planned, 'the approval applied the planned deletions');
    // Collections the lost school did not touch came back byte for byte: their pages were recognised, not re-read.
    assert.match(await page.getByTestId('known-pages').innerText(), /^[1-9]\d* of \d+ pages were the same bytes as the last full sync/);
    await shot(page, '09-approved-run');
    await page.goto(heldUrl);
    await page.getByText('hold approved').first().waitFor();
    await nav.getByRole('link', { name: /Holds/ }).click();
    await page.getByText('No syncs are waiting for approval.').waitFor();

    // ---- API clients and webhooks: secrets shown once, rotate, revoke ----
    await nav.getByRole('link', { name: 'API clients & webhooks' }).click();
    await page.getByLabel('Name', { exact: true }).fill('LMS import');
    await page.getByRole('button', { name: 'Create client' }).click();
    const secretBox = page.getByRole('region', { name: /Secret of LMS import/ });
    await secretBox.waitFor();
    const firstSecret = await secretBox.getByLabel('Client secret').inputValue();
    assert.ok(firstSecret.length >= 20, 'the client secret is shown once');
    await secretBox.getByRole('button', { name: 'I have stored it' }).click();
    assert.ok(!(await page.content()).includes(firstSecret), 'and not again');
    await page.getByRole('button', { name: 'Rotate the secret of LMS import' }).click();
    const rotated = page.getByRole('region', { name: /New secret of LMS import/ });
    await rotated.waitFor();
    assert.notEqual(await rotated.getByLabel('Client secret').inputValue(), firstSecret, 'rotation issues a new secret');
    await rotated.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByLabel('Receiver URL').fill('https://hooks.example.test/rostersync');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByRole('region', { name: /Signing secret of/ }).waitFor();
    await assertLabelled(page, 'integrations');
    await shot(page, '10-integrations');
    await page.getByRole('button', { name: 'Revoke LMS import' }).click();
    await page.getByText('LMS import revoked.').waitFor();

    // ---- accounts, API tokens and the audit log ----
    await nav.getByRole('link', { name: 'Accounts & audit' }).click();
    await page.getByRole('heading', { level: 1, name: 'Accounts & audit' }).waitFor();
    await page.getByLabel('Username').fill('helpdesk');
    await page.getByLabel(/^Password/).fill('a helpdesk password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Account helpdesk created.').waitFor();
    const helpdesk = page.getByTestId('accounts').locator('tr[data-username="helpdesk"]');
    await helpdesk.getByText('active', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Disable helpdesk' }).click();
    await helpdesk.getByText('disabled', { exact: true }).waitFor();
    // A refused account (the name is taken) keeps what was typed, to correct and send again.
    await page.getByLabel('Username').fill('helpdesk');
    await page.getByLabel(/^Password/).fill('another helpdesk password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('alert').filter({ hasText: 'username helpdesk is taken' }).waitFor();
    assert.equal(await page.getByLabel('Username').inputValue(), 'helpdesk', 'the refused form keeps its username');
    assert.equal(await page.getByLabel(/^Password/).inputValue(), 'another helpdesk password', 'and its password');
    await page.getByLabel('Username').fill('');
    await page.getByLabel(/^Password/).fill('');
    // Tenants: create one, flight a Test provider for it.
    await page.getByLabel(/^Tenant id/).fill('district-42');
    await page.getByLabel('Tenant name').fill('Springfield Public Schools');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByText('Tenant Springfield Public Schools created.').waitFor();
    const tenantRow = page.getByTestId('tenants').locator('tr[data-tenant="district-42"]');
    await tenantRow.getByText('none').waitFor();
    await tenantRow.getByRole('button', { name: 'Flight' }).click();
    await tenantRow.getByRole('button', { name: /^Remove the flight of .+ for district-42$/ }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('report script');
    await page.getByRole('button', { name: 'Create token' }).click();
    const tokenBox = page.getByRole('region', { name: /Token report script/ });
    await tokenBox.waitFor();
    assert.match(await tokenBox.getByLabel('Token').inputValue(), /^rsa_/, 'the API token is shown once');
    await tokenBox.getByRole('button', { name: 'I have stored it' }).click();
    const audit = page.getByTestId('audit-log');
    for (const action of ['user.create', 'user.update', 'tenant.create', 'provider.flight', 'token.create']) await audit.locator(`tr[data-action="${action}"]`).first().waitFor();
    await assertLabelled(page, 'accounts');
    await assertFitsWidth(page, 'accounts');
    await shot(page, '11-accounts');

    // ---- log out ----
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    assert.deepEqual(foreign, [], 'the console requested nothing from another host');
    assert.deepEqual(pageErrors, [], 'no script errors in the page');
    await context.close();
    assert.equal(await serve.stop(), 0, `serve stops cleanly on SIGTERM: ${serve.output().slice(-2000)}`);
  });
});
