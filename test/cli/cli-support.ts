// Runs mcpctl commands in-process with captured output, against real files in a temp directory.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CliCommand, CliIo } from '../../src/cli/io.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Workspace {
  dir: string;
  write(path: string, text: string): string;
  /** `stdin`: what -f - reads. */
  run(command: CliCommand, argv: string[], env?: Record<string, string | undefined>, stdin?: string): Promise<CliRun>;
  dispose(): void;
}

export function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'mcpctl-'));
  return {
    dir,
    write(path, text) {
      const abs = join(dir, path);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, text);
      return abs;
    },
    async run(command, argv, env = {}, stdin) {
      let stdout = '';
      let stderr = '';
      const io: CliIo = {
        stdout: { write: (chunk: string) => (stdout += chunk) },
        stderr: { write: (chunk: string) => (stderr += chunk) },
        env,
        cwd: dir,
        ...(stdin !== undefined ? { stdin: () => stdin } : {}),
      };
      const code = await command(argv, io);
      return { code, stdout, stderr };
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A valid mcp-server/remote manifest as YAML; `extra` lines are appended at the top level. */
export function remoteYaml(name: string, options: { description?: string; url?: string; extra?: string } = {}): string {
  return [
    'type: mcp-server/remote',
    `name: ${name}`,
    `description: ${options.description ?? `The ${name} server`}`,
    `url: ${options.url ?? 'http://127.0.0.1:9/mcp'}`,
    'collaborators:',
    '  - subject: team:everyone',
    '    role_id: mcp-server-user',
    ...(options.extra ? [options.extra] : []),
    '',
  ].join('\n');
}
