// Shared by the security tests: tokens files built the way `mcpctl token create` builds entries.
import { renameSync, writeFileSync } from 'node:fs';
import { sha256Hex } from '../../src/auth/authenticator.js';
import { tokenEntryYaml, type TokenSubjectType } from '../../src/auth/tokens-file.js';
import type { TenantRole } from '../../src/domain/principal.js';
import { Writable } from 'node:stream';

export interface TestToken {
  token: string;
  /** e.g. user:alice@example.com */
  subject: string;
  role: TenantRole;
  teams?: string[];
  accounts?: string[];
}

export function tokensYaml(tokens: readonly TestToken[]): string {
  return tokens
    .map((t) => {
      const colon = t.subject.indexOf(':');
      return tokenEntryYaml({
        tokenSha256: sha256Hex(t.token),
        subject: { type: t.subject.slice(0, colon) as TokenSubjectType, slug: t.subject.slice(colon + 1), displayName: t.subject.slice(colon + 1) },
        teams: t.teams ?? [],
        role: t.role,
        accounts: t.accounts,
      });
    })
    .join('');
}

/** Writes atomically enough for the poller: the whole text in one write. */
export function writeTokensFile(path: string, tokens: readonly TestToken[]): void {
  writeFileAtomically(path, tokensYaml(tokens));
}

/**
 * Replaces a file in one step (a new file renamed over it), as editors and Git do: a poller that reads it
 * meanwhile sees the old or the new content, never half of the new one.
 */
export function writeFileAtomically(path: string, text: string): void {
  const next = `${path}.next`;
  writeFileSync(next, text);
  renameSync(next, path);
}

/** A destination for the real pino logger that keeps every line. */
export function captureStream(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}
