// GET /api/svc/v1/sources through the real express app: a caller sees only the servers it may read.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChainAuthenticator, StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';
import { createApp } from '../../src/http/app.js';
import { Intake } from '../../src/intake/index.js';
import { ManifestSources } from '../../src/sources/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { multiDoc, serverYaml, tempDir, writeFile } from './helpers.js';
import { userPrincipal } from '../support/principals.js';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const alice = userPrincipal('alice', 'viewer', 'Alice');

describe('GET /api/svc/v1/sources', () => {
  it('answers every source to the admin and filters servers by what the caller may read', async () => {
    const { dir, cleanup } = tempDir();
    const store = new SqliteResourceStore({ views: resourceViews, path: ':memory:' });
    const gateway = new SqliteGatewayStore({ path: ':memory:' });
    const policy = new RoleAccessPolicy();
    const intake = new Intake({ store, tenant: 'default', policy, enqueue: () => {} });
    const privateServer = serverYaml('private').replace(
      'collaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user',
      'collaborators:\n  - subject: user:bob\n    role_id: mcp-server-manager',
    );
    writeFile(dir, 'servers.yaml', multiDoc(serverYaml('public'), privateServer));
    const sources = new ManifestSources({ roots: [dir], intake, store, tenant: 'default', allowEmptyPrune: false, logger: silentLogger });
    let server: Server | undefined;
    try {
      expect(sources.notReadyReason()).toMatch(/first sync/);
      await sources.start();
      expect(sources.notReadyReason()).toBeUndefined();
      const app = createApp({
        intake,
        store,
        gateway,
        policy,
        authenticator: new ChainAuthenticator([
          new StaticTokenAuthenticator(ADMIN, adminPrincipal('default')),
          new StaticTokenAuthenticator(VIEWER, alice),
        ]),
        tenant: 'default',
        publicUrl: 'http://127.0.0.1',
        readiness: { notReadyReason: async () => undefined },
        logger: silentLogger,
        sources,
      });
      server = await new Promise<Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/svc/v1/sources`;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const get = async (token: string): Promise<any> => (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json();

      expect((await fetch(url)).status).toBe(401);
      const asAdmin = await get(ADMIN);
      expect(asAdmin.data).toHaveLength(1);
      expect(asAdmin.data[0].files).toEqual([
        { path: 'servers.yaml', contentHash: expect.stringMatching(/^sha256:/), resources: ['private', 'public'], errors: [] },
      ]);
      const asViewer = await get(VIEWER);
      expect(asViewer.data[0]).toMatchObject({ path: dir, files: [{ path: 'servers.yaml', resources: ['public'] }] });
    } finally {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await sources.stop();
      await store.close();
      await gateway.close();
      cleanup();
    }
  });
});
