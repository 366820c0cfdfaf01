// GET /ui: the status page, three static files served as they are (no build step). They are read once,
// from src/http/ui next to this module, or (when running from dist/, which tsc fills with .js only)
// from the package's src/http/ui.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from 'express';

const ASSETS = [
  { route: '/ui', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/ui/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { route: '/ui/app.css', file: 'app.css', type: 'text/css; charset=utf-8' },
] as const;

/** The page talks to its own origin only, and nothing but its own script runs (the token lives in it). */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The directory holding index.html: next to this module, else src/http/ui above it (dist/ builds). */
export function findUiDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  if (existsSync(join(from, 'index.html'))) return from;
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'src', 'http', 'ui');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`The status page (src/http/ui/index.html) was not found above ${from}.`);
    dir = parent;
  }
}

export function uiRouter(): Router {
  const dir = findUiDir();
  const router = Router();
  router.get('/', (_req, res) => res.redirect(302, '/ui'));
  for (const asset of ASSETS) {
    const body = readFileSync(join(dir, asset.file));
    router.get(asset.route, (_req, res) => {
      res.setHeader('Content-Type', asset.type);
      res.setHeader('Content-Security-Policy', CSP);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('Cache-Control', 'no-cache');
      res.send(body);
    });
  }
  return router;
}
