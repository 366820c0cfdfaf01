import { jest } from '@jest/globals';
import { ajv, applyRequestSchema, gaiaCreateRequestSchema, openApiServerSchema, remoteServerSchema, type SchemaObject } from '../../src/manifest/schemas.js';
import { validateApplyRequest, validateManifest } from '../../src/manifest/validate.js';
import { minimalManifest } from './manifests.js';

/** Every `properties` member of a schema document, with its path, for documentation checks. */
function propertiesOf(schema: unknown, path = '#'): [string, SchemaObject][] {
  if (schema === null || typeof schema !== 'object') return [];
  const out: [string, SchemaObject][] = [];
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && value && typeof value === 'object') {
      for (const [name, sub] of Object.entries(value as Record<string, SchemaObject>)) out.push([`${path}/properties/${name}`, sub]);
    }
    if (key !== 'if') out.push(...propertiesOf(value, `${path}/${key}`));
  }
  return out;
}

describe.each([
  ['mcp-server-remote', remoteServerSchema],
  ['mcp-server-openapi', openApiServerSchema],
  ['apply-request', applyRequestSchema],
  ['gaia-create-request', gaiaCreateRequestSchema],
])('schemas/%s.schema.json', (_name, schema) => {
  it('is a draft 2020-12 schema with $id, title and description', () => {
    expect(schema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: expect.stringMatching(/^https:\/\/.+\.schema\.json$/),
      title: expect.any(String),
      description: expect.any(String),
    });
  });

  it('describes every property (the OpenAPI document is generated from it)', () => {
    const undocumented = propertiesOf(schema).filter(([, sub]) => typeof sub.description !== 'string').map(([p]) => p);
    expect(undocumented).toEqual([]);
  });
});

describe('compiled validators', () => {
  it('are compiled on first use (a start validates nothing it does not have to), once, not per call', () => {
    const compile = jest.spyOn(ajv, 'compile');
    try {
      validateManifest(minimalManifest());
      validateApplyRequest({ manifest: {} });
      const firstUse = compile.mock.calls.map(([schema]) => schema);
      expect(new Set(firstUse).size).toBe(firstUse.length);
      validateManifest(minimalManifest());
      validateManifest({ ...minimalManifest(), name: 'Bad' });
      validateApplyRequest({ manifest: {} });
      expect(compile).toHaveBeenCalledTimes(firstUse.length);
    } finally {
      compile.mockRestore();
    }
  });
});
