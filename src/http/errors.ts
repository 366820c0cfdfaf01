// The one place error classes become HTTP status codes. Anything unmapped is a bug: 500, logged.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import {
  ConflictError,
  ControlPlaneError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  PolicyViolationError,
  PreconditionFailedError,
  UnauthorizedError,
  TooManyRequestsError,
  UnsupportedMediaTypeError,
  UpstreamFailedError,
  ValidationError,
} from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';

const STATUS: [new (...args: never[]) => ControlPlaneError, number, string][] = [
  [PolicyViolationError, 400, 'PolicyViolation'],
  [ValidationError, 400, 'InvalidInput'],
  [UnauthorizedError, 401, 'Unauthorized'],
  [ForbiddenError, 403, 'Forbidden'],
  [NotFoundError, 404, 'NotFound'],
  [ConflictError, 409, 'Conflict'],
  [PreconditionFailedError, 412, 'PreconditionFailed'],
  [PayloadTooLargeError, 413, 'PayloadTooLarge'],
  [UnsupportedMediaTypeError, 415, 'UnsupportedMediaType'],
  [TooManyRequestsError, 429, 'TooManyRequests'],
  [UpstreamFailedError, 502, 'BadGateway'],
];

export function errorBody(code: string, message: string, details?: { path: string; message: string }[]) {
  return { error: { code, message, ...(details && details.length > 0 ? { details } : {}) } };
}

/**
 * V8 quotes the text around an unexpected token ("Unexpected token 'x', "…secret…" is not valid JSON"),
 * which may be part of a secret in the body: answer without the quote. Messages with a position stay.
 */
export function jsonSyntaxDetail(message: string): string {
  if (/ is not valid JSON$/.test(message) || message.includes('"')) return 'unexpected token';
  return message.slice(0, 200);
}

/** Errors of express and body-parser (they carry a `type` or a 4xx `status`) turned into ours. */
function fromExpress(err: unknown): ControlPlaneError | undefined {
  const type = (err as { type?: unknown })?.type;
  if (type === 'entity.too.large') return new PayloadTooLargeError('The request body is larger than 1 MiB.');
  if (type === 'entity.parse.failed') {
    const detail = jsonSyntaxDetail(err instanceof Error ? err.message : 'malformed JSON');
    return new ValidationError(`The request body is not valid JSON: ${detail}.`, [{ path: '', message: detail }]);
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new UnsupportedMediaTypeError('Send the body as UTF-8 JSON (Content-Type: application/json).');
  }
  if (type === 'request.aborted' || type === 'stream.encoding.set' || type === 'request.size.invalid') {
    return new ValidationError('The request body could not be read.');
  }
  // A malformed %-escape in the path makes the router throw a URIError (status 400): the input's fault.
  if (err instanceof URIError) return new ValidationError('The request path holds a malformed %-escape; encode it as UTF-8.');
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return new ValidationError('The request is malformed.');
  return undefined;
}

/**
 * The status and code an error maps to, for error handlers with another envelope (the GAIA-style API);
 * undefined for an unknown error (a bug: 500).
 */
export function classifyError(err: unknown): { status: number; code: string; error: ControlPlaneError } | undefined {
  const known = err instanceof ControlPlaneError ? err : fromExpress(err);
  if (!known) return undefined;
  const [, status, code] = STATUS.find(([cls]) => known instanceof cls) ?? [ControlPlaneError, 400, 'BadRequest'];
  return { status, code, error: known };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // An answer already under way (a streamed page) cannot become an error answer: the connection is
    // aborted, so the client sees a failure, never a truncated answer that ends like a complete one.
    if (res.headersSent) {
      logger.error({ method: req.method, path: req.path, err: err instanceof Error ? err.stack : String(err) }, 'answer aborted after it started');
      res.destroy();
      return;
    }
    const known = classifyError(err);
    if (known) {
      const details = known.error.details.map((d) => ({ path: d.path, message: d.message }));
      res.status(known.status).json(errorBody(known.code, known.error.message, details));
      return;
    }
    logger.error({ method: req.method, path: req.path, err: err instanceof Error ? err.stack : String(err) }, 'unhandled error');
    res.status(500).json(errorBody('InternalError', 'An internal error occurred; it has been logged.'));
  };
}

/** Routes with a body accept only JSON. */
export const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['content-length'] !== '0' && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined);
  if (!hasBody) return next(new ValidationError('The request needs a JSON body.'));
  if (!req.is('application/json') && !req.is('application/*+json')) {
    return next(new UnsupportedMediaTypeError(`Content-Type must be application/json, not "${req.headers['content-type'] ?? 'none'}".`));
  }
  next();
};

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody('NotFound', `No route for ${req.method} ${req.path}.`));
};
