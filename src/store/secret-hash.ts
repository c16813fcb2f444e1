/**
 * Password-style hashing for secrets the store must check but never needs back (downstream API
 * client secrets, and admin passwords through password-hash.ts): scrypt from node:crypto with a
 * random 16-byte salt per secret.
 *
 * Format: `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>`, so the cost can be raised later
 * without invalidating stored hashes (each hash carries its own parameters).
 * `SECRET_COST`: N=2^14, r=8 (~16 MiB, a few tens of ms per check): checks happen once per token request
 * (OAuth 2 tokens live an hour), never per API call.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt parameters; every hash records its own. */
export interface ScryptCost {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** API client secrets: ~16 MiB, a few tens of ms per check. */
export const SECRET_COST: ScryptCost = Object.freeze({ N: 16_384, r: 8, p: 1 });

const KEY_LEN = 32;

function scryptAsync(secret: string, salt: Buffer, keyLen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new hash of `secret` with a fresh salt, at `cost`. */
export async function hashSecret(secret: string, cost: ScryptCost = SECRET_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, KEY_LEN, { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r + 16 * 1024 * 1024 });
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/**
 * True when `secret` matches `stored` (a `hashSecret` output). Constant-time comparison; a malformed
 * stored value never matches.
 */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 1 << 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || expected.length < 16) return false;
  const key = await scryptAsync(secret, salt, expected.length, { N: n, r, p, maxmem: 256 * n * r + 16 * 1024 * 1024 });
  return timingSafeEqual(key, expected);
}

const dummies = new Map<string, Promise<string>>();

/**
 * Burns the time of one verification at `cost` against a throwaway hash and answers false: called
 * for unknown client ids and usernames, so a request's timing does not reveal which ones exist.
 */
export async function verifyDummy(secret: string, cost: ScryptCost = SECRET_COST): Promise<false> {
  const key = `${cost.N}/${cost.r}/${cost.p}`;
  let dummy = dummies.get(key);
  if (!dummy) dummies.set(key, (dummy = hashSecret(randomBytes(24).toString('base64url'), cost)));
  await verifySecret(secret, await dummy);
  return false;
}
