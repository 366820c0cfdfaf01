// The worker that parses OpenAPI documents (src/openapi/document-parser.ts): a parse past its budget ends
// the worker and answers Timeout, the next parse gets a new worker, and close() answers what waits.
import { DocumentParser } from '../../src/openapi/document-parser.js';
import type { ParseRequest } from '../../src/openapi/parse-document.js';
import { PETSTORE_YAML } from './petstore-server.js';

const request: ParseRequest = { source: { type: 'inline', openapi_spec: PETSTORE_YAML }, enableAllTools: true, toolSettings: [] };
const noReads = () => Promise.reject(new Error('no reads expected'));

it('answers Timeout past the budget (ending the worker), then parses with a new one', async () => {
  const parser = new DocumentParser();
  try {
    // Loading a worker alone takes longer than a millisecond.
    expect(await parser.parse(request, 'given inline', noReads, 1)).toMatchObject({ ok: false, reason: 'Timeout', message: expect.stringContaining('within the 1 ms budget') });
    const parsed = await parser.parse(request, 'given inline', noReads, 60_000);
    expect(parsed).toMatchObject({ ok: true, version: '3.0.2', title: 'Swagger Petstore - OpenAPI 3.0' });
    expect(parsed.ok && parsed.operations).toHaveLength(19);
  } finally {
    parser.close();
  }
});

it('answers every parse still waiting when it is closed', async () => {
  const parser = new DocumentParser();
  const first = parser.parse(request, 'given inline', noReads, 60_000);
  const second = parser.parse(request, 'given inline', noReads, 60_000);
  parser.close();
  expect(await first).toMatchObject({ ok: false, reason: 'ParserFailed' });
  expect(await second).toMatchObject({ ok: false, reason: 'ParserFailed' });
});
