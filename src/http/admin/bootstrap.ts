/**
 * First start: an installation with no admin account gets one.
 *
 * - `ROSTERSYNC_ADMIN_PASSWORD` set (passed here as `adminPassword`): the installation admin `admin`
 *   is created with it (the password is never printed or logged).
 * - Otherwise a one-time setup token is generated and announced once (`rostersync serve` prints it
 *   to stdout); `POST /api/v1/setup {token, password}` exchanges it for the first admin account.
 *   The token lives in this process's memory only (its sha256): a restart before setup announces a
 *   new one, and a copy of the database never holds a usable token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isStoreError } from '../../store/errors.ts';
import { hashPassword, passwordProblem, type PasswordCost } from '../../store/password-hash.ts';
import type { Store } from '../../store/store.ts';

/** The username of the first admin account. */
export const FIRST_ADMIN = 'admin';

/** The pending setup token (its hash), consumed once. */
export class SetupGate {
  #hash: Buffer | undefined;

  /** Arms the gate with a new token and returns it. */
  arm(): string {
    const token = `rss_${randomBytes(24).toString('base64url')}`;
    this.#hash = createHash('sha256').update(token).digest();
    return token;
  }

  /** Whether a setup token is waiting to be exchanged. */
  pending(): boolean {
    return this.#hash !== undefined;
  }

  /** True (and the token is spent) when `token` is the pending one. Constant-time. */
  consume(token: string): boolean {
    if (this.#hash === undefined) return false;
    const h = createHash('sha256').update(token).digest();
    if (!timingSafeEqual(h, this.#hash)) return false;
    this.#hash = undefined;
    return true;
  }
}

export interface BootstrapResult {
  /** What happened: an admin existed, was created from the password, or a token was announced. */
  outcome: 'existing' | 'created' | 'token';
  /** The created account's id (`created`). */
  userId?: string;
}

/**
 * Makes sure the installation can be administered (see the file comment).
 * @throws Error when `adminPassword` is too short (the server should not start with a weak first password).
 */
export async function bootstrapAdmin(
  store: Store,
  gate: SetupGate,
  options: { adminPassword?: string | undefined; passwordCost: PasswordCost; announce: (text: string) => void },
): Promise<BootstrapResult> {
  if ((await store.admin.countUsers()) > 0) return { outcome: 'existing' };
  const password = options.adminPassword;
  if (password !== undefined && password !== '') {
    const problem = passwordProblem(password);
    if (problem !== undefined) throw new Error(`ROSTERSYNC_ADMIN_PASSWORD is not usable: ${problem}`);
    try {
      const user = await store.admin.createUser({ username: FIRST_ADMIN, passwordHash: await hashPassword(password, options.passwordCost), role: 'installation_admin' });
      await store.audit.append({ actor: 'system', action: 'setup.admin_created', target: user.id, details: { username: user.username, from: 'ROSTERSYNC_ADMIN_PASSWORD' } });
      options.announce(`Created the installation admin "${FIRST_ADMIN}" with the password from ROSTERSYNC_ADMIN_PASSWORD.\n`);
      return { outcome: 'created', userId: user.id };
    } catch (err) {
      // Another server process on the same database created it first.
      if (isStoreError(err, 'already_exists')) return { outcome: 'existing' };
      throw err;
    }
  }
  const token = gate.arm();
  options.announce(
    [
      'No admin account exists yet. One-time setup token (shown once, valid until this server stops):',
      `  ${token}`,
      `Create the installation admin "${FIRST_ADMIN}": POST /api/v1/setup {"token": "<the token>", "password": "<at least 12 characters>"}`,
      '(or restart with ROSTERSYNC_ADMIN_PASSWORD set).',
      '',
    ].join('\n'),
  );
  return { outcome: 'token' };
}
