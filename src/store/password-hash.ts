/**
 * Password hashing for admin accounts: scrypt (node:crypto) with a random 16-byte salt per
 * password, stored in the self-describing form of `secret-hash.ts`
 * (`scrypt$<N>$<r>$<p>$<salt>$<hash>`), which `verifySecret` checks. Each hash carries its own
 * parameters, so the cost can be raised later without invalidating stored hashes.
 *
 * Cost: N=2^16, r=8, p=1 (64 MiB, ~0.3 s on the 2-core CI machine). OWASP's minimum for scrypt is
 * 2^17 (128 MiB); with libuv's 4 threads a burst of logins could then hold 512 MiB, too much for the
 * laptop installs this runs on, so the default is one step below and logins are rate-limited.
 * Tests pass a cheaper cost (`PasswordCost`); production code uses the default.
 */
import { hashSecret, verifyDummy, verifySecret, type ScryptCost } from './secret-hash.ts';

export type PasswordCost = ScryptCost;

export const DEFAULT_PASSWORD_COST: PasswordCost = Object.freeze({ N: 1 << 16, r: 8, p: 1 });

/** Shortest password accepted (NIST SP 800-63B asks for at least 8; admins of student data get more). */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest password accepted (bounds the hashing work a request can ask for). */
export const MAX_PASSWORD_LENGTH = 1024;

/** A new hash of `password` with a fresh salt. */
export function hashPassword(password: string, cost: PasswordCost = DEFAULT_PASSWORD_COST): Promise<string> {
  return hashSecret(password, cost);
}

/** True when `password` matches `stored` (constant-time; a malformed hash never matches). */
export function verifyPassword(password: string, stored: string): Promise<boolean> {
  return verifySecret(password, stored);
}

/**
 * Spends the time of one verification at `cost` against a throwaway hash and answers false: used
 * for unknown or disabled usernames, so a login's timing does not tell which usernames exist.
 */
export function verifyPasswordDummy(password: string, cost: PasswordCost = DEFAULT_PASSWORD_COST): Promise<false> {
  return verifyDummy(password, cost);
}
/**
 * Why `password` is not acceptable, or undefined when it is: length only (NIST SP 800-63B advises
 * against composition rules).
 */
export function passwordProblem(password: string): string | undefined {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `a password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `a password has at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}
