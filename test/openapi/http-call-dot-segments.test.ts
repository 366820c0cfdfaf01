// Path parameters that together make a dot segment: a template with two parameters in one segment
// (/f/{a}{b}, /{name}.{ext}) is checked after substitution, so no argument can move the request off the
// operation's path (src/openapi/http-call.ts).
import type { OpenApiOperation } from '../../src/openapi/catalog.js';
import { ArgumentError, buildRequest } from '../../src/openapi/http-call.js';

const op = (path: string, names: string[]): OpenApiOperation => ({
  tool: { name: 't', inputSchema: { type: 'object' } },
  method: 'get',
  path,
  parameters: names.map((name) => ({ name, in: 'path' as const, arg: name, required: true, explode: false })),
});

describe('path parameters after substitution', () => {
  it.each([
    ['/f/{a}{b}', { a: '.', b: '.' }],
    ['/f/{a}{b}/x', { a: '', b: '.' }],
    ['/{name}.{ext}', { name: '', ext: '' }],
    ['/{name}.{ext}', { name: '.', ext: '' }],
    ['/files/{name}.{ext}/raw', { name: '', ext: '.' }],
  ])('refuses %s with %j', (path, args) => {
    const names = Object.keys(args);
    expect(() => buildRequest(op(path, names), args, 'https://a.example/api', {})).toThrow(ArgumentError);
    expect(() => buildRequest(op(path, names), args, 'https://a.example/api', {})).toThrow(/"\." or "\.\."/);
  });

  it('builds the path when no segment is a dot segment', () => {
    expect(buildRequest(op('/{name}.{ext}', ['name', 'ext']), { name: 'report', ext: 'pdf' }, 'https://a.example/api', {}).url.pathname).toBe('/api/report.pdf');
    expect(buildRequest(op('/f/{a}{b}', ['a', 'b']), { a: '.', b: 'x' }, 'https://a.example', {}).url.pathname).toBe('/f/.x');
  });
});
