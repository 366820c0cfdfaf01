// One tools/call → one HTTP request, and its answer → the tool result (src/openapi/http-call.ts). Pure.
import type { OpenApiOperation } from '../../src/openapi/catalog.js';
import { ArgumentError, buildRequest, MAX_RESULT_BYTES, MAX_RESULT_CHARS, resultOf } from '../../src/openapi/http-call.js';

const op = (over: Partial<OpenApiOperation> = {}): OpenApiOperation => ({
  tool: { name: 't', inputSchema: { type: 'object' } },
  method: 'get',
  path: '/items/{id}',
  parameters: [
    { name: 'id', in: 'path', arg: 'id', required: true, explode: true },
    { name: 'tags', in: 'query', arg: 'tags', required: false, explode: false },
    { name: 'filter', in: 'query', arg: 'filter', required: false, explode: true },
    { name: 'X-Trace', in: 'header', arg: 'X-Trace', required: false, explode: true },
    { name: 'Host', in: 'header', arg: 'Host', required: false, explode: true },
  ],
  ...over,
});

describe('buildRequest', () => {
  it('substitutes, appends and sets the arguments; the manifest headers win', () => {
    const built = buildRequest(op(), { id: 'a b', tags: ['x', 'y'], filter: { kind: 'k', n: 2 }, 'X-Trace': 't1', Host: 'evil.example' }, 'https://api.example.com/v1/', { Authorization: 'Bearer s3cr3t-token' });
    expect(built.method).toBe('GET');
    expect(built.url.href).toBe('https://api.example.com/v1/items/a%20b?tags=x%2Cy&kind=k&n=2');
    expect(built.headers).toEqual({ 'X-Trace': 't1', accept: 'application/json, */*;q=0.8', Authorization: 'Bearer s3cr3t-token' });
    expect(built.body).toBeUndefined();
  });

  it("keeps the base URL's query and puts the path after the base's path", () => {
    expect(buildRequest(op(), { id: 3, filter: { q: 'x' } }, 'https://a.example/v2?tenant=acme', {}).url.href).toBe('https://a.example/v2/items/3?tenant=acme&q=x');
  });

  it('refuses what would leave the path or break a header, and names missing arguments', () => {
    expect(() => buildRequest(op(), {}, 'https://a.example', {})).toThrow(new ArgumentError('Missing required argument: id.'));
    expect(() => buildRequest(op(), { id: '..' }, 'https://a.example', {})).toThrow(ArgumentError);
    expect(() => buildRequest(op(), { id: 1, 'X-Trace': 'a\r\nInjected: yes' }, 'https://a.example', {})).toThrow(/line breaks/);
    expect(buildRequest(op(), { id: '../admin?x#y' }, 'https://a.example', {}).url.pathname).toBe('/items/..%2Fadmin%3Fx%23y');
  });

  it('sends a JSON body serialised, another media type as the text given', () => {
    const json = buildRequest(op({ method: 'post', path: '/items', parameters: [], body: { mediaType: 'application/json', json: true, required: true } }), { body: { a: [1] } }, 'https://a.example', {});
    expect(json).toMatchObject({ method: 'POST', body: '{"a":[1]}', headers: { 'content-type': 'application/json' } });
    expect(() => buildRequest(op({ method: 'post', path: '/items', parameters: [], body: { mediaType: 'application/json', json: true, required: true } }), {}, 'https://a.example', {})).toThrow(/body/);
    const text = op({ method: 'put', path: '/blob', parameters: [], body: { mediaType: 'text/csv', json: false, required: false } });
    expect(buildRequest(text, { body: 'a,b\n1,2' }, 'https://a.example', {})).toMatchObject({ body: 'a,b\n1,2', headers: { 'content-type': 'text/csv' } });
    expect(() => buildRequest(text, { body: { not: 'text' } }, 'https://a.example', {})).toThrow(/must be a string/);
  });
});

describe('resultOf', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);

  it('pretty-prints JSON, marks 4xx and 5xx as errors with the status first, and says an empty answer', () => {
    expect(resultOf(200, 'OK', 'application/json; charset=utf-8', bytes('{"a":1}'), false)).toEqual({ content: [{ type: 'text', text: '{\n  "a": 1\n}' }] });
    expect(resultOf(404, 'Not Found', 'application/problem+json', bytes('{"title":"no"}'), false)).toEqual({
      content: [{ type: 'text', text: 'HTTP 404 Not Found\n\n{\n  "title": "no"\n}' }],
      isError: true,
    });
    expect(resultOf(204, 'No Content', null, bytes(''), false)).toEqual({ content: [{ type: 'text', text: 'HTTP 204 No Content' }] });
    expect(resultOf(200, 'OK', 'application/json', bytes('not json'), false).content[0]).toEqual({ type: 'text', text: 'not json' });
  });

  it(`cuts the text at ${MAX_RESULT_CHARS} characters, and a body cut at ${MAX_RESULT_BYTES} bytes, saying so`, () => {
    const long = resultOf(200, 'OK', 'text/plain', bytes('x'.repeat(MAX_RESULT_CHARS + 10)), false);
    const text = (long.content[0] as { text: string }).text;
    expect(text.startsWith('x'.repeat(MAX_RESULT_CHARS))).toBe(true);
    expect(text.slice(MAX_RESULT_CHARS)).toMatch(/^\n\n\[The response was cut: a tool result carries at most 100000 characters/);
    const cut = resultOf(200, 'OK', 'application/json', bytes('{"a":'), true);
    expect((cut.content[0] as { text: string }).text).toMatch(/^\{"a":\n\n\[The response was cut/);
  });
});
