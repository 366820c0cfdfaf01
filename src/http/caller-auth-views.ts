// Answers carry authStatus for the calling subject: a per-user server's (per_user header values, OAuth
// authorization_code) is made from that caller's own credentials (src/credentials/caller-auth-status.ts);
// every other server's view is answered as stored. Only views whose manifest text names per-user auth are
// decoded, so a page of ordinary servers stays the stored texts joined.
import type { Clock } from '../domain/clock.js';
import type { Principal } from '../domain/principal.js';
import type { AuthStatus, McpServerResource } from '../domain/resource.js';
import { callerAuthStatus, perUserAuthOf } from '../credentials/caller-auth-status.js';
import type { CredentialStore } from '../store/index.js';

const PER_USER_MARKS = ['"auth_level":"per_user"', '"grant_type":"authorization_code"'];

export interface CallerAuthViewsOptions {
  credentials: Pick<CredentialStore, 'getCredential'>;
  /** The public URL (read at each answer: known once listening). */
  publicUrl: () => string;
  clock: Clock;
}

export class CallerAuthViews {
  constructor(private readonly options: CallerAuthViewsOptions) {}

  /** The caller's authStatus of a server, or undefined when the stored one stands (not per-user). */
  status(r: McpServerResource, principal: Principal): Promise<AuthStatus | undefined> {
    return callerAuthStatus(r, principal.subject.subjectId, { store: this.options.credentials, publicUrl: this.options.publicUrl(), now: this.options.clock.now() });
  }

  /** The caller's authStatus of a per-user server; undefined at once (no promise) for any other server. */
  statusIfPerUser(r: McpServerResource, principal: Principal): Promise<AuthStatus | undefined> | undefined {
    return perUserAuthOf(r) ? this.status(r, principal) : undefined;
  }

  /** A presented server (an object) with the caller's authStatus. */
  async object<T extends { authStatus: unknown }>(r: McpServerResource, view: T, principal: Principal): Promise<T> {
    const status = await this.status(r, principal);
    return status ? { ...view, authStatus: status } : view;
  }

  /** A view's text with the caller's authStatus; `resource` reads the server of a per-user view. */
  async text(view: string, principal: Principal, resource: (fqn: string) => Promise<McpServerResource | undefined>): Promise<string> {
    if (!PER_USER_MARKS.some((mark) => view.includes(mark))) return view;
    const parsed = JSON.parse(view) as { fqn: string; authStatus: unknown };
    const r = await resource(parsed.fqn);
    const status = r && (await this.status(r, principal));
    return status ? JSON.stringify({ ...parsed, authStatus: status }) : view;
  }
}
