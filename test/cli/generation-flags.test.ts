// The flags that name a generation (history --revision, rollback --to-revision) refuse anything but a whole
// number from 1 before any request: exit 2, naming the flag and what it got. No server listens on the
// address given, so a value that passed would fail to connect instead (exit 1).
import { runHistory } from '../../src/cli/history.js';
import { EXIT_USAGE } from '../../src/cli/io.js';
import { runRollback } from '../../src/cli/rollback.js';
import { workspace, type Workspace } from './cli-support.js';

const NOWHERE = ['--server', 'http://127.0.0.1:9', '--token', 'generation-flags-token-0123456789'];
let ws: Workspace;

beforeAll(() => {
  ws = workspace();
});
afterAll(() => ws.dispose());

test.each([
  ['history', 'revision', runHistory],
  ['rollback', 'to-revision', runRollback],
] as const)('%s --%s takes a whole number from 1', async (command, flag, run) => {
  for (const bad of ['0', '1.5', '2e3', 'abc']) {
    const out = await ws.run(run, ['srv', `--${flag}`, bad, ...NOWHERE]);
    expect(out.code).toBe(EXIT_USAGE);
    expect(out.stderr).toContain(`mcpctl ${command}: --${flag}: must be a generation (a whole number from 1), got "${bad}"`);
  }
  const good = await ws.run(run, ['srv', `--${flag}`, '7', ...NOWHERE]);
  expect(good.code).not.toBe(EXIT_USAGE);
  expect(good.stderr).not.toContain('must be a generation');
});
