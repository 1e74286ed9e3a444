import { fastifyCookie } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import type { AuthService } from '../auth/service.js';
import type { Principal, RequestContext } from '../auth/principal.js';
import { hasScope } from '../auth/scopes.js';
import type { RouteGuard } from './pipeline.js';
import { problems } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export const SESSION_COOKIE = 'qalqan_session';

const BEARER = /^Bearer\s+(\S+)$/i;

/** The token of an `Authorization: Bearer …` header, or null. The common spelling is checked without a regex. */
export function bearerToken(header: string): string | null {
  if (header.startsWith('Bearer ') && header.charCodeAt(7) > 32) return header.slice(7);
  return BEARER.exec(header)?.[1] ?? null;
}

async function identify(auth: AuthService, request: FastifyRequest, sessions: boolean): Promise<Principal | null> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const token = bearerToken(header);
    return token ? auth.authenticateApiKey(token) : null;
  }
  if (!sessions) return null;
  const cookies = request.headers.cookie;
  const session = cookies ? fastifyCookie.parse(cookies)[SESSION_COOKIE] : undefined;
  return session ? auth.authenticateSession(session) : null;
}

/** 401 for no or bad credentials, 403 for a missing scope; sets `request.principal` when admitted. */
function admit(request: FastifyRequest, principal: Principal | null, scope: string | undefined): Error | undefined {
  if (!principal) return problems.unauthorized();
  request.principal = principal;
  if (scope && !hasScope(principal.scopes, scope)) return problems.forbidden(scope);
  return undefined;
}

/**
 * The guard of every route not marked public: an API key (`Authorization: Bearer qk_…`) or a console session cookie
 * must identify the caller, and carry the route's `config.scope` when it has one. A cached API key (the common case
 * for operators' systems) is checked in memory, with no promise. `sessions: false` (the SBI, for network functions
 * and switches) takes API keys only.
 */
export function authGuard(auth: AuthService, { sessions = true }: { sessions?: boolean } = {}): RouteGuard {
  return (request, scope, done) => {
    const header = request.headers.authorization;
    const token = header === undefined ? null : bearerToken(header);
    const cached = token === null ? undefined : auth.cachedApiKey(token);
    if (cached !== undefined) return done(admit(request, cached, scope));
    identify(auth, request, sessions).then(
      (principal) => done(admit(request, principal, scope)),
      (err: Error) => done(err),
    );
  };
}

/** The audit context of an authenticated request. */
export function requestContext(request: FastifyRequest): RequestContext {
  if (!request.principal) throw problems.unauthorized();
  return { principal: request.principal, requestId: request.id, ip: request.ip };
}
