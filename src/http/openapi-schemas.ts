// JSON Schemas of what the API answers (present.ts and friends), for the OpenAPI document. Request
// bodies and the manifest are not here: they come from schemas/*.json, the single source of truth.
// References use the component names openapi.ts gives those files (their `title`), and McpServerManifest,
// which openapi.ts builds from every manifest kind among them.

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
const time = (description: string): Schema => ({ type: 'string', format: 'date-time', description });
const int = (description: string): Schema => ({ type: 'integer', minimum: 0, description });
const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties), description?: string): Schema => ({
  type: 'object',
  ...(description ? { description } : {}),
  required,
  properties,
});

export const RESPONSE_SCHEMAS: Record<string, Schema> = {
  Condition: obj(
    {
      type: str('Ready, Applied, Discovered, Reconciling or Stalled.'),
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      reason: str('PascalCase, machine-readable.'),
      message: str('What happened and what to do.'),
      lastTransitionTime: time('When status last changed.'),
      observedGeneration: int('The generation this condition describes.'),
    },
    undefined,
    'A Kubernetes-style condition.',
  ),
  Subject: obj({
    subjectId: str(),
    subjectType: { type: 'string', enum: ['user', 'team', 'serviceaccount', 'virtualaccount'] },
    subjectSlug: str(),
    subjectDisplayName: str(),
  }),
  SourceRef: {
    description: 'Who manages the resource: the API, or a file of a watched directory.',
    oneOf: [
      obj({ kind: { const: 'api' } }),
      obj({
        kind: { const: 'file' },
        root: str('The watched directory.'),
        path: str('The file, relative to root.'),
        document: int('0-based index of the document in the file.'),
      }),
    ],
  },
  AuthStatus: obj({
    status: { type: 'string', enum: ['authenticated', 'authentication_required', 'authentication_not_required', 'unknown'] },
    method: { enum: ['oauth', 'auth-override', 'header', 'passthrough', null] },
    message: str(),
    authorizeUrl: str('A per-user OAuth server the caller has not connected: POST here to start.'),
  }, ['status', 'method', 'message'], 'For a per-user server (per_user header values, OAuth authorization_code): about the calling subject.'),
  Tool: obj(
    {
      name: str(),
      description: str('What the gateway shows: the tool_settings override, else the upstream description.'),
      upstreamDescription: str(),
      inputSchema: { type: 'object' },
      annotations: { type: 'object' },
      disabled: { type: 'boolean', description: 'Disabled by tool_settings: listed here, not served by the gateway.' },
      source: str('mcp-server/virtual: the source server that serves the tool.'),
    },
    ['name', 'inputSchema', 'disabled'],
  ),
  McpServer: obj(
    {
      id: str(),
      fqn: str('<tenant>:mcp-server:<name>'),
      name: str(),
      manifest: ref('McpServerManifest'),
      createdBySubject: ref('Subject'),
      accountId: str(),
      tools: { type: 'array', items: ref('Tool') },
      specEndpoints: { type: 'array' },
      createdAt: time('Creation time.'),
      updatedAt: time('Last change of the desired state.'),
      proxyUrl: { type: 'string', format: 'uri', description: 'Where the gateway serves the server.' },
      authStatus: ref('AuthStatus'),
      generation: int('Increases only when the spec changes.'),
      resourceVersion: str('Changes on every write, status included; the ETag and the watch event id.'),
      source: ref('SourceRef'),
      metadata: { type: 'object' },
      status: obj({ observedGeneration: int('The generation the status describes.'), conditions: { type: 'array', items: ref('Condition') } }),
    },
    ['id', 'fqn', 'name', 'manifest', 'tools', 'generation', 'resourceVersion', 'source', 'status', 'proxyUrl', 'authStatus'],
    'An MCP server as every route answers it.',
  ),
  DiffOp: obj(
    {
      op: { type: 'string', enum: ['add', 'remove', 'replace'] },
      path: str('JSON pointer into the manifest (/metadata/... for metadata).'),
      from: {},
      to: {},
      secret: { const: true, description: 'A secret value changed; neither side is shown.' },
    },
    ['op', 'path'],
  ),
  PolicyVerdict: obj(
    {
      policy: str('The admission policy.'),
      action: { type: 'string', enum: ['deny', 'warn', 'audit'] },
      rule: int('The index of the rule broken (/rules/N).'),
      message: str("The rule's message."),
      error: str('Set when the rule could not be evaluated (an error, the deadline): why.'),
      timedOut: { const: true, description: 'The rules were not answered within --policy-evaluation-timeout.' },
    },
    ['policy', 'action', 'rule', 'message'],
    'A rule of an admission policy that the write breaks.',
  ),
  AdmissionPolicy: obj(
    {
      id: str(),
      name: str(),
      type: { const: 'mcp-policy/admission' },
      manifest: ref('AdmissionPolicyManifest'),
      generation: int('Moves with each change of the manifest.'),
      resourceVersion: str(),
      source: ref('SourceRef'),
      createdBySubject: ref('Subject'),
      updatedBy: ref('Subject'),
      createdAt: time('Created.'),
      updatedAt: time('Last written.'),
      status: obj({
        conditions: { type: 'array', items: ref('Condition') },
        audit: {
          oneOf: [
            obj({
              observedGeneration: int('The generation of the policy audited.'),
              matched: int('Stored servers the policy matches.'),
              violating: int('Of them, servers that break a rule.'),
              violations: { type: 'array', items: obj({ server: str(), rule: int('The rule (/rules/N).'), message: str() }) },
              auditedAt: time('When the audit ended.'),
            }),
            { type: 'null' },
          ],
          description: 'The audit of the stored servers against this policy; null until it ran.',
        },
      }),
    },
    undefined,
    'An admission policy (mcp-policy/admission).',
  ),
  AdmissionPolicyList: obj({
    data: { type: 'array', items: ref('AdmissionPolicy') },
    pagination: obj({ total: int('Policies, all pages.'), offset: int('First item.'), limit: int('Page size.') }),
  }),
  AdmissionPolicyOne: obj({ data: ref('AdmissionPolicy') }),
  ApplyResponse: obj(
    {
      data: { oneOf: [ref('McpServer'), ref('AdmissionPolicy')] },
      action: { type: 'string', enum: ['CREATE', 'UPDATE', 'UNCHANGED'] },
      dryRun: { type: 'boolean' },
      existingManifest: { oneOf: [ref('McpServerManifest'), { type: 'null' }] },
      diff: { type: 'array', items: ref('DiffOp') },
      warnings: { type: 'array', items: str() },
      admission: { type: 'array', items: ref('PolicyVerdict'), description: 'Rules of admission policies the write breaks (warn, audit); deny refuses it (400 PolicyViolation).' },
    },
    ['data', 'action', 'dryRun', 'existingManifest', 'diff'],
  ),
  McpServerOne: obj({ data: ref('McpServer') }),
  CredentialValues: obj(
    { values: { type: 'object', additionalProperties: { type: 'string', maxLength: 8192 }, description: 'Placeholder name → your own value (an admin may give a ${env:…} reference).' } },
    undefined,
    "The caller's own values for the {{NAME}} placeholders of a per_user header server.",
  ),
  OAuthAuthorization: obj({
    data: obj({
      authorizationUrl: str('Open this in a browser to connect your account.'),
      redirectUri: str('Where the authorization server sends the browser back (<public-url>/oauth/callback).'),
      expiresInSeconds: { type: 'integer', description: 'How long the authorization may take (600).' },
    }),
  }),
  OAuthDisconnected: obj({ data: obj({ disconnected: { type: 'boolean', description: 'Whether you had tokens for this server.' }, authStatus: ref('AuthStatus') }) }),
  CallerCredentials: obj({
    data: obj({
      id: str(),
      name: str(),
      names: { type: 'array', items: str(), description: 'The names the caller has set (never their values).' },
      missing: { type: 'array', items: str(), description: "The names the server's headers ask for that the caller has not set." },
      authStatus: ref('AuthStatus'),
    }),
  }),
  Revision: obj(
    {
      resourceId: str('The id of the server (a deleted one keeps its id here).'),
      name: str(),
      generation: { type: 'integer', minimum: 1, description: 'The generation this revision is.' },
      createdAt: time('When it was written.'),
      deletedAt: { oneOf: [time('When its server was deleted; its revisions are kept for --revision-retention.'), { type: 'null' }] },
      subject: ref('Subject'),
      source: {
        type: 'object',
        description: 'Where the write came from: the SourceRef, `via` (api, gaia, rollback or file) and, for a file, the line of its document.',
        required: ['kind', 'via'],
        properties: { kind: { type: 'string', enum: ['api', 'file'] }, via: { type: 'string', enum: ['api', 'gaia', 'rollback', 'file'] }, root: str(), path: str(), document: int('The document index.'), line: int('The line the document starts at.') },
      },
      rolledBackTo: { oneOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }], description: 'A rollback: the generation it applied again.' },
      change: str('The change in one line: the paths of the diff ("created" for generation 1).'),
      diff: { type: 'array', items: ref('DiffOp'), description: 'From the generation before (masked: a secret shows only that it changed).' },
      manifest: { ...ref('McpServerManifest'), description: 'The spec, secrets masked (GET .../revisions/{generation} only).' },
    },
    ['resourceId', 'name', 'generation', 'createdAt', 'deletedAt', 'subject', 'source', 'rolledBackTo', 'change', 'diff'],
  ),
  RevisionList: obj({
    data: { type: 'array', items: ref('Revision') },
    pagination: obj({ total: int('Revisions kept, all pages.'), offset: int('First item.'), limit: int('Page size.') }),
  }),
  RevisionOne: obj({ data: ref('Revision') }),
  RollbackRequest: obj(
    {
      toGeneration: { type: 'integer', minimum: 1, description: 'The generation whose spec (secrets included) to apply again.' },
      dryRun: { type: 'boolean', default: false, description: 'true: answer the plan only; nothing is written.' },
    },
    ['toGeneration'],
  ),
  RollbackResponse: {
    allOf: [ref('ApplyResponse'), obj({ rolledBackTo: { type: 'integer', minimum: 1 } })],
  },
  McpServerList: obj({
    data: { type: 'array', items: ref('McpServer') },
    pagination: obj({ total: int('Servers matching, all pages.'), offset: int('First item.'), limit: int('Page size.') }),
  }),
  WatchEvent: obj(
    {
      type: { type: 'string', enum: ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'] },
      object: {
        description:
          'ADDED / MODIFIED / DELETED: the server as GET answers it (DELETED of a server the caller may no longer read: id, fqn, name and resourceVersion only). ' +
          'BOOKMARK: { resourceVersion, initialEventsEnd? }. ERROR: { code?, reason: Expired | TooSlow, message, resourceVersion? }, then the stream ends.',
        oneOf: [
          ref('McpServer'),
          obj({ id: str(), fqn: str(), name: str(), resourceVersion: str() }),
          obj({ resourceVersion: str(), initialEventsEnd: { type: 'boolean' } }, ['resourceVersion']),
          obj({ code: { type: 'integer' }, reason: { type: 'string', enum: ['Expired', 'TooSlow'] }, message: str(), resourceVersion: str() }, ['reason', 'message']),
        ],
      },
    },
    undefined,
    'The JSON in the data: line of one event of the watch stream; the SSE id: line carries the resourceVersion.',
  ),
  Event: obj(
    {
      type: { type: 'string', enum: ['Normal', 'Warning'] },
      reason: str(),
      message: str(),
      count: { type: 'integer', minimum: 1, description: 'Repeats folded into this event.' },
      firstTimestamp: time('First occurrence.'),
      lastTimestamp: time('Latest occurrence.'),
      subject: obj({ fqn: str(), id: str() }),
      actor: str('Who caused it: a subject id, serviceaccount:gitops, or reconciler.'),
    },
    ['type', 'reason', 'message', 'count', 'firstTimestamp', 'lastTimestamp', 'subject'],
  ),
  EventList: obj({ data: { type: 'array', items: ref('Event') } }),
  SourceStatus: obj(
    {
      path: str('The watched directory (absolute).'),
      lastSyncTime: { type: ['string', 'null'], format: 'date-time' },
      conditions: { type: 'array', items: ref('Condition') },
      files: {
        type: 'array',
        items: obj({
          path: str('Relative to the directory.'),
          contentHash: { type: ['string', 'null'] },
          resources: { type: 'array', items: str('A server name the file declares.') },
          errors: { type: 'array', items: obj({ line: int('1-based.'), col: int('1-based.'), pointer: str('JSON pointer into the document.'), message: str() }) },
        }),
      },
    },
    undefined,
    'A watched manifest directory, its files and every error in them.',
  ),
  SourceList: obj({ data: { type: 'array', items: ref('SourceStatus') } }),
  GatewayEntry: obj(
    {
      fqn: str(),
      name: str(),
      resourceId: str(),
      accountId: str(),
      upstreamUrl: str(),
      transport: { enum: ['streamable-http', 'sse', null] },
      headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Header names; every value masked.' },
      passthroughAuth: { type: 'boolean' },
      tls: { type: 'object' },
      disabledTools: { type: 'array', items: str() },
      toolOverrides: { type: 'object' },
      virtual: { type: ['object', 'null'], description: 'mcp-server/virtual: its sources as resolved (names, fqns, tools served); null for other kinds.' },
      generation: int('The resource generation the entry was built from.'),
      configHash: str(),
      updatedAt: time('Last write.'),
    },
    ['fqn', 'name', 'upstreamUrl', 'generation'],
  ),
  GatewayEntryList: obj({ data: { type: 'array', items: ref('GatewayEntry') } }),
  Error: obj({
    error: obj(
      {
        code: str('e.g. InvalidInput, Unauthorized, Forbidden, NotFound, Conflict, Expired.'),
        message: str('What is wrong and what to do.'),
        details: { type: 'array', items: obj({ path: str('JSON pointer.'), message: str() }) },
      },
      ['code', 'message'],
    ),
  }),
  GaiaAnswer: {
    type: 'object',
    required: ['success'],
    properties: { success: { const: true }, message: str(), serverId: str(), server: { type: 'object' }, servers: { type: 'array', items: { type: 'object' } }, tools: { type: 'array', items: { type: 'object' } } },
    description: "The GAIA-style envelope: { success: true, ... } with the route's payload.",
  },
  GaiaDetectTransportAnswer: obj(
    {
      success: { type: 'boolean' },
      message: str(),
      supportedTypes: { type: 'array', items: { enum: ['stdio', 'http', 'sse'] }, description: 'Every transport that answered initialize.' },
      recommended: { enum: ['http', 'sse', null], description: 'http when Streamable HTTP works, else sse; null when none does.' },
      reason: { enum: ['unreachable', 'timeout', 'tls_error', 'protocol_error', 'egress_denied', 'authentication_required'], description: 'With success false: why no transport answered.' },
    },
    ['success', 'message', 'supportedTypes', 'recommended'],
  ),
  GaiaDetectAuthAnswer: obj(
    {
      success: { type: 'boolean' },
      message: str(),
      authType: { enum: ['none', 'bearer', 'oauth'], description: 'none: initialize answered without credentials; bearer: a 401 without OAuth metadata (a bearer token or API key); oauth: a 401 and OAuth metadata.' },
      oauth: obj(
        {
          authorizationServer: str('The issuer.'),
          authorizationEndpoint: str(),
          tokenEndpoint: str(),
          registrationEndpoint: str('Dynamic client registration (RFC 7591), when offered.'),
          scopesSupported: { type: 'array', items: str() },
          pkce: { type: 'boolean', description: 'The authorization server supports PKCE with S256.' },
        },
        ['authorizationServer', 'authorizationEndpoint', 'tokenEndpoint', 'pkce'],
      ),
      reason: { enum: ['unreachable', 'timeout', 'tls_error', 'protocol_error', 'egress_denied', 'invalid_metadata', 'resource_mismatch'], description: 'With success false: why it could not be told.' },
    },
    ['success', 'message'],
  ),
  GaiaError: obj({ success: { const: false }, message: str(), errors: { type: 'array', items: obj({ path: str(), message: str() }) } }, ['success', 'message']),
  GaiaPatchServerRequest: { type: 'object', minProperties: 1, description: 'The fields of GaiaCreateServerRequest to change, all optional.' },
  GatewayError: { type: 'object', description: 'A refusal by the gateway (JSON, or a JSON-RPC error for MCP-level failures).' },
  Health: obj({ status: { const: 'ok' } }),
  ClusterStatus: obj({
    self: obj({ id: str('This replica.') }),
    leader: {
      description: 'The holder of the leader lease; null while none holds an unexpired one.',
      oneOf: [obj({ id: str(), epoch: int('Grows by one at every change of leader.'), since: time('When this leader took the lease.') }), { type: 'null' }],
    },
    replicas: {
      type: 'array',
      items: obj({
        id: str(),
        url: str('How the other replicas reach it (--advertise-url).'),
        version: str('Its build.'),
        leader: { type: 'boolean' },
        lastSeen: time('Its latest heartbeat (database clock).'),
        live: { type: 'boolean', description: 'Seen within the lease duration.' },
      }),
    },
  }),
  RefreshAnswer: {
    description: "The leader's refresh, as the follower that forwarded it answers it (200, 404, 503 or 504).",
    oneOf: [obj({ ok: { const: true } }), obj({ ok: { const: false }, reason: { enum: ['NotFound', 'Timeout', 'Unavailable'] }, message: str() })],
  },
  Readiness: obj({ status: { type: 'string', enum: ['ready', 'not ready'] }, reason: str('What is still missing.') }, ['status']),
};
