// mcpctl token create: a new random bearer token, printed once, and the tokens-file entry for it,
// which holds only the token's sha256. Nothing is stored or sent anywhere; the operator adds the entry
// to the file given to --tokens-file, and the control plane picks it up when the file changes.
// This is the one place mcpctl prints a token: the one it just made, for the operator to hand over.
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../auth/authenticator.js';
import { parseTokensFile, TENANT_ROLES, TOKEN_SUBJECT_TYPES, tokenEntryYaml, type TokenEntry } from '../auth/tokens-file.js';
import type { TenantRole } from '../domain/principal.js';
import { startCommand, usageError } from './command.js';
import { EXIT_OK, type CliIo } from './io.js';

const FLAGS = {
  subject: { kind: 'string' },
  role: { kind: 'string' },
  team: { kind: 'list' },
  account: { kind: 'list' },
  'display-name': { kind: 'string' },
  help: { kind: 'boolean', short: 'h' },
} as const;

export const TOKEN_HELP = `Usage: mcpctl token create --subject TYPE:NAME --role ROLE [--team SLUG]... [--account ID]... [--display-name TEXT]

Makes a new random bearer token and prints it once, with the entry to add to the tokens file
(serve --tokens-file). The entry holds only the token's sha256; the token itself is stored nowhere.

Flags:
  --subject TYPE:NAME    Who the token stands for: user:<email>, serviceaccount:<name> or virtualaccount:<name>.
  --role ROLE            Tenant role: admin, editor or viewer.
  --team SLUG            A team the subject belongs to (matches team:<slug> collaborators). Repeatable.
  --account ID           An account the subject may own servers in; the first is the default. Repeatable.
                         Without one, the tenant's own account.
  --display-name TEXT    Shown as the subject's name (default: NAME).
  -h, --help             This help.
`;

export interface TokenCommandOptions {
  /** Randomness, injected for tests. */
  randomToken?: () => string;
}

/** `mcp_` + 32 random bytes, base64url: 256 bits, recognisable in a secret scanner. */
export function newToken(): string {
  return `mcp_${randomBytes(32).toString('base64url')}`;
}

export async function runToken(argv: string[], io: CliIo, options: TokenCommandOptions = {}): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(TOKEN_HELP);
    return sub === undefined ? 2 : EXIT_OK;
  }
  if (sub !== 'create') return usageError(io, 'token', `unknown subcommand "${sub}"; the one subcommand is "create"`);
  const started = startCommand('token create', rest, io, FLAGS, TOKEN_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  if (positionals.length > 0) return usageError(io, 'token create', `unexpected argument ${JSON.stringify(positionals[0])}`);

  const subject = flags.subject ?? '';
  const colon = subject.indexOf(':');
  const type = subject.slice(0, colon);
  const slug = subject.slice(colon + 1);
  if (colon <= 0 || !(TOKEN_SUBJECT_TYPES as readonly string[]).includes(type) || slug === '') {
    return usageError(io, 'token create', `--subject must be ${TOKEN_SUBJECT_TYPES.map((t) => `${t}:<name>`).join(', ')}; got ${JSON.stringify(subject)}`);
  }
  const role = flags.role ?? '';
  if (!(TENANT_ROLES as readonly string[]).includes(role)) {
    return usageError(io, 'token create', `--role must be one of ${TENANT_ROLES.join(', ')}; got ${JSON.stringify(role)}`);
  }

  const token = (options.randomToken ?? newToken)();
  const entry: TokenEntry = {
    tokenSha256: sha256Hex(token),
    subject: { type: type as TokenEntry['subject']['type'], slug, displayName: flags['display-name'] ?? slug },
    teams: [...new Set(flags.team)],
    role: role as TenantRole,
    accounts: flags.account.length > 0 ? [...new Set(flags.account)] : undefined,
  };
  const yaml = tokenEntryYaml(entry);
  // The entry must read back as what was asked for, or the operator would hand out a token that fails.
  const check = parseTokensFile(yaml);
  if (!check.ok) {
    return usageError(io, 'token create', check.issues.map((i) => i.message.replace(/^/, `${i.line}:${i.col}: `)).join('; '));
  }
  io.stdout.write(
    `New token for ${type}:${slug} (${role}). It is shown this once and stored nowhere; hand it over now:\n\n` +
      `  ${token}\n\n` +
      `Add this entry to the tokens file (serve --tokens-file); it holds only the token's sha256:\n\n` +
      `${yaml}`,
  );
  return EXIT_OK;
}
