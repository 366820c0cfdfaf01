// A child process for the crash test of --durability full: opens the SQLite resource store at argv[2]
// (durability full, the default: the WAL's fsync before an answer) and creates servers one after the other
// for ever, writing each one's name on a line of its own once its create was answered. The test kills it
// with SIGKILL at any moment and checks every answered create is in the file.
import { resourceViews } from '../../src/http/resource-view.js';
import { initialStatus } from '../../src/domain/resource.js';
import type { McpServerManifest } from '../../src/domain/manifest.js';
import type { NewResource } from '../../src/store/index.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';

const store = new SqliteResourceStore({ path: process.argv[2]!, views: resourceViews });
const subject = { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Admin' } as NewResource['createdBy'];
for (let i = 0; ; i++) {
  const name = `crash-${i}`;
  // Two writes per turn share a group commit; the answer of each comes after that commit's fsync.
  await Promise.all(
    [name, `${name}-pair`].map((n) =>
      store.create({
        id: `id-${n}`,
        tenant: 'default',
        name: n,
        fqn: `default:mcp-server:${n}`,
        manifest: { type: 'mcp-server/remote', name: n, description: n, url: 'http://127.0.0.1:9/mcp' } as unknown as McpServerManifest,
        specHash: `hash-${n}`,
        source: { kind: 'api' },
        metadata: {},
        accountId: 'default',
        createdBy: subject,
        status: initialStatus(),
      }),
    ),
  );
  process.stdout.write(`${name}\n${name}-pair\n`);
}
