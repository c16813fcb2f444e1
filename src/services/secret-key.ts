/**
 * Where the key that seals connection secrets comes from: `ROSTERSYNC_SECRET_KEY` (32 bytes, hex or
 * base64), else a key file created on first use with mode 0600 (`ROSTERSYNC_SECRET_KEY_FILE`, default
 * `rostersync.key` beside the database file). The key itself is never printed.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface SecretKeySource {
  key: string;
  /** `env` or the key file's path. */
  from: string;
  /** True when this call created the key file. */
  created: boolean;
}

/** Default key file for a SQLite store at `dbPath`. */
export function defaultKeyFile(dbPath: string): string {
  return process.env.ROSTERSYNC_SECRET_KEY_FILE ?? join(dirname(resolve(dbPath)), 'rostersync.key');
}

/**
 * Loads (or, with `create`, creates) the secret key.
 * @throws Error when the key file exists but is readable by others (mode wider than 0600).
 */
export function loadSecretKey(dbPath: string, options: { create: boolean }): SecretKeySource | undefined {
  const fromEnv = process.env.ROSTERSYNC_SECRET_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return { key: fromEnv, from: 'env', created: false };
  const file = defaultKeyFile(dbPath);
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(`the secret key file ${file} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
    }
    return { key: readFileSync(file, 'utf8').trim(), from: file, created: false };
  }
  if (!options.create) return undefined;
  writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { key: readFileSync(file, 'utf8').trim(), from: file, created: true };
}
