// mcp-server/openapi: what the gateway needs to serve an OpenAPI document as MCP tools, made at discovery
// from the dereferenced document and kept in the gateway entry (so the data plane never reads the document).

/** One parameter of an operation, as a tool argument. Cookie parameters are not served. */
export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  /** Its key in the tool's arguments: the name, or `<in>_<name>` when another argument has that name. */
  arg: string;
  required: boolean;
  /** Query only: arrays and objects as repeated keys (true, the OpenAPI default for `form`) or comma-joined. */
  explode: boolean;
}

/** The tool of one operation, as tools/list answers it. */
export interface OpenApiTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export interface OpenApiOperation {
  tool: OpenApiTool;
  /** Lowercase HTTP method. */
  method: string;
  /** The path template as the document writes it, e.g. /pet/{petId}. */
  path: string;
  parameters: OpenApiParameter[];
  /** The request body, from the `body` argument: JSON (serialised) or text sent as is with `mediaType`. */
  body?: { mediaType: string; json: boolean; required: boolean };
}

/** Everything the gateway serves of one document. */
export interface OpenApiCatalog {
  /** sha256 (hex) of the document as read (the fetched bytes, or the inline text or object). */
  specHash: string;
  /** sha256 (hex) of the operations: a different tool list (document or tool_settings changed) has another. */
  revision: string;
  operations: OpenApiOperation[];
}

/** The argument that carries the request body. */
export const BODY_ARG = 'body';
