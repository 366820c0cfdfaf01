// Hostile JSON bodies: only UTF-8 is read (any other charset is 415), nesting is bounded before the
// body is parsed (every walker after the parser may recurse), and the keys __proto__, constructor and
// prototype are refused anywhere in a body, so no later copy or merge can touch a prototype. Each is
// answered before any validation or state is read.
import type { RequestHandler } from 'express';
import { UnsupportedMediaTypeError, ValidationError } from '../domain/errors.js';
import { jsonNestsDeeperThan } from '../domain/json-depth.js';
import { appendPointer, RESERVED_KEYS } from '../manifest/pointer.js';

/** Levels of [ and { a request body may nest. A manifest needs fewer than ten. */
export const MAX_JSON_DEPTH = 64;

function tooDeep(): ValidationError {
  const message = `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`;
  return new ValidationError(message, [{ path: '', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }]);
}

/**
 * For express.json's `verify`: refuses a body in any charset but UTF-8 (415), for which alone the
 * raw-byte depth scan is exact, then throws when arrays and objects nest deeper than MAX_JSON_DEPTH.
 */
export function verifyJsonDepth(_req: unknown, _res: unknown, body: Buffer, encoding: string): void {
  if (encoding.toLowerCase() !== 'utf-8' && encoding.toLowerCase() !== 'utf8') {
    throw new UnsupportedMediaTypeError(`The request body is in charset "${encoding.slice(0, 40)}"; send it as UTF-8 JSON (Content-Type: application/json).`);
  }
  if (jsonNestsDeeperThan(body, MAX_JSON_DEPTH)) throw tooDeep();
}

/** Whether a reserved key occurs anywhere in a parsed body: the common answer (no) without building paths. */
function holdsReservedKey(body: unknown): boolean {
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) for (const item of node) stack.push(item);
    else if (typeof node === 'object' && node !== null) {
      for (const key of Object.keys(node)) {
        if (RESERVED_KEYS.has(key)) return true;
        stack.push((node as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

/** Refuses a parsed body holding a reserved key anywhere; iterative, the depth is already bounded. */
export const refuseReservedKeys: RequestHandler = (req, _res, next) => {
  if (!holdsReservedKey(req.body)) return next();
  const stack: [unknown, string][] = [[req.body, '']];
  const found: { path: string; message: string }[] = [];
  while (stack.length > 0 && found.length < 10) {
    const [node, path] = stack.pop()!;
    if (Array.isArray(node)) node.forEach((v, i) => stack.push([v, `${path}/${i}`]));
    else if (typeof node === 'object' && node !== null) {
      for (const key of Object.keys(node)) {
        const child = appendPointer(path, key);
        if (RESERVED_KEYS.has(key)) found.push({ path: child, message: `the key ${JSON.stringify(key)} is not allowed (reserved in JavaScript)` });
        else stack.push([(node as Record<string, unknown>)[key], child]);
      }
    }
  }
  next(new ValidationError(`The request body is invalid: ${found.map((f) => `${f.path}: ${f.message}`).join('; ')}`, found));
};
