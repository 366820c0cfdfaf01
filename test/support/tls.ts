// Self-signed certificates made with openssl at test time, in a temp directory removed by cleanup().
// Suites that import this run their TLS tests with `openssl.describe` / `openssl.it`: without openssl
// (OPENSSL_PATH, else on PATH) they are skipped with a warning (see system-binary.ts).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireSystemBinary } from './system-binary.js';

const run = promisify(execFile);

export const openssl = requireSystemBinary('openssl', ['openssl'], { envVar: 'OPENSSL_PATH', install: 'apt-get install -y openssl' });

export interface SelfSignedCert {
  /** PEM certificate; self-signed, so it is also the CA to trust. */
  cert: string;
  /** PEM private key. */
  key: string;
}

export interface SelfSignedCertOptions {
  commonName?: string;
  /** subjectAltName entries. Default: DNS:localhost and IP:127.0.0.1. */
  altNames?: string[];
  days?: number;
}

export async function createSelfSignedCert(opts: SelfSignedCertOptions = {}): Promise<SelfSignedCert> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-cp-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    const altNames = opts.altNames ?? ['DNS:localhost', 'IP:127.0.0.1'];
    if (!openssl.path) throw new Error('openssl is missing: run this test with openssl.it or openssl.describe from test/support/tls.ts');
    await run(openssl.path, [
      'req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', keyPath, '-out', certPath,
      '-days', String(opts.days ?? 1),
      '-subj', `/CN=${opts.commonName ?? 'localhost'}`,
      '-addext', `subjectAltName=${altNames.join(',')}`,
    ]);
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert, key };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
