// GET /metrics, and the middleware that times every HTTP request by route template.
//
// Who may scrape: by default an admin bearer token (metrics aggregate every tenant account's servers);
// with --metrics-public anyone who can reach the port, for a Prometheus on a private network without
// credentials. Nothing in a label is a secret or user input (see src/metrics).
import type { ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import type { Authenticator } from '../auth/authenticator.js';
import { ForbiddenError } from '../domain/errors.js';
import type { ControlPlaneMetrics } from '../metrics/index.js';
import { authenticate, principalOf } from './authenticate.js';
import { createRouteMatcher } from './openapi.js';
import { STREAMING } from './watch-router.js';

/** Observes the duration of every request when its response ends; watch streams are skipped. */
export function httpMetrics(metrics: ControlPlaneMetrics): RequestHandler {
  const routeOf = createRouteMatcher();
  return (req, res, next) => {
    // Now, before routers rewrite req.url for their mount points.
    timeResponse(metrics, req.method, routeOf(req.path) ?? 'unmatched', res, process.hrtime.bigint());
    next();
  };
}

/** Observes a request's duration (from `started`, process.hrtime.bigint()) when its response ends. */
export function timeResponse(metrics: ControlPlaneMetrics, method: string, route: string, res: ServerResponse, started: bigint): void {
  res.once('close', () => {
    // Streams (watch, MCP GET streams) last as long as the client stays: not a latency.
    if ((res as Partial<Response>).locals?.[STREAMING] || String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) return;
    metrics.observeHttp(method, route, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
  });
}

export function metricsHandlers(options: { metrics: ControlPlaneMetrics; metricsPublic: boolean; authenticator: Authenticator }): RequestHandler[] {
  const serve: RequestHandler = (_req: Request, res: Response, next) => {
    options.metrics.exposition().then((text) => {
      res.setHeader('Content-Type', options.metrics.contentType());
      res.setHeader('Cache-Control', 'no-store');
      res.send(text);
    }, next);
  };
  if (options.metricsPublic) return [serve];
  const adminOnly: RequestHandler = (req, _res, next) => {
    if (principalOf(req).role !== 'admin') {
      return next(new ForbiddenError('Reading /metrics needs an admin token; or start the server with --metrics-public to let Prometheus scrape without one.'));
    }
    next();
  };
  return [authenticate(options.authenticator), adminOnly, serve];
}
