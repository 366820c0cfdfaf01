// CredentialStore: per-(subject, server) credentials and OAuth states, sealed at rest, dropped with their
// server or when their binding no longer holds; states are taken once.
import { randomBytes } from 'node:crypto';
import { AesGcmSecretCodec } from '../../../src/store/secret-codec.js';
import { FakeClock } from '../../support/fake-clock.js';
import type { StoreEngine, StoreEngineFactory } from './engine.js';
import { fqnOf } from './fixtures.js';

const TOKEN = 'access-token-canary-7f3a';
const REFRESH = 'refresh-token-canary-91bc';

const oauth = (subject: string, binding = 'b1', token = TOKEN) => ({
  fqn: fqnOf('a'),
  subject,
  kind: 'oauth' as const,
  secrets: { access_token: token, refresh_token: REFRESH },
  data: { expiresAt: 1234, scope: 'read' },
  binding,
});

export function credentialCases(engine: () => StoreEngine, factory: StoreEngineFactory): void {
  describe('credentials', () => {
    it('are kept per (server, subject, kind), replaced by a put, and deleted one by one', async () => {
      const { credentials } = engine();
      await credentials.putCredential(oauth('alice'));
      await credentials.putCredential({ fqn: fqnOf('a'), subject: 'alice', kind: 'header', secrets: { API_KEY: 'k1' }, data: {}, binding: 'h' });
      expect(await credentials.getCredential(fqnOf('a'), 'alice', 'oauth')).toMatchObject({ secrets: { access_token: TOKEN, refresh_token: REFRESH }, data: { expiresAt: 1234, scope: 'read' }, binding: 'b1' });
      expect(await credentials.getCredential(fqnOf('a'), 'bob', 'oauth')).toBeUndefined();
      expect(await credentials.getCredential(fqnOf('b'), 'alice', 'oauth')).toBeUndefined();
      await credentials.putCredential(oauth('alice', 'b1', 'rotated'));
      expect((await credentials.getCredential(fqnOf('a'), 'alice', 'oauth'))!.secrets.access_token).toBe('rotated');
      expect(await credentials.deleteCredential(fqnOf('a'), 'alice', 'oauth')).toBe(true);
      expect(await credentials.deleteCredential(fqnOf('a'), 'alice', 'oauth')).toBe(false);
      expect(await credentials.getCredential(fqnOf('a'), 'alice', 'header')).toMatchObject({ secrets: { API_KEY: 'k1' } });
    });

    it('are listed per server and kind, most recently updated first, up to a limit, without the server\'s own', async (): Promise<void> => {
      const { credentials } = engine();
      await credentials.putCredential(oauth('alice'));
      await credentials.putCredential({ ...oauth(''), kind: 'oauth' });
      await credentials.putCredential({ fqn: fqnOf('a'), subject: 'bob', kind: 'header', secrets: { K: 'v' }, data: {}, binding: 'h' });
      await credentials.putCredential({ ...oauth('carol'), fqn: fqnOf('b') });
      expect((await credentials.listCredentials(fqnOf('a'), 'oauth', 10)).map((c) => [c.subject, c.secrets.access_token])).toEqual([['alice', TOKEN]]);
      expect((await credentials.listCredentials(fqnOf('a'), 'header', 10)).map((c) => c.subject)).toEqual(['bob']);
      await credentials.putCredential(oauth('dave'));
      expect((await credentials.listCredentials(fqnOf('a'), 'oauth', 1))).toHaveLength(1);
    });

    it('of a server are dropped all at once, or those of another binding only', async () => {
      const { credentials } = engine();
      await credentials.putCredential(oauth('alice', 'old'));
      await credentials.putCredential(oauth('bob', 'new'));
      await credentials.putCredential({ ...oauth('carol', 'old'), fqn: fqnOf('b') });
      expect(await credentials.dropCredentials(fqnOf('a'), 'new')).toBe(1);
      expect(await credentials.getCredential(fqnOf('a'), 'alice', 'oauth')).toBeUndefined();
      expect(await credentials.getCredential(fqnOf('a'), 'bob', 'oauth')).toBeDefined();
      expect(await credentials.dropCredentials(fqnOf('a'))).toBe(1);
      expect(await credentials.getCredential(fqnOf('a'), 'bob', 'oauth')).toBeUndefined();
      expect(await credentials.getCredential(fqnOf('b'), 'carol', 'oauth')).toBeDefined();
    });

    it('join the gateway store\'s unit of work: a rolled back unit leaves none', async () => {
      const { gateway, credentials } = engine();
      await expect(
        Promise.resolve().then(() =>
          gateway.transaction(async () => {
            await credentials.putCredential(oauth('alice'));
            throw new Error('the batch failed');
          }),
        ),
      ).rejects.toThrow('the batch failed');
      expect(await credentials.getCredential(fqnOf('a'), 'alice', 'oauth')).toBeUndefined();
    });

    it('states are taken once, expired ones are pruned by the next put, and dropping the server drops its states', async () => {
      const { credentials } = engine();
      const state = (id: string, expiresAt: number, fqn = fqnOf('a')) => ({ id, fqn, subject: 'alice', secrets: { code_verifier: `v-${id}` }, data: { redirectUri: 'http://x/cb' }, expiresAt });
      await credentials.putState(state('s1', 1000), 0);
      await credentials.putState(state('s2', 2000), 0);
      expect(await credentials.takeState('s1')).toMatchObject({ fqn: fqnOf('a'), subject: 'alice', secrets: { code_verifier: 'v-s1' }, expiresAt: 1000 });
      expect(await credentials.takeState('s1')).toBeUndefined();
      await credentials.putState(state('s3', 5000), 2000);
      expect(await credentials.takeState('s2')).toBeUndefined();
      await credentials.putState(state('s4', 5000, fqnOf('b')), 2000);
      await credentials.dropCredentials(fqnOf('a'));
      expect(await credentials.takeState('s3')).toBeUndefined();
      expect(await credentials.takeState('s4')).toBeDefined();
    });

    it('are sealed at rest: no secret value is in the stored rows', async () => {
      const own = await factory.open({ clock: new FakeClock(0), secretCodec: new AesGcmSecretCodec(randomBytes(32)) });
      try {
        await own.credentials.putCredential(oauth('alice'));
        await own.credentials.putState({ id: 's1', fqn: fqnOf('a'), subject: 'alice', secrets: { code_verifier: 'verifier-canary-5d2e' }, data: {}, expiresAt: 10 }, 0);
        const raw = JSON.stringify([...(await own.rawRows('credentials')), ...(await own.rawRows('oauth_states'))]);
        expect(raw).toContain('aes256gcm:v1:');
        for (const secret of [TOKEN, REFRESH, 'verifier-canary-5d2e']) expect(raw).not.toContain(secret);
        expect((await own.credentials.getCredential(fqnOf('a'), 'alice', 'oauth'))!.secrets.access_token).toBe(TOKEN);
      } finally {
        await own.dispose();
      }
    });
  });
}
