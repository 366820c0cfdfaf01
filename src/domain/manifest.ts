// Types of the manifests, following schemas/*.schema.json. The schema is the source of truth for
// validation; these types describe a manifest that has passed validation and normalisation.

export const REMOTE_SERVER_TYPE = 'mcp-server/remote';
export const STDIO_SERVER_TYPE = 'mcp-server/stdio';
export const VIRTUAL_SERVER_TYPE = 'mcp-server/virtual';
export const OPENAPI_SERVER_TYPE = 'mcp-server/openapi';

export type CollaboratorRole = 'mcp-server-manager' | 'mcp-server-user';

export interface Collaborator {
  /** `user:<email>`, `team:<slug>`, `serviceaccount:<name>`, `virtualaccount:<name>` */
  subject: string;
  role_id: CollaboratorRole;
}

export interface TlsSettings {
  reject_unauthorized: boolean;
  /** PEM bundle trusted for this server only. */
  ca_cert?: string;
}

export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

export interface ToolSetting {
  name: string;
  /** Overrides the upstream description that the gateway shows. */
  description?: string;
  disabled: boolean;
  annotations?: ToolAnnotations;
}

export interface HeaderAuth {
  type: 'header';
  /** Header name → value. Values are secrets. */
  headers: Record<string, string>;
  auth_level: 'global' | 'per_user';
}

export interface OAuth2Auth {
  type: 'oauth2';
  grant_type: 'authorization_code' | 'client_credentials';
  /** Required for client_credentials; authorization_code discovers it from the server's metadata when absent. */
  token_url?: string;
  jwt_source: 'access_token' | 'id_token';
  authorization_url?: string;
  client_id?: string;
  /** Secret. */
  client_secret?: string;
  registration_url?: string;
  scopes?: string[];
}

export interface PassthroughAuth {
  type: 'passthrough';
}

export type AuthData = HeaderAuth | OAuth2Auth | PassthroughAuth;

export type McpTransport = 'streamable-http' | 'sse';

/** `proxy` (the default when absent): the gateway serves it at /mcp/{name}; `direct`: clients connect to `url` themselves. */
export type ConnectionType = 'proxy' | 'direct';

export interface Timeouts {
  /** One MCP request. Default 30000 when `timeouts` is given. */
  request_ms: number;
  /** A whole discovery; the gateway's budget for connecting a session. Default 60000 when `timeouts` is given. */
  total_ms: number;
}

export interface UpstreamProxy {
  /** An HTTP proxy reached with CONNECT. */
  url: string;
  /** Default "Authorization". */
  auth_header: string;
  /** Secret. */
  auth_token?: string;
}

export interface RemoteMcpServerManifest {
  type: typeof REMOTE_SERVER_TYPE;
  name: string;
  description: string;
  url: string;
  /** Preset transport: only this one is used (no detection). Absent: detected. */
  transport?: McpTransport;
  /** Absent means `proxy`. */
  connection_type?: ConnectionType;
  /** Absent: the control plane's defaults. */
  timeouts?: Timeouts;
  upstream_proxy?: UpstreamProxy;
  collaborators: Collaborator[];
  tls_settings: TlsSettings;
  tool_settings: ToolSetting[];
  auth_data?: AuthData;
  /** Header name → value, sent upstream; `auth_data` headers win on a clash. Values are secrets. */
  additional_headers: Record<string, string>;
  ownedBy?: { account: string };
  tags: Record<string, string>;
}

/** mcp-server/stdio credentials: environment variables of the process. Values are secrets. */
export interface EnvAuth {
  type: 'env';
  env: Record<string, string>;
  /** `per_user` is refused by validation until per-user credentials exist. */
  auth_level: 'global' | 'per_user';
}

/** A local MCP server the control plane runs (stdin/stdout); only with --allow-stdio and a command on --stdio-allow. */
export interface StdioMcpServerManifest {
  type: typeof STDIO_SERVER_TYPE;
  name: string;
  description: string;
  /** An absolute path, or a name looked up on the control plane's PATH; must be on --stdio-allow as written. */
  command: string;
  args: string[];
  /**
   * Deprecated spelling of auth_data.env: normalising rewrites it, so only manifests stored before
   * auth_data carry it. Read the environment with stdioEnv().
   */
  env?: Record<string, string>;
  /** The process's environment besides PATH. */
  auth_data?: EnvAuth;
  timeouts?: Timeouts;
  collaborators: Collaborator[];
  tool_settings: ToolSetting[];
  ownedBy?: { account: string };
  tags: Record<string, string>;
}

/** One source of a virtual server: a registered remote or stdio server, by name. */
export interface VirtualSource {
  name: string;
  /** Tool names at the source; absent: every tool the source serves. */
  enabled_tools?: string[];
  /** Replaces the source's own auth_data for this virtual server (a remote source). Header values are secrets. */
  auth_data?: HeaderAuth | PassthroughAuth;
}

/** One gateway endpoint composed of tools of other registered servers (schemas/mcp-server-virtual.schema.json). */
export interface VirtualMcpServerManifest {
  type: typeof VIRTUAL_SERVER_TYPE;
  name: string;
  description: string;
  servers: VirtualSource[];
  collaborators: Collaborator[];
  ownedBy?: { account: string };
  tags: Record<string, string>;
}

/** mcp-server/openapi: one operation of the document (method + path as written there) and how its tool looks. */
export interface OperationSetting {
  method: 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';
  path: string;
  name?: string;
  description?: string;
  annotations?: ToolAnnotations;
}

export type OpenApiSpecSource = { type: 'remote'; url: string } | { type: 'inline'; openapi_spec: Record<string, unknown> | string };

/** A REST API described by an OpenAPI 3.0/3.1 document, served by the gateway as an MCP server of its own making. */
export interface OpenApiMcpServerManifest {
  type: typeof OPENAPI_SERVER_TYPE;
  name: string;
  description: string;
  /** The API's base URL: a call goes to this URL followed by the operation's path. */
  url: string;
  openapi_spec_source: OpenApiSpecSource;
  /** true: every operation is a tool (at most 30); false: only those in tool_settings. */
  enable_all_tools: boolean;
  tool_settings: OperationSetting[];
  timeouts?: Timeouts;
  collaborators: Collaborator[];
  tls_settings: TlsSettings;
  auth_data?: AuthData;
  /** Values are secrets. */
  additional_headers: Record<string, string>;
  ownedBy?: { account: string };
  tags: Record<string, string>;
}

/** Every manifest kind the control plane stores. Other kinds join this union. */
export type McpServerManifest = RemoteMcpServerManifest | StdioMcpServerManifest | VirtualMcpServerManifest | OpenApiMcpServerManifest;

export function isStdioManifest(m: McpServerManifest): m is StdioMcpServerManifest {
  return m.type === STDIO_SERVER_TYPE;
}

/** The environment a stdio server's process gets besides PATH: auth_data.env, else the deprecated top-level env. */
export function stdioEnv(m: StdioMcpServerManifest): Record<string, string> {
  return m.auth_data?.env ?? m.env ?? {};
}

export function isVirtualManifest(m: McpServerManifest): m is VirtualMcpServerManifest {
  return m.type === VIRTUAL_SERVER_TYPE;
}

export function isOpenApiManifest(m: McpServerManifest): m is OpenApiMcpServerManifest {
  return m.type === OPENAPI_SERVER_TYPE;
}
