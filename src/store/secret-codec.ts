// Secrets at rest: AES-256-GCM under a key from MCP_CP_SECRET_KEY or <data-dir>/secret.key. Every store
// engine seals every secret value with it (SQLite's column helpers: sqlite/sealed-columns.ts), so the
// database files (and their WAL) never hold one in clear.
// The same master key also keys the spec and gateway-config hashes (HMAC), so a stored or answered hash
// cannot be used to test guesses of a secret offline.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateKeyFile } from '../key-file.js';

/** Seals secret values at rest. The identity codec is replaced by encryption where configured. */
export interface SecretCodec {
  seal(plaintext: string): string;
  /** Throws when the value cannot be authenticated (e.g. another key sealed it). */
  open(sealed: string): string;
  /** False for a value stored before this codec was configured (resealSecrets rewrites those). */
  isSealed?(stored: string): boolean;
}

export const plainSecretCodec: SecretCodec = { seal: (s) => s, open: (s) => s };

export const SECRET_KEY_ENV = 'MCP_CP_SECRET_KEY';
export const SECRET_KEY_FILE = 'secret.key';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const IV_POOL = 256;
/** Sealed values start with this; a value without it was written before encryption (see isSealed). */
const PREFIX = 'aes256gcm:v1:';

export class SecretKeyError extends Error {}

/** A 32-byte key written as base64 (standard or url-safe, padding optional) or as 64 hex digits. */
export function decodeSecretKey(text: string, where: string): Buffer {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!key || key.length !== KEY_BYTES) {
    throw new SecretKeyError(
      `${where} must hold a 32-byte key as base64 or 64 hex digits (generate one with: openssl rand -base64 32); ` +
        `got ${t.length} characters that do not decode to 32 bytes.`,
    );
  }
  return key;
}

export interface LoadedSecretKey {
  key: Buffer;
  /** The key file's path; never the key. */
  source: string;
  /** The key file was created now. */
  generated: boolean;
}

/**
 * <data-dir>/secret.key, generated (32 random bytes as base64, mode 0600) when missing. Used when
 * MCP_CP_SECRET_KEY is not set (config.ts decodes that one).
 */
export function loadSecretKeyFile(dataDir: string): LoadedSecretKey {
  return loadOrCreateKeyFile(join(dataDir, SECRET_KEY_FILE), {
    decode: decodeSecretKey,
    generate: () => {
      const key = randomBytes(KEY_BYTES);
      return { key, text: `${key.toString('base64')}\n` };
    },
    notAFile: (file) => new SecretKeyError(`${file} is not a file; remove it or set ${SECRET_KEY_ENV}.`),
  });
}

/** Independent keys for independent uses, derived from the one master key (HKDF-SHA256). */
export function deriveKey(master: Uint8Array, purpose: 'secret-encryption' | 'content-hash' | 'cluster-internal-token'): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `mcp-control-plane ${purpose} v1`, KEY_BYTES));
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/**
 * AES-256-GCM, a fresh 96-bit IV per value: "aes256gcm:v1:" + base64(iv | ciphertext | tag).
 * open() refuses anything it cannot authenticate (wrong key, a changed byte), except a value without
 * the prefix, which was stored before encryption and is answered as is (resealSecrets rewrites it).
 */
export class AesGcmSecretCodec implements SecretCodec {
  private readonly key: Buffer;
  /**
   * Random bytes for the next IVs, drawn IV_POOL at a time: one randomBytes call per value cost more than
   * the encryption. Every IV is used once; IVs are not secret, only never to repeat under one key.
   */
  private ivPool = Buffer.alloc(0);
  private ivNext = 0;

  constructor(masterKey: Uint8Array) {
    if (masterKey.length !== KEY_BYTES) throw new SecretKeyError(`The secret key must be ${KEY_BYTES} bytes.`);
    this.key = deriveKey(masterKey, 'secret-encryption');
  }

  seal(plaintext: string): string {
    if (this.ivNext === this.ivPool.length) {
      this.ivPool = randomBytes(IV_BYTES * IV_POOL);
      this.ivNext = 0;
    }
    const iv = this.ivPool.subarray(this.ivNext, (this.ivNext += IV_BYTES));
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
  }

  isSealed(stored: string): boolean {
    return isSealed(stored);
  }

  open(sealed: string): string {
    if (!isSealed(sealed)) return sealed;
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretKeyError('A stored secret is truncated; it cannot be decrypted.');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError(
        `A stored secret does not decrypt with this key; the data directory was sealed with another key (check ${SECRET_KEY_ENV} or ${SECRET_KEY_FILE}).`,
      );
    }
  }
}
