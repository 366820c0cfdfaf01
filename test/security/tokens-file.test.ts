// --tokens-file and mcpctl token create, through the real server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTokensFile, TokensFileError } from '../../src/auth/tokens-file.js';
import { runGet } from '../../src/cli/get.js';
import { runDescribe } from '../../src/cli/describe.js';
import { runToken } from '../../src/cli/token.js';
import { parseServeConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startControlPlane } from '../../src/main.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { workspace } from '../cli/cli-support.js';
import { captureStream, tokensYaml, writeFileAtomically, writeTokensFile, type TestToken } from './support.js';

const HASH = 'a'.repeat(64);

describe('parsing a tokens file', () => {
  it('reads entries, with defaults for displayName, teams and accounts', () => {
    const text = [
      `- token_sha256: ${HASH.toUpperCase()}`,
      '  subject: { type: user, slug: alice@example.com }',
      '  role: editor',
      `- token_sha256: ${'b'.repeat(64)}`,
      '  subject: { type: serviceaccount, slug: ci, displayName: CI robot }',
      '  teams: [platform, platform]',
      '  role: viewer',
      '  accounts: [acme, globex]',
      '',
    ].join('\n');
    expect(parseTokensFile(text)).toEqual({
      ok: true,
      entries: [
        { tokenSha256: HASH, subject: { type: 'user', slug: 'alice@example.com', displayName: 'alice@example.com' }, teams: [], role: 'editor', accounts: undefined },
        { tokenSha256: 'b'.repeat(64), subject: { type: 'serviceaccount', slug: 'ci', displayName: 'CI robot' }, teams: ['platform'], role: 'viewer', accounts: ['acme', 'globex'] },
      ],
    });
    expect(parseTokensFile('# no tokens yet\n')).toEqual({ ok: true, entries: [] });
    expect(parseTokensFile('')).toEqual({ ok: true, entries: [] });
  });

  const entry = (lines: string[]) => [`- token_sha256: ${HASH}`, '  subject: { type: user, slug: a@example.com }', '  role: editor', ...lines].join('\n');
  it.each<[string, string, { line: number; message: RegExp }]>([
    ['a bad digest', '- token_sha256: abc\n  subject: { type: user, slug: a }\n  role: viewer', { line: 1, message: /token_sha256.*|64 hex digits/ }],
    ['an unknown field', entry(['  rol: admin']), { line: 4, message: /unknown field "rol"/ }],
    ['a token in clear', entry(['  token: hunter2']), { line: 4, message: /holds a token in clear/ }],
    ['an unknown role', `- token_sha256: ${HASH}\n  subject: { type: user, slug: a }\n  role: owner`, { line: 3, message: /one of admin, editor, viewer/ }],
    ['a team subject', `- token_sha256: ${HASH}\n  subject: { type: team, slug: a }\n  role: viewer`, { line: 2, message: /must be one of user, serviceaccount, virtualaccount/ }],
    ['the file source subject', `- token_sha256: ${HASH}\n  subject: { type: serviceaccount, slug: gitops }\n  role: admin`, { line: 2, message: /subject of the file source/ }],
    ['a slug with spaces', `- token_sha256: ${HASH}\n  subject: { type: user, slug: "a b" }\n  role: admin`, { line: 2, message: /without spaces/ }],
    ['accounts not a list', entry(['  accounts: acme']), { line: 4, message: /list of account identifiers/ }],
    ['a mapping at the top', 'tokens: []', { line: 1, message: /must be a list of token entries/ }],
    ['invalid YAML', entry(['  teams: [a']), { line: 4, message: /invalid YAML/ }],
    ['a merge key', `- &e\n  token_sha256: ${HASH}\n- <<: *e\n  role: admin`, { line: 3, message: /./ }],
    ['__proto__', entry(['  __proto__: { role: admin }']), { line: 4, message: /not allowed/ }],
  ])('refuses %s, naming the line', (_label, text, expected) => {
    const parsed = parseTokensFile(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues).toContainEqual(expect.objectContaining({ line: expected.line, message: expect.stringMatching(expected.message) }));
  });

  it('refuses the same token twice, at the second entry', () => {
    const text = `${entry([])}\n${entry([])}\n`;
    const parsed = parseTokensFile(text);
    expect(parsed).toEqual({ ok: false, issues: [expect.objectContaining({ line: 4, message: 'the same token as entry 1; each token may appear once' })] });
  });

  it('refuses a billion laughs instead of expanding it', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${new Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const parsed = parseTokensFile(lines.join('\n'));
    expect(parsed.ok).toBe(false);
  });
});

