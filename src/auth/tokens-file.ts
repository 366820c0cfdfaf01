// --tokens-file: who may call, as a YAML list of hashed bearer tokens. The file holds only sha256
// digests, never a token, so reading it (or a backup of it) lets no one in.
//
//   - token_sha256: 3f7a…            # sha256 (hex) of the bearer token; `mcpctl token create` prints it
//     subject: { type: user, slug: alice@example.com, displayName: Alice }
//     teams: [platform]              # for team:<slug> collaborators (team:everyone matches everyone)
//     role: editor                   # admin | editor | viewer
//     accounts: [acme]               # accounts the subject may own servers in; the first is the default
//
// The file is re-read when it changes. A file that does not parse or validate is refused as a whole:
// at startup that is an error naming file:line:col; later, the previous tokens stay in force and the
// error is logged, so a typo cannot lock everyone out (or let anyone in).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../domain/logger.js';
import type { Principal, TenantRole } from '../domain/principal.js';
import type { SubjectType } from '../domain/resource.js';
import { parseDocuments, type ParsedDocument } from '../manifest/parse.js';
import { type Authenticator, sha256Hex } from './authenticator.js';

export const TOKEN_SUBJECT_TYPES = ['user', 'serviceaccount', 'virtualaccount'] as const;
export type TokenSubjectType = (typeof TOKEN_SUBJECT_TYPES)[number];
export const TENANT_ROLES: readonly TenantRole[] = ['admin', 'editor', 'viewer'];
/** The file source acts as this subject; no token may claim it. */
const RESERVED_SUBJECTS = new Set(['serviceaccount:gitops']);
const ENTRY_KEYS = new Set(['token_sha256', 'subject', 'teams', 'role', 'accounts']);
const SUBJECT_KEYS = new Set(['type', 'slug', 'displayName']);
const SLUG = /^[^\s:]([^\s]{0,318}[^\s])?$/;
const MAX_ENTRIES = 100_000;

export interface TokenEntry {
  tokenSha256: string;
  subject: { type: TokenSubjectType; slug: string; displayName: string };
  teams: string[];
  role: TenantRole;
  /** undefined: the tenant's own account. */
  accounts: string[] | undefined;
}

export interface TokensFileIssue {
  line: number;
  col: number;
  message: string;
}

export class TokensFileError extends Error {
  constructor(
    readonly file: string,
    readonly issues: TokensFileIssue[],
  ) {
    const shown = issues.slice(0, 5).map((i) => `${file}:${i.line}:${i.col}: ${i.message}`);
    const more = issues.length > 5 ? `\n(and ${issues.length - 5} more)` : '';
    super(`The tokens file is invalid:\n${shown.join('\n')}${more}`);
    this.name = 'TokensFileError';
  }
}

