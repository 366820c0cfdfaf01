// A stdio manifest stored before auth_data (top-level env, as older versions normalised it) keeps
// working: GET → edit → PUT with its env values masked restores them from the stored spelling.
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { initialStatus } from '../../src/domain/resource.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { Intake } from '../../src/intake/index.js';
import { maskManifest } from '../../src/manifest/index.js';
import type { McpServerManifest } from '../../src/domain/manifest.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { FakeClock } from '../support/fake-clock.js';

it('restores masked env values of a manifest stored with the deprecated top-level env', async () => {
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const store = new SqliteResourceStore({ path: ':memory:', views: resourceViews, clock });
  try {
    const admin = adminPrincipal('default');
    // As an older version stored it: env at the top level (its normalised form then).
    const stored = {
      type: 'mcp-server/stdio',
      name: 'legacy',
      description: 'Stored before auth_data',
      command: '/usr/bin/true',
      args: [],
      env: { TOKEN: 'stored-secret' },
      collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
      tool_settings: [],
      tags: {},
    } as unknown as McpServerManifest;
    await store.create({
      id: 'id-legacy',
      tenant: 'default',
      name: 'legacy',
      fqn: 'default:mcp-server:legacy',
      manifest: stored,
      specHash: 'old-hash',
      source: { kind: 'api' },
      metadata: {},
      accountId: 'default',
      createdBy: admin.subject,
      status: initialStatus(),
    });
    const intake = new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => {}, clock });
    // The client sends back what it was shown, with a new description.
    const shown = maskManifest((await store.get('default:mcp-server:legacy'))!.manifest) as unknown as Record<string, unknown>;
    expect(shown.env).toEqual({ TOKEN: '********' });
    const result = await intake.apply({ manifest: { ...shown, description: 'Edited' }, dryRun: false, force: false, metadata: undefined, source: { kind: 'api' }, principal: admin });
    expect(result.action).toBe('UPDATE');
    expect((await store.get('default:mcp-server:legacy'))!.manifest).toMatchObject({ auth_data: { type: 'env', env: { TOKEN: 'stored-secret' }, auth_level: 'global' } });
    expect(((await store.get('default:mcp-server:legacy'))!.manifest as { env?: unknown }).env).toBeUndefined();
  } finally {
    await store.close();
  }
});
