// ${file:NAME} reads only inside the secrets directory: a symbolic link leading out of it is refused
// (Ready=False, SecretNotFound, saying why), one staying inside is followed, and nothing but a regular
// file is read (a FIFO would block the reconciler forever).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReconcileError } from '../../src/reconcile/reconcile.js';
import { MAX_SECRET_FILE_BYTES, createSecretResolver } from '../../src/reconcile/secret-refs.js';
import { remoteManifest, startTestControlPlane, waitFor } from '../support/control-plane.js';

const OUTSIDE_SECRET = 'outside-secret-4c1d0a77';

describe('${file:NAME} secret references', () => {
  let dir: string;
  let secrets: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-secrets-'));
    secrets = join(dir, 'secrets');
    mkdirSync(join(secrets, 'team'), { recursive: true });
    writeFileSync(join(dir, 'outside.txt'), `${OUTSIDE_SECRET}\n`);
    writeFileSync(join(secrets, 'token'), 'inside-token\n');
    writeFileSync(join(secrets, 'team', 'key'), 'team-key');
    symlinkSync(join(dir, 'outside.txt'), join(secrets, 'escape'));
    symlinkSync('../outside.txt', join(secrets, 'relative-escape'));
    symlinkSync(dir, join(secrets, 'parent'));
    symlinkSync('team/key', join(secrets, 'alias'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const refusal = (resolve: () => string): ReconcileError => {
    try {
      resolve();
    } catch (err) {
      return err as ReconcileError;
    }
    throw new Error('resolved');
  };

  it('reads regular files and symlinks that stay inside the directory', () => {
    const resolver = createSecretResolver({ env: {}, secretsDir: secrets });
    expect(resolver.resolve('Bearer ${file:token}')).toBe('Bearer inside-token');
    expect(resolver.resolve('${file:team/key}')).toBe('team-key');
    expect(resolver.resolve('${file:alias}')).toBe('team-key');
  });

  it('refuses a symlink (of the file or of a directory on the way) that leads outside', () => {
    const resolver = createSecretResolver({ env: {}, secretsDir: secrets });
    for (const name of ['escape', 'relative-escape', 'parent/outside.txt']) {
      const err = refusal(() => resolver.resolve(`\${file:${name}}`));
      expect(err).toBeInstanceOf(ReconcileError);
      expect(err.reason).toBe('SecretNotFound');
      expect(err.message).toContain(`\${file:${name}}`);
      expect(err.message).toMatch(/symbolic link.*outside the secrets directory/);
      expect(err.message).not.toContain(OUTSIDE_SECRET);
      expect(err.message).not.toContain('outside.txt ');
    }
  });

  it('refuses what is not a regular file without blocking on it', () => {
    execFileSync('mkfifo', [join(secrets, 'fifo')]);
    const resolver = createSecretResolver({ env: {}, secretsDir: secrets });
    expect(refusal(() => resolver.resolve('${file:fifo}')).message).toMatch(/not a regular file/);
    expect(refusal(() => resolver.resolve('${file:team}')).message).toMatch(/not a regular file/);
  });

  it('reads at most MAX_SECRET_FILE_BYTES', () => {
    writeFileSync(join(secrets, 'full'), 'k'.repeat(MAX_SECRET_FILE_BYTES));
    writeFileSync(join(secrets, 'over'), 'k'.repeat(MAX_SECRET_FILE_BYTES + 1));
    const resolver = createSecretResolver({ env: {}, secretsDir: secrets });
    expect(resolver.resolve('${file:full}')).toHaveLength(MAX_SECRET_FILE_BYTES);
    expect(refusal(() => resolver.resolve('${file:over}')).message).toContain(`larger than ${MAX_SECRET_FILE_BYTES} bytes`);
  });

  it('sets Ready=False with the reason and the refusal on the server', async () => {
    const cp = await startTestControlPlane({ args: ['--secrets-dir', secrets, '--resync-interval', '0'] });
    try {
      const manifest = remoteManifest({ name: 'escapes', auth_data: { type: 'header', headers: { Authorization: 'Bearer ${file:escape}' } } });
      expect((await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest } })).status).toBe(200);
      const ready = await waitFor(
        async () => {
          const got = await cp.api('/api/svc/v1/mcp-servers/name/escapes');
          const conditions = got.json.data.status.conditions as { type: string; status: string; reason: string; message: string }[];
          return conditions.find((c) => c.type === 'Ready' && c.reason === 'SecretNotFound');
        },
        { what: 'Ready=False SecretNotFound' },
      );
      expect(ready.status).toBe('False');
      expect(ready.message).toMatch(/\$\{file:escape\}.*symbolic link.*outside the secrets directory/);
      expect(JSON.stringify((await cp.api('/api/svc/v1/mcp-servers/name/escapes')).json)).not.toContain(OUTSIDE_SECRET);
    } finally {
      await cp.dispose();
    }
  });
});
