/**
 * Encryption at rest for connection secrets (DESIGN.md "Safety approach": secrets encrypted at
 * rest, never logged, never returned by the API). AES-256-GCM with a random 96-bit IV per value and
 * the owning row id as additional authenticated data, so a ciphertext copied onto another
 * connection's row fails to decrypt instead of leaking that secret to the wrong provider.
 *
 * Envelope: `v1:<iv base64url>:<tag base64url>:<ciphertext base64url>`.
 * Key management (where the 32-byte key lives, rotation) belongs to the composition root.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { StoreError } from './errors.ts';

/** Seals and opens short secrets with one AES-256 key. */
export class SecretBox {
  readonly #key: Buffer;

  /** @param key 32 bytes, or a 64-char hex string, or base64/base64url of 32 bytes. */
  constructor(key: Buffer | string) {
    this.#key = SecretBox.parseKey(key);
  }

  /** Parses a key given as bytes, hex or base64. @throws StoreError `invalid_input` unless 32 bytes. */
  static parseKey(key: Buffer | string): Buffer {
    let buf: Buffer;
    if (typeof key !== 'string') buf = Buffer.from(key);
    else if (/^[0-9a-fA-F]{64}$/.test(key)) buf = Buffer.from(key, 'hex');
    else buf = Buffer.from(key, 'base64');
    if (buf.length !== 32) throw new StoreError('invalid_input', 'the secret key must be 32 bytes (hex or base64)');
    return buf;
  }

  /**
   * A 32-byte key for another purpose (HMAC-SHA256 of `purpose` under this key), so one configured
   * key serves several uses without any of them revealing it or another's key.
   */
  derive(purpose: string): Buffer {
    return createHmac('sha256', this.#key).update(`rostersync:${purpose}`, 'utf8').digest();
  }

  /** Encrypts `plaintext`, bound to `context` (the owning row id). */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
  }

  /** Decrypts an envelope made by `seal` with the same context. @throws StoreError `secret_unreadable`. */
  open(envelope: string, context: string): string {
    const parts = envelope.split(':');
    if (parts.length !== 4 || parts[0] !== 'v1') throw new StoreError('secret_unreadable', 'stored secret has an unknown format');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(parts[1]!, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(parts[2]!, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(parts[3]!, 'base64url')), decipher.final()]).toString('utf8');
    } catch (cause) {
      // Never include the envelope or key material in the message.
      throw new StoreError('secret_unreadable', `secret of ${context} cannot be decrypted with the configured key`, { cause });
    }
  }
}
