/**
 * Password-style hashing for secrets the store must check but never needs back (downstream API
 * client secrets): scrypt from node:crypto with a random 16-byte salt per secret.
 *
 * Format: `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>`, so the cost can be raised later
 * without invalidating stored hashes (each hash carries its own parameters).
 * Cost: N=2^14, r=8 (~16 MiB, a few tens of ms per check): checks happen once per token request
 * (OAuth 2 tokens live an hour), never per API call.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16_384;
const R = 8;
const P = 1;
const KEY_LEN = 32;

function scryptAsync(secret: string, salt: Buffer, keyLen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new hash of `secret` with a fresh salt. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, KEY_LEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
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

let dummy: Promise<string> | undefined;

/**
 * Burns the time of one verification against a throwaway hash: called for unknown client ids so
 * a token request's timing does not reveal which client ids exist.
 */
export async function verifyDummy(secret: string): Promise<false> {
  dummy ??= hashSecret(randomBytes(24).toString('base64url'));
  await verifySecret(secret, await dummy);
  return false;
}
