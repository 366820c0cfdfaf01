// mcpctl validate: offline, every error as file:line:col: /pointer: message.
import { runValidate } from '../../src/cli/validate.js';
import { remoteYaml, workspace, type Workspace } from './cli-support.js';

describe('mcpctl validate', () => {
  let ws: Workspace;
  beforeEach(() => {
    ws = workspace();
  });
  afterEach(() => ws.dispose());

  it('accepts a valid file: exit 0 and a summary', async () => {
    ws.write('a.yaml', remoteYaml('alpha'));
    const r = await ws.run(runValidate, ['-f', 'a.yaml']);
    expect(r).toEqual({ code: 0, stdout: '1 document in 1 file valid\n', stderr: '' });
  });

  it('reports every error of an invalid file with its line and column, in file order', async () => {
    ws.write(
      'bad.yaml',
      [
        'type: mcp-server/remote', // 1
        'name: Bad_Name', // 2
        'description: fine', // 3
        'url: ftp://example.com/mcp', // 4
        'collaborators:', // 5
        '  - subject: team:everyone', // 6
        '    role_id: owner', // 7
        '',
      ].join('\n'),
    );
    const r = await ws.run(runValidate, ['-f', 'bad.yaml']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^bad\.yaml:2:1: \/name: .*lowercase.*"Bad_Name"/);
    expect(lines[1]).toMatch(/^bad\.yaml:4:1: \/url: .*http/);
    expect(lines[2]).toBe('bad.yaml:7:5: /collaborators/0/role_id: must be one of mcp-server-manager, mcp-server-user, got "owner"');
    expect(lines[3]).toBe('3 errors in 1 file (1 document in 1 file checked)');
    expect(r.stderr).toBe('');
  });

  it('locates a missing required field at its parent and errors in later documents by file line', async () => {
    ws.write('multi.yaml', `${remoteYaml('first')}---\ntype: mcp-server/remote\nname: second\nurl: http://127.0.0.1:9/mcp\ncollaborators: []\n`);
    const r = await ws.run(runValidate, ['-f', 'multi.yaml']);
    expect(r.code).toBe(1);
    // The second document starts on line 9 ("---" is line 8); description is missing from its mapping.
    expect(r.stdout).toBe('multi.yaml:9:1: /description: is required\n1 error in 1 file (2 documents in 1 file checked)\n');
  });

  it('reports YAML syntax errors with line:col', async () => {
    ws.write('dup.yaml', `${remoteYaml('dup')}name: again\n`);
    ws.write('tabs.yaml', 'type: mcp-server/remote\n\tname: x\n');
    const r = await ws.run(runValidate, ['-f', 'dup.yaml', '-f', 'tabs.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')).toEqual([
      'dup.yaml:8:1: /name: duplicate key: each key may appear once in a mapping',
      expect.stringMatching(/^tabs\.yaml:2:1: \/: invalid YAML: .*[Tt]ab/),
      '2 errors in 2 files (2 documents in 2 files checked)',
      '',
    ]);
  });

  it('reports a JSON syntax error with line:col', async () => {
    ws.write('broken.json', '{\n  "type": "mcp-server/remote",\n  "name": \n}\n');
    const r = await ws.run(runValidate, ['-f', 'broken.json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^broken\.json:[34]:\d+: /m);
  });

  it('walks a directory recursively in sorted order, skipping dotfiles and other extensions', async () => {
    ws.write('m/b.yaml', remoteYaml('bravo'));
    ws.write('m/a.yml', remoteYaml('alpha'));
    ws.write('m/sub/c.json', JSON.stringify({ type: 'mcp-server/remote', name: 'charlie', url: 'http://127.0.0.1:9/mcp', collaborators: [] }, null, 2));
    ws.write('m/.hidden.yaml', 'this: is: not: valid');
    ws.write('m/.git/x.yaml', 'neither: [');
    ws.write('m/notes.txt', 'not a manifest');
    const r = await ws.run(runValidate, ['-f', 'm', '-o', 'json']);
    expect(r.code).toBe(1);
    const results = JSON.parse(r.stdout) as { file: string; document: number; name?: string; valid: boolean; errors: { path: string; line?: number }[] }[];
    expect(results.map((x) => [x.file, x.name, x.valid])).toEqual([
      ['m/a.yml', 'alpha', true],
      ['m/b.yaml', 'bravo', true],
      ['m/sub/c.json', 'charlie', false],
    ]);
    expect(results[2]?.errors).toEqual([{ path: '/description', message: 'is required', line: 1, col: 1 }]);

    const text = await ws.run(runValidate, ['-f', 'm']);
    expect(text.stdout).toMatch(/^m\/sub\/c\.json:1:1: /m);
    expect(text.stdout).toContain('1 error in 1 file (3 documents in 3 files checked)');
  });

  it('refuses a name declared twice', async () => {
    ws.write('one.yaml', remoteYaml('same'));
    ws.write('two.yaml', `# comment\n${remoteYaml('same')}`);
    const r = await ws.run(runValidate, ['-f', 'one.yaml', '-f', 'two.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('two.yaml:3:1: /name: "same" is already declared in one.yaml (document 0)');
  });

  it.each([
    [['-f', 'missing.yaml'], /missing\.yaml: no such file or directory/],
    [['-f', 'empty-dir'], /empty-dir: no \*\.yaml/],
    [[], /no manifests given/],
    [['--frobnicate'], /unknown flag "--frobnicate"/],
    [['-f'], /flag -f needs a value/],
    [['-f', 'a.yaml', '-o', 'xml'], /-o must be one of text, json/],
  ])('exits 2 on a usage or path error: %j', async (argv, message) => {
    ws.write('a.yaml', remoteYaml('alpha'));
    ws.write('empty-dir/readme.md', '# nothing here');
    const r = await ws.run(runValidate, argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('prints help with exit 0', async () => {
    const r = await ws.run(runValidate, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: mcpctl validate -f PATH...');
  });
});
