// Per-(subject, server) credentials: a caller's own header values (auth_data header, auth_level per_user) and
// OAuth tokens (authorization_code), the server's dynamically registered OAuth client, and the OAuth `state`
// of authorizations under way. Secret values are sealed at rest with the one secret key, like every other
// secret; the rest is plain data. Both engines keep them beside the gateway entries (the data plane reads
// them with the entry it serves).
/** `header`: a caller's header values; `oauth`: a caller's tokens; `client`: the server's registered OAuth client (subject ''). */
export type CredentialKind = 'header' | 'oauth' | 'client';

export interface Credential {
  /** The server's fqn. */
  fqn: string;
  /** The caller's subject id; '' for what belongs to the server (its registered client). */
  subject: string;
  kind: CredentialKind;
  /** Sealed at rest; never answered, logged or put in an event. */
  secrets: Record<string, string>;
  /** Not secret (expiry, scope, endpoints, client id). */
  data: Record<string, unknown>;
  /**
   * The fingerprint of the server's auth block the credential was made for (credential-binding.ts): a server
   * whose auth block now has another fingerprint drops it (dropCredentials).
   */
  binding: string;
}

export interface StoredCredential extends Credential {
  updatedAt: string;
}

/** An authorization under way: bound to (caller, server), used once, expiring. */
export interface OAuthState {
  /** sha256 of the state parameter (the parameter itself is stored nowhere). */
  id: string;
  fqn: string;
  subject: string;
  /** The PKCE code verifier; sealed at rest. */
  secrets: Record<string, string>;
  /** The redirect URI, the endpoints and client id the authorization was started with. */
  data: Record<string, unknown>;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** Calls made inside a unit of work of the same engine (the gateway store's) join it. */
export interface CredentialStore {
  getCredential(fqn: string, subject: string, kind: CredentialKind): Promise<StoredCredential | undefined>;
  /** Inserts or replaces the credential of (fqn, subject, kind). */
  putCredential(credential: Credential): Promise<void>;
  /** Up to `limit` credentials of one kind for a server (the most recently updated first): discovery tries them. */
  listCredentials(fqn: string, kind: CredentialKind, limit: number): Promise<StoredCredential[]>;
  /** Answers whether there was one. */
  deleteCredential(fqn: string, subject: string, kind: CredentialKind): Promise<boolean>;
  /**
   * Deletes the server's credentials (and its states under way): all of them, or with `keepBinding` those made
   * for another binding. Answers how many credentials it deleted.
   */
  dropCredentials(fqn: string, keepBinding?: string): Promise<number>;
  /** Stores a state; states expired at `now` are deleted on the way (so they never pile up). */
  putState(state: OAuthState, now: number): Promise<void>;
  /** Deletes and answers the state of that id (each state is taken once), expired or not; undefined when there is none. */
  takeState(id: string): Promise<OAuthState | undefined>;
}