describe('the tokens file on the real server', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-tokens-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const alice: TestToken = { token: 'alice-token-0123456789abcdef', subject: 'user:alice@example.com', role: 'editor', teams: ['blue'] };
  const bob: TestToken = { token: 'bob-token-0123456789abcdef', subject: 'user:bob@example.com', role: 'viewer' };

  it('a bad file at startup is an error naming file:line:col, and nothing is left running', async () => {
    const file = join(dir, 'tokens.yaml');
    writeFileSync(file, `${tokensYaml([alice])}- token_sha256: nope\n  subject: { type: user, slug: x }\n  role: viewer\n`);
    const config = parseServeConfig(['--port', '0', '--data-dir', join(dir, 'data'), '--no-manifests', '--tokens-file', file, '--control-plane-nice', '0'], {});
    const err = await startControlPlane(config, { logger: createLogger({ level: 'silent' }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokensFileError);
    expect((err as Error).message).toContain(`${file}:5:3: is required: the sha256 of the token as 64 hex digits`);
    const missing = parseServeConfig(['--port', '0', '--data-dir', join(dir, 'data'), '--no-manifests', '--tokens-file', join(dir, 'nope.yaml')], {});
    await expect(startControlPlane(missing, { logger: createLogger({ level: 'silent' }) })).rejects.toThrow(/--tokens-file: cannot read .*nope\.yaml \(ENOENT\)/);
  });

  it('is re-read when it changes; a bad edit keeps the previous tokens and is logged', async () => {
    const file = join(dir, 'tokens.yaml');
    writeTokensFile(file, [alice]);
    const log = captureStream();
    const cp = await startTestControlPlane({ args: ['--tokens-file', file], logger: createLogger({ level: 'info', destination: log.stream }) });
    try {
      const as = (t: TestToken) => cp.api('/api/svc/v1/mcp-servers', { token: t.token });
      expect((await as(alice)).status).toBe(200);
      expect((await as(bob)).status).toBe(401);
      expect((await cp.api('/api/svc/v1/mcp-servers')).status).toBe(200); // the admin token stays

      writeTokensFile(file, [bob]);
      await waitFor(async () => (await as(bob)).status === 200, { what: 'bob let in' });
      expect((await as(alice)).status).toBe(401);

      writeFileAtomically(file, `${tokensYaml([alice, bob])}- role: admin\n`);
      await waitFor(() => log.text().includes('tokens file refused'), { what: 'the refusal logged' });
      expect((await as(bob)).status).toBe(200);
      expect((await as(alice)).status).toBe(401);
      const line = log.text().split('\n').find((l) => l.includes('tokens file refused'))!;
      expect(JSON.parse(line)).toMatchObject({ level: 50, file, issues: expect.arrayContaining([expect.stringMatching(/^9:3: is required: the sha256/)]) });

      rmSync(file);
      await waitFor(() => log.text().includes('cannot read it (ENOENT)'), { what: 'the missing file logged' });
      expect((await as(bob)).status).toBe(200);

      writeTokensFile(file, [alice, bob]);
      await waitFor(async () => (await as(alice)).status === 200, { what: 'alice back' });
      expect(log.text()).not.toContain(alice.token);
      expect(log.text()).not.toContain(bob.token);
    } finally {
      await cp.dispose();
    }
  });

  it('mcpctl token create prints a token once and the entry for it; the entry lets exactly that subject in', async () => {
    const ws = workspace();
    const file = join(dir, 'tokens.yaml');
    writeFileSync(file, '');
    const cp = await startTestControlPlane({ args: ['--tokens-file', file] });
    try {
      const r = await ws.run((argv, io) => runToken(argv, io), ['create', '--subject', 'user:alice@example.com', '--role', 'editor', '--team', 'blue', '--account', 'acme', '--account', 'default']);
      expect(r.code).toBe(0);
      const token = /^  (mcp_[A-Za-z0-9_-]{43})$/m.exec(r.stdout)?.[1];
      expect(token).toBeDefined();
      expect(r.stdout.split(token!).length - 1).toBe(1);
      const yaml = r.stdout.slice(r.stdout.indexOf('- token_sha256:'));
      expect(yaml).not.toContain(token);
      const parsed = parseTokensFile(yaml);
      expect(parsed).toMatchObject({ ok: true, entries: [{ role: 'editor', teams: ['blue'], accounts: ['acme', 'default'], subject: { type: 'user', slug: 'alice@example.com' } }] });

      writeFileSync(file, yaml);
      await waitFor(async () => (await cp.api('/api/svc/v1/mcp-servers', { token })).status === 200, { what: 'the new token accepted' });
      const put = await cp.api('/api/svc/v1/mcp-servers', {
        method: 'PUT',
        token,
        body: { manifest: remoteManifest({ collaborators: [{ subject: 'user:alice@example.com', role_id: 'mcp-server-manager' }] }) },
      });
      expect(put.status).toBe(200);
      expect(put.json.data.createdBySubject).toEqual({
        subjectId: 'user:alice@example.com',
        subjectType: 'user',
        subjectSlug: 'alice@example.com',
        subjectDisplayName: 'alice@example.com',
      });
      expect(put.json.data.accountId).toBe('acme');

      // Every other command redacts it, even when asked to print with it.
      for (const [cmd, argv] of [[runGet, []], [runGet, ['-o', 'json']], [runDescribe, ['github-tools']]] as const) {
        const out = await ws.run(cmd, [...argv], { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: token });
        expect(out.code).toBe(0);
        expect(out.stdout + out.stderr).not.toContain(token);
      }
    } finally {
      ws.dispose();
      await cp.dispose();
    }
  });

  it.each([
    [['create', '--subject', 'team:blue', '--role', 'editor'], /--subject must be user:<name>, serviceaccount:<name>, virtualaccount:<name>/],
    [['create', '--subject', 'alice', '--role', 'editor'], /--subject must be/],
    [['create', '--subject', 'user:alice', '--role', 'owner'], /--role must be one of admin, editor, viewer/],
    [['create', '--subject', 'serviceaccount:gitops', '--role', 'admin'], /subject of the file source/],
    [['create', '--subject', 'user:a b', '--role', 'admin'], /without spaces/],
    [['rotate'], /unknown subcommand "rotate"/],
  ])('token %j is a usage error', async (argv, message) => {
    const ws = workspace();
    try {
      const r = await ws.run((a, io) => runToken(a, io), [...argv]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).not.toMatch(/mcp_/);
    } finally {
      ws.dispose();
    }
  });

  it('the admin token keeps working beside the file (break-glass)', async () => {
    const file = join(dir, 'tokens.yaml');
    writeTokensFile(file, [{ ...bob, token: ADMIN_TOKEN, subject: 'user:impostor@example.com' }]);
    const cp = await startTestControlPlane({ args: ['--tokens-file', file] });
    try {
      const put = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: remoteManifest() } });
      // The admin token is asked first: the same token in the file cannot turn the admin into a viewer.
      expect(put.status).toBe(200);
      expect(put.json.data.createdBySubject.subjectId).toBe('admin');
    } finally {
      await cp.dispose();
    }
  });
});
