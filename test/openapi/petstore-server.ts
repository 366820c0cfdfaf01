// A REST server written for the tests: part of the Petstore 3.0 API (test/fixtures/openapi/petstore-3.0.yaml)
// with express on 127.0.0.1, serving its own OpenAPI document at /api/v3/openapi.yaml. It records every
// request (method, URL, headers, body) and can be told to serve another document.
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';

export const PETSTORE_YAML = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../fixtures/openapi/petstore-3.0.yaml'), 'utf8');

export interface SeenRequest {
  method: string;
  /** Path and query as received (still percent-encoded). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface PetstoreServer {
  /** The API's base URL, http://127.0.0.1:<port>/api/v3 */
  baseUrl: string;
  /** Where the document is served. */
  specUrl: string;
  requests: SeenRequest[];
  /** Serve this text as the document from now on. */
  setSpec(text: string, contentType?: string): void;
  /** true: requests for the document are held (unanswered) until it is set to false again. */
  holdSpec(hold: boolean): void;
  close(): Promise<void>;
}

interface Pet {
  id: number;
  name: string;
  photoUrls: string[];
  status?: string;
  tags?: { id: number; name: string }[];
}

export async function startPetstoreServer(): Promise<PetstoreServer> {
  const pets = new Map<number, Pet>([
    [1, { id: 1, name: 'doggie', photoUrls: [], status: 'available', tags: [{ id: 1, name: 'good' }] }],
    [2, { id: 2, name: 'kitty', photoUrls: [], status: 'sold' }],
  ]);
  let spec = { text: PETSTORE_YAML, type: 'application/yaml' };
  let held: (() => void)[] | undefined;
  const requests: SeenRequest[] = [];
  const app = express();
  app.use(express.json({ type: ['application/json'] }));
  app.use((req, _res, next) => {
    requests.push({ method: req.method, url: req.originalUrl, headers: { ...req.headers }, body: req.body });
    next();
  });
  const api = express.Router();
  api.get('/openapi.yaml', (_req, res) => {
    const answer = () => void res.type(spec.type).send(spec.text);
    if (held) held.push(answer);
    else answer();
  });
  api.get('/pet/findByStatus', (req, res) => {
    const status = typeof req.query.status === 'string' ? req.query.status : 'available';
    res.json([...pets.values()].filter((p) => p.status === status));
  });
  api.get('/pet/findByTags', (req, res) => {
    const tags = ([] as unknown[]).concat(req.query.tags ?? []).map(String);
    res.json([...pets.values()].filter((p) => p.tags?.some((t) => tags.includes(t.name))));
  });
  api.get('/pet/:petId', (req, res) => {
    const pet = pets.get(Number(req.params.petId));
    if (!pet) return void res.status(404).json({ code: 1, type: 'error', message: 'Pet not found' });
    res.json(pet);
  });
  api.post('/pet', (req, res) => {
    const pet = req.body as Pet;
    if (typeof pet?.name !== 'string') return void res.status(405).json({ code: 405, type: 'error', message: 'Invalid input' });
    pets.set(pet.id, pet);
    res.json(pet);
  });
  api.delete('/pet/:petId', (req, res) => {
    if (!pets.delete(Number(req.params.petId))) return void res.status(400).send('Invalid pet value');
    res.status(200).end();
  });
  api.get('/store/inventory', (_req, res) => void res.json({ available: 1, sold: 1 }));
  // Echoes what it was sent, headers included: a server that quotes a credential back.
  api.get('/user/login', (req, res) => void res.type('text/plain').send(`logged in user session: ${JSON.stringify(req.headers)}`));
  api.get('/user/:username', (req, res) => void res.status(500).json({ error: `no user ${req.params.username}` }));
  app.use('/api/v3', api);
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}/api/v3`;
  return {
    baseUrl,
    specUrl: `${baseUrl}/openapi.yaml`,
    requests,
    setSpec: (text, type = 'application/yaml') => void (spec = { text, type }),
    holdSpec: (hold) => {
      const waiting = held ?? [];
      held = hold ? waiting : undefined;
      if (!hold) for (const answer of waiting) answer();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
