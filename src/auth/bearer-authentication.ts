// Who may call with a bearer token, as every process that serves callers builds it (the control plane, and
// the data plane on its own thread): the break-glass admin token first, then the entries of --tokens-file,
// then what an embedder adds.
import type { Logger } from '../domain/logger.js';
import { adminPrincipal } from '../domain/principal.js';
import { type Authenticator, ChainAuthenticator, StaticTokenAuthenticator } from './authenticator.js';
import { TokensFileAuthenticator } from './tokens-file.js';

export interface BearerAuthenticationOptions {
  adminToken: string;
  tenant: string;
  /** --tokens-file, if given. */
  tokensFile?: string | undefined;
  /** How often the tokens file is checked for changes (tests shorten it). Default 1 s. */
  tokensFilePollIntervalMs?: number | undefined;
  logger: Logger;
  /** Asked after the admin token and the tokens file. */
  more?: readonly Authenticator[];
}

export interface BearerAuthentication {
  authenticator: Authenticator;
  /** The tokens file's authenticator: its owner start()s its poll for changes and stop()s it. */
  tokensFile: TokensFileAuthenticator | undefined;
}

/**
 * Reads the tokens file now: one that cannot be used throws (TokensFileError names file:line:col), before
 * the caller opens anything else.
 */
export function bearerAuthentication(options: BearerAuthenticationOptions): BearerAuthentication {
  const tokensFile = options.tokensFile
    ? new TokensFileAuthenticator({
        path: options.tokensFile,
        tenant: options.tenant,
        logger: options.logger.child({ component: 'tokens-file' }),
        ...(options.tokensFilePollIntervalMs !== undefined ? { pollIntervalMs: options.tokensFilePollIntervalMs } : {}),
      })
    : undefined;
  const authenticator = new ChainAuthenticator([
    new StaticTokenAuthenticator(options.adminToken, adminPrincipal(options.tenant)),
    ...(tokensFile ? [tokensFile] : []),
    ...(options.more ?? []),
  ]);
  return { authenticator, tokensFile };
}