type Parsed = { ok: true; entries: TokenEntry[] } | { ok: false; issues: TokensFileIssue[] };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and validates the text of a tokens file; every problem at once, each with line:col. */
export function parseTokensFile(text: string): Parsed {
  const docs = parseDocuments(text);
  const issues: TokensFileIssue[] = [];
  const at = (doc: ParsedDocument | undefined, pointer: string, message: string, line?: number, col?: number) => {
    const pos = line !== undefined ? { line, col: col ?? 1 } : doc?.locate(pointer);
    issues.push({ line: pos?.line ?? 1, col: pos?.col ?? 1, message });
  };
  for (const doc of docs) for (const e of doc.errors) at(doc, e.path, e.message, e.line, e.col);
  if (issues.length > 0) return { ok: false, issues };
  if (docs.length > 1) {
    at(docs[1], '', 'one YAML document only: a list of token entries');
    return { ok: false, issues };
  }
  const doc = docs[0];
  if (!doc) return { ok: true, entries: [] }; // empty, or comments only: no tokens
  if (!Array.isArray(doc.value)) {
    at(doc, '', 'must be a list of token entries ("- token_sha256: …"); see mcpctl token create');
    return { ok: false, issues };
  }
  if (doc.value.length > MAX_ENTRIES) at(doc, '', `at most ${MAX_ENTRIES} entries`);
  const entries: TokenEntry[] = [];
  const seen = new Map<string, number>();
  doc.value.forEach((raw: unknown, i: number) => {
    const p = `/${i}`;
    const bad = (pointer: string, message: string) => at(doc, `${p}${pointer}`, message);
    if (!isRecord(raw)) return bad('', 'must be a mapping with token_sha256, subject, role (and teams, accounts)');
    for (const key of Object.keys(raw)) {
      if (key === 'token') bad('/token', 'holds a token in clear; store only its sha256 as token_sha256 (mcpctl token create prints it)');
      else if (!ENTRY_KEYS.has(key)) bad(`/${key}`, `unknown field "${key}"; expected token_sha256, subject, teams, role, accounts`);
    }
    const hash = raw.token_sha256;
    const hashOk = typeof hash === 'string' && /^[0-9a-fA-F]{64}$/.test(hash);
    if (!hashOk) bad('/token_sha256', 'is required: the sha256 of the token as 64 hex digits');
    const subject = raw.subject;
    let subjectOk = false;
    if (!isRecord(subject)) {
      bad('/subject', 'is required: { type: user | serviceaccount | virtualaccount, slug, displayName }');
    } else {
      for (const key of Object.keys(subject)) {
        if (!SUBJECT_KEYS.has(key)) bad(`/subject/${key}`, `unknown field "${key}"; expected type, slug, displayName`);
      }
      const typeOk = TOKEN_SUBJECT_TYPES.includes(subject.type as TokenSubjectType);
      if (!typeOk) bad('/subject/type', `must be one of ${TOKEN_SUBJECT_TYPES.join(', ')}`);
      const slugOk = typeof subject.slug === 'string' && SLUG.test(subject.slug);
      if (!slugOk) bad('/subject/slug', 'must be a non-empty identifier without spaces (e.g. alice@example.com), at most 320 characters');
      const nameOk = subject.displayName === undefined || (typeof subject.displayName === 'string' && subject.displayName.length <= 200);
      if (!nameOk) bad('/subject/displayName', 'must be a text of at most 200 characters');
      if (typeOk && slugOk && RESERVED_SUBJECTS.has(`${String(subject.type)}:${String(subject.slug)}`)) {
        bad('/subject', `${String(subject.type)}:${String(subject.slug)} is the subject of the file source; choose another`);
      } else {
        subjectOk = typeOk && slugOk && nameOk;
      }
    }
    const roleOk = TENANT_ROLES.includes(raw.role as TenantRole);
    if (!roleOk) bad('/role', `is required: one of ${TENANT_ROLES.join(', ')}`);
    const list = (key: 'teams' | 'accounts', what: string): string[] | undefined | null => {
      const v = raw[key];
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || v.length > 1000 || v.some((x) => typeof x !== 'string' || !SLUG.test(x))) {
        bad(`/${key}`, `must be a list of ${what} (non-empty, without spaces)`);
        return null;
      }
      return [...new Set(v as string[])];
    };
    const teams = list('teams', 'team slugs');
    const accounts = list('accounts', 'account identifiers');
    if (hashOk) {
      const key = (hash as string).toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) bad('/token_sha256', `the same token as entry ${first + 1}; each token may appear once`);
      seen.set(key, i);
    }
    if (hashOk && subjectOk && roleOk && teams !== null && accounts !== null && isRecord(subject)) {
      entries.push({
        tokenSha256: (hash as string).toLowerCase(),
        subject: {
          type: subject.type as TokenSubjectType,
          slug: subject.slug as string,
          displayName: typeof subject.displayName === 'string' && subject.displayName !== '' ? subject.displayName : (subject.slug as string),
        },
        teams: teams ?? [],
        role: raw.role as TenantRole,
        accounts,
      });
    }
  });
  return issues.length > 0 ? { ok: false, issues: issues.sort((a, b) => a.line - b.line || a.col - b.col) } : { ok: true, entries };
}

export function principalOf(entry: TokenEntry, tenant: string): Principal {
  const { type, slug, displayName } = entry.subject;
  return {
    subject: { subjectId: `${type}:${slug}`, subjectType: type as SubjectType, subjectSlug: slug, subjectDisplayName: displayName },
    role: entry.role,
    teams: [...entry.teams],
    accounts: entry.accounts ? [...entry.accounts] : [tenant],
  };
}

