import { fastifyCookie } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import type { AuthService } from '../auth/service.js';
import type { Principal, RequestContext } from '../auth/principal.js';
import { hasScope } from '../auth/scopes.js';
import type { App } from './app.js';
import { problems } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export const SESSION_COOKIE = 'qalqan_session';

const BEARER = /^Bearer\s+(\S+)$/i;

async function identify(auth: AuthService, request: FastifyRequest): Promise<Principal | null> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = BEARER.exec(header);
    return match ? auth.authenticateApiKey(match[1]!) : null;
  }
  const cookies = request.headers.cookie;
  const session = cookies ? fastifyCookie.parse(cookies)[SESSION_COOKIE] : undefined;
  return session ? auth.authenticateSession(session) : null;
}

function admit(request: FastifyRequest, principal: Principal | null): void {
  if (!principal) throw problems.unauthorized();
  request.principal = principal;
  const scope = request.routeOptions.config.scope;
  if (scope && !hasScope(principal.scopes, scope)) throw problems.forbidden(scope);
}

/**
 * Every matched route needs a credential unless it is marked public; a route's `config.scope` is the scope the
 * credential must carry. 401 for no or bad credentials, 403 for a missing scope.
 */
export function installAuth(app: App, auth: AuthService): void {
  app.decorateRequest('principal', null);
  // Callback style, so a cached API key (the common case for operators' systems) costs no promise.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.routeOptions.url === undefined || request.routeOptions.config.public) return done();
    const header = request.headers.authorization;
    const match = header === undefined ? null : BEARER.exec(header);
    const cached = match ? auth.cachedApiKey(match[1]!) : undefined;
    if (cached !== undefined) {
      try {
        admit(request, cached);
      } catch (err) {
        return done(err as Error);
      }
      return done();
    }
    identify(auth, request).then(
      (principal) => {
        try {
          admit(request, principal);
          done();
        } catch (err) {
          done(err as Error);
        }
      },
      (err: Error) => done(err),
    );
  });
}

/** The audit context of an authenticated request. */
export function requestContext(request: FastifyRequest): RequestContext {
  if (!request.principal) throw problems.unauthorized();
  return { principal: request.principal, requestId: request.id, ip: request.ip };
}
