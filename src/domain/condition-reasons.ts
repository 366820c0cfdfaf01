// The PascalCase reasons conditions carry: part of the wire contract (clients, alerts and `mcpctl get`
// match on them), so each is written here once and src/ uses the constant. Condition types are in
// conditions.ts. test/domain/reasons.test.ts scans src/ for a reason written as a literal.

export const ConditionReason = {
  // An MCP server (mcp-server/*)
  /** Ready=Unknown and Reconciling=True: a write stored a new generation the reconciler has not applied yet. */
  Progressing: 'Progressing',
  /** Applied=True: the gateway store holds the current generation. */
  Applied: 'Applied',
  /** Discovered=True: the server answered and listed its tools. */
  Discovered: 'Discovered',
  /** Ready=True: applied, and the server answered (or each caller authenticates itself). */
  Ready: 'Ready',
  /** Discovered/Ready=Unknown, Reconciling=True: connecting to the server to list its tools. */
  Discovering: 'Discovering',
  /** Discovered=Unknown: the server authenticates each caller, so the control plane cannot list its tools. */
  PerUserAuthentication: 'PerUserAuthentication',
  /**
   * Discovered/Ready=False: an OAuth authorization_code server's authorization server metadata could not be
   * found or used (RFC 9728 → RFC 8414 / OpenID), and the manifest does not name both endpoints; no caller
   * could connect.
   */
  OAuthMetadataUnavailable: 'OAuthMetadataUnavailable',
  /** Ready=False: tool_settings name tools the server does not have. */
  UnknownTool: 'UnknownTool',
  /** Reconciling=True: the last attempt failed and is retried with backoff. */
  RetryingWithBackoff: 'RetryingWithBackoff',
  /** Ready=False: a reconcile failed for a reason that has no name of its own. */
  ReconcileFailed: 'ReconcileFailed',
  /** Ready=False: a secret reference of the manifest names nothing that exists. */
  SecretNotFound: 'SecretNotFound',
  /** Ready=False, Stalled=True: the stdio command is not (or no longer) allowed by --allow-stdio/--stdio-allow. */
  StdioNotAllowed: 'StdioNotAllowed',
  /** PolicyCompliant=True: the stored manifest keeps every rule of the admission policies that match it. */
  PolicyCompliant: 'PolicyCompliant',
  /** PolicyCompliant=False: the stored manifest breaks a rule of an admission policy (the message names it). */
  PolicyViolation: 'PolicyViolation',
  /** PolicyCompliant=Unknown: the server is being audited against changed admission policies. */
  PolicyAuditPending: 'PolicyAuditPending',

  // Why the upstream could not be used (discovery, the gateway's sessions, OAuth token requests)
  /** The server could not be reached (refused, reset, DNS, the process exited). */
  Unreachable: 'Unreachable',
  /** The server did not answer within its time budget. */
  Timeout: 'Timeout',
  /** The server's TLS certificate could not be verified. */
  TLSError: 'TLSError',
  /** The server wants credentials the control plane does not have (or they were refused). */
  AuthenticationRequired: 'AuthenticationRequired',
  /** The server answered, but not as MCP (or the manifest's URL cannot carry MCP). */
  ProtocolError: 'ProtocolError',
  /** The egress policy refused the server's address. */
  EgressDenied: 'EgressDenied',
  /** An answer of the server exceeded the byte cap. */
  ResponseTooLarge: 'ResponseTooLarge',

  // An mcp-server/virtual's sources
  /** Discovered/Ready=False: a source names no MCP server. */
  SourceNotFound: 'SourceNotFound',
  /** Ready=False: the virtual server's owner (its last writer, or GitOps) may no longer use this source. */
  SourceForbidden: 'SourceForbidden',
  /** Discovered/Ready=False: a source is itself a virtual server. */
  SourceIsVirtual: 'SourceIsVirtual',
  /** Discovered/Ready=False: a source is not Ready. */
  SourceNotReady: 'SourceNotReady',
  /** Discovered/Ready=False: a source is given an auth_data override (HTTP authentication), but it is an mcp-server/stdio server. */
  SourceAuthNotApplicable: 'SourceAuthNotApplicable',
  /** Discovered/Ready=False: two sources expose tools under the same name. */
  ToolNameConflict: 'ToolNameConflict',

  // An OpenAPI server (mcp-server/openapi)
  /** Ready=False: the document is not OpenAPI 3.0/3.1, or it could not be read or parsed. */
  InvalidOpenApiDocument: 'InvalidOpenApiDocument',
  /** Ready=False: the document's $refs form a cycle a tool's input schema would contain. */
  CircularReference: 'CircularReference',
  /** Ready=False: more than 30 operations with enable_all_tools: true; select them in tool_settings. */
  TooManyOperations: 'TooManyOperations',
  /** Ready=False: an operation's input schema grows past the size a tool may have. */
  ToolSchemaTooLarge: 'ToolSchemaTooLarge',

  // A watched directory (source)
  /** Ready=Unknown: the first sync of the directory has not finished. */
  Syncing: 'Syncing',
  /** Ready=True: every file of the directory is applied. */
  Synced: 'Synced',
  /** Ready=False: a sync failed; it is retried. */
  SyncFailed: 'SyncFailed',
  /** Ready=False: some files have errors; their servers are kept as they were. */
  FileErrors: 'FileErrors',
  /** Ready=False: files no longer declare servers, which are pruned once those files have read the same for the quiet period. */
  PrunePending: 'PrunePending',
  /** Ready=False: the watched directory does not exist. */
  DirectoryNotFound: 'DirectoryNotFound',
  /** Ready=False, Stalled=True: a prune would empty the directory, so nothing was pruned (--allow-empty-prune). */
  HoldingBackEmptyPrune: 'HoldingBackEmptyPrune',
} as const;

export type ConditionReason = (typeof ConditionReason)[keyof typeof ConditionReason];