/** The entry to add to a tokens file for a token, as YAML (a one-item list, ready to append). */
export function tokenEntryYaml(entry: TokenEntry): string {
  const q = (s: string) => JSON.stringify(s); // JSON strings are valid YAML flow scalars
  const lines = [
    `- token_sha256: ${entry.tokenSha256}`,
    `  subject: { type: ${entry.subject.type}, slug: ${q(entry.subject.slug)}, displayName: ${q(entry.subject.displayName)} }`,
    `  role: ${entry.role}`,
    `  teams: [${entry.teams.map(q).join(', ')}]`,
  ];
  if (entry.accounts) lines.push(`  accounts: [${entry.accounts.map(q).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

export interface TokensFileAuthenticatorOptions {
  path: string;
  tenant: string;
  logger: Logger;
  /** How often the file is checked for changes. Default 1 s. */
  pollIntervalMs?: number;
}

/**
 * Bearer token → principal, from the tokens file. The constructor reads the file and throws
 * TokensFileError (or the read error) when it cannot be used; start() then watches it for changes.
 */
export class TokensFileAuthenticator implements Authenticator {
  private byDigest: Map<string, Principal>;
  private contentHash: string;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private lastError: string | undefined;

  constructor(private readonly options: TokensFileAuthenticatorOptions) {
    let text: string;
    try {
      text = readFileSync(options.path, 'utf8');
    } catch (err) {
      throw new Error(`--tokens-file: cannot read ${options.path} (${(err as NodeJS.ErrnoException).code ?? String(err)}).`);
    }
    const parsed = parseTokensFile(text);
    if (!parsed.ok) throw new TokensFileError(options.path, parsed.issues);
    this.byDigest = this.index(parsed.entries);
    this.contentHash = sha256Hex(text);
  }

  get size(): number {
    return this.byDigest.size;
  }

  authenticate(token: string): Principal | undefined {
    // The digest of the token is the lookup key; the map's timing tells nothing about the token itself.
    return this.byDigest.get(sha256Hex(token));
  }

  principalOf(subjectId: string): Principal | undefined {
    for (const p of this.byDigest.values()) if (p.subject.subjectId === subjectId) return p;
    return undefined;
  }

  start(): void {
    if (this.timer) return;
    // A poll must never end the process: anything unexpected is logged and the current tokens stay.
    this.timer = setInterval(() => {
      this.reload().catch((err: unknown) =>
        this.options.logger.error({ file: this.options.path, err: err instanceof Error ? err.message : String(err) }, 'tokens file reload failed'),
      );
    }, this.options.pollIntervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the file again; keeps the current tokens (and logs why) when the new content cannot be used. */
  async reload(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      let text: string;
      try {
        text = await readFile(this.options.path, 'utf8');
      } catch (err) {
        this.refuse(`cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, []);
        return;
      }
      const hash = createHash('sha256').update(text).digest('hex');
      if (hash === this.contentHash) {
        this.lastError = undefined;
        return;
      }
      const parsed = parseTokensFile(text);
      if (!parsed.ok) {
        this.refuse('it is invalid', parsed.issues);
        return;
      }
      this.byDigest = this.index(parsed.entries);
      this.contentHash = hash;
      this.lastError = undefined;
      this.options.logger.info({ file: this.options.path, tokens: this.byDigest.size }, 'tokens file reloaded');
    } finally {
      this.reading = false;
    }
  }

  private refuse(why: string, issues: TokensFileIssue[]): void {
    const key = `${why}\n${JSON.stringify(issues)}`;
    if (key === this.lastError) return; // once per distinct problem, not once per poll
    this.lastError = key;
    this.options.logger.error(
      { file: this.options.path, issues: issues.slice(0, 20).map((i) => `${i.line}:${i.col}: ${i.message}`) },
      `tokens file refused (${why}); the previous tokens stay in force`,
    );
  }

  private index(entries: TokenEntry[]): Map<string, Principal> {
    return new Map(entries.map((e) => [e.tokenSha256, principalOf(e, this.options.tenant)]));
  }
}
