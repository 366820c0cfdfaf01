// The SDK Client the control plane lists a server's tools with (discovery over HTTP and over stdio).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation';

export const CLIENT_INFO = { name: 'mcp-control-plane', version: '0.1.0' };

/**
 * Listing never calls a tool, so it never checks a tool's output against its outputSchema. The SDK's
 * default would build an Ajv instance per Client (most of the CPU of a discovery that fails fast) and
 * compile every outputSchema listed; this one compiles nothing.
 */
const NO_OUTPUT_VALIDATION: jsonSchemaValidator = {
  getValidator: () => () => ({ valid: false, data: undefined, errorMessage: 'discovery does not call tools' }),
};

/** A new Client declaring no capabilities, that compiles no schema; its background errors are dropped (the awaited calls report them). */
export function listingClient(): Client {
  const client = new Client(CLIENT_INFO, { capabilities: {}, jsonSchemaValidator: NO_OUTPUT_VALIDATION });
  client.onerror = () => undefined;
  return client;
}
