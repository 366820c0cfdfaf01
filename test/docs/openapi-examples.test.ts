// examples/openapi-*.yaml are part of the docs: they must validate, and the inline one's document must be
// served as the tools it promises.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocuments, validateManifest } from '../../src/manifest/index.js';
import type { OpenApiMcpServerManifest } from '../../src/domain/manifest.js';
import { discoverOpenApi } from '../../src/openapi/discover-openapi.js';

const root = join(import.meta.dirname, '..', '..');
const files = readdirSync(join(root, 'examples')).filter((f) => /^openapi-.*\.yaml$/.test(f));

it('has OpenAPI examples', () => {
  expect(files.sort()).toEqual(['openapi-inline.yaml', 'openapi-petstore.yaml']);
});

it.each(files)('examples/%s parses and validates', (file) => {
  for (const doc of parseDocuments(readFileSync(join(root, 'examples', file), 'utf8'))) {
    expect(doc.errors).toEqual([]);
    const result = validateManifest(doc.value);
    expect(result.ok ? [] : result.errors).toEqual([]);
  }
});

it('examples/openapi-inline.yaml serves the two operations it selects, named as it says', async () => {
  const [doc] = parseDocuments(readFileSync(join(root, 'examples', 'openapi-inline.yaml'), 'utf8'));
  const m = doc!.value as OpenApiMcpServerManifest;
  const found = await discoverOpenApi(
    { source: m.openapi_spec_source, apiUrl: m.url, headers: {}, tls: { rejectUnauthorized: true }, timeoutMs: 10_000, enableAllTools: m.enable_all_tools, toolSettings: m.tool_settings, authConfigured: 'oauth2' },
    { maxBytes: 1024 * 1024 },
  );
  expect(found.result.ok).toBe(true);
  expect(found.catalog!.operations.map((o) => o.tool.name)).toEqual(['list_invoices', 'get_invoice']);
});
