import type { IncomingMessage } from 'node:http';
import { declaredTooLarge, mediaType } from './body.js';
import { CROSS_ORIGIN_REFUSED, HOST_REFUSED, crossOrigin } from './guard.js';
import { HttpError } from './http.js';
import type { Route } from './metrics.js';
import { tokenOk, twice, type Target } from './request.js';
import type { ServiceConfig } from './service.js';

// The service's routes, and what a request must be before its body is read.

/** A route: its name, its methods, the members its body may have, the shape of its errors. */
export interface RouteSpec {
  route: Route;
  methods: readonly string[];
  /** Members a request body may have; undefined: no body is read. */
  members?: ReadonlySet<string>;
  /** Errors in the origin's {"status":"error","message"} shape. */
  origin?: boolean;
}

const ROUTES = new Map<string, RouteSpec>([
  ['/healthz', { route: 'healthz', methods: ['GET', 'HEAD'] }],
  ['/readyz', { route: 'readyz', methods: ['GET', 'HEAD'] }],
  ['/metrics', { route: 'metrics', methods: ['GET'] }],
  ['/v1/encrypt', { route: 'v1_encrypt', methods: ['POST'], members: new Set(['plaintext', 'plaintext_b64', 'aad', 'format']) }],
  ['/v1/decrypt', { route: 'v1_decrypt', methods: ['POST'], members: new Set(['ciphertext', 'aad']) }],
  ['/oracleinvocation', { route: 'oracleinvocation', methods: ['POST'], members: new Set(['data']) }],
  ['/oracleinvocation/', { route: 'oracleinvocation', methods: ['POST'], members: new Set(['data']) }],
  ['/decrypt-mac', { route: 'decrypt_mac', methods: ['POST'], members: new Set(['encrypted_mac', 'salt']), origin: true }],
]);

/** The media type of every request body and JSON answer. */
export const JSON_TYPE = 'application/json';

/** The route a request target names, when this server serves it. */
export function specOfPath(c: ServiceConfig, target: Target | undefined): RouteSpec | undefined {
  if (target === undefined) return undefined;
  const spec = ROUTES.get(target.path);
  if (spec === undefined) return undefined;
  if (spec.route === 'decrypt_mac' && !c.legacyCbc) return undefined;
  if (!c.v1 && (spec.route === 'v1_encrypt' || spec.route === 'v1_decrypt')) return undefined;
  return spec;
}

/** The checks every request passes before its body is read: target, Host, origin, route, method, token, media type, declared length. */
export function precheck(c: ServiceConfig, token: Buffer | undefined, req: IncomingMessage, target: Target | undefined, spec: RouteSpec | undefined): HttpError | undefined {
  if (target === undefined) return new HttpError(400, 'ERR_BAD_REQUEST', 'the request target must be a path or an http(s) URL');
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is refused with 400.
  if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) return new HttpError(400, 'ERR_BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
  const dup = twice(req);
  if (dup === 'host') return HOST_REFUSED();
  if (dup === 'authorization') return new HttpError(400, 'ERR_BAD_REQUEST', 'the request has more than one Authorization header');
  if (!c.hosts.ok(target.authority)) return HOST_REFUSED();
  if (crossOrigin(req, target.authority)) return CROSS_ORIGIN_REFUSED();
  if (spec === undefined) return new HttpError(404, 'ERR_NOT_FOUND', 'no such route');
  if (!spec.methods.includes(req.method!)) return new HttpError(405, 'ERR_METHOD', `${req.method} is not allowed here`, { allow: spec.methods.join(', ') });
  if (token !== undefined && (spec.route === 'v1_encrypt' || spec.route === 'v1_decrypt') && !tokenOk(req.headers.authorization, token)) {
    return new HttpError(401, 'ERR_UNAUTHORIZED', 'a valid "Authorization: Bearer <token>" is needed', { 'www-authenticate': 'Bearer' });
  }
  if (spec.members !== undefined) {
    if (mediaType(req) !== JSON_TYPE) return spec.origin ? new HttpError(400, 'ERR_MAC', 'Decryption failed') : new HttpError(415, 'ERR_CONTENT_TYPE', 'the body must be application/json');
    if (declaredTooLarge(req, c.maxBody)) return new HttpError(413, 'ERR_TOO_LARGE', `the body is over ${c.maxBody} bytes`);
  }
  return undefined;
}
