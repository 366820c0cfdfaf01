// The control plane's token-signing key: an EC P-256 private key (ES256) that signs the tokens the
// gateway sends upstream in place of a caller's credential (caller-tokens.ts). It comes from
// MCP_CP_SIGNING_KEY (PEM text), else from --signing-key-file, else from <data-dir>/signing-key.pem,
// generated (mode 0600) on first start. Replicas that serve one public URL must share it, so every
// replica's tokens verify against the one JWKS: give them the same key through the environment or a file.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateKeyFile, type LoadedKey } from '../key-file.js';

export const SIGNING_KEY_ENV = 'MCP_CP_SIGNING_KEY';
const SIGNING_KEY_FILE = 'signing-key.pem';

export class SigningKeyError extends Error {}

export type LoadedSigningKey = LoadedKey<KeyObject>;

/**
 * A PEM private key (PKCS#8 or SEC1) that must be EC P-256; `where` names its origin in the error.
 * Throws SigningKeyError saying what is wrong and how to make a good one.
 */
export function decodeSigningKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new SigningKeyError(`${where} does not hold a PEM private key; make one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const found = key.asymmetricKeyType === 'ec' ? `an EC key on ${curve ?? 'an unknown curve'}` : `a ${key.asymmetricKeyType ?? 'non-EC'} key`;
    throw new SigningKeyError(`${where} holds ${found}; tokens are signed with ES256, which needs an EC P-256 (prime256v1) key.`);
  }
  return key;
}

/** The key of `file`, or of <data-dir>/signing-key.pem, generating that one when it is missing. */
export function loadSigningKeyFile(dataDir: string, file?: string): LoadedSigningKey {
  const path = file ?? join(dataDir, SIGNING_KEY_FILE);
  if (file !== undefined && !existsSync(file)) throw new SigningKeyError(`--signing-key-file: ${file} does not exist.`);
  return loadOrCreateKeyFile(path, {
    decode: decodeSigningKey,
    generate: () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return { key: privateKey, text: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string };
    },
    notAFile: (p) => new SigningKeyError(`${p} is not a file; remove it or set ${SIGNING_KEY_ENV}.`),
  });
}
