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

async function identify(auth: AuthService, request: FastifyRequest): Promise<Principal | null> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match ? auth.authenticateApiKey(match[1]!) : null;
  }
  const session = request.cookies[SESSION_COOKIE];
  return session ? auth.authenticateSession(session) : null;
}

/**
 * Every matched route needs a credential unless it is marked public; a route's `config.scope` is the scope the
 * credential must carry. 401 for no or bad credentials, 403 for a missing scope.
 */
export function installAuth(app: App, auth: AuthService): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (request.routeOptions.url === undefined || config.public) return;
    const principal = await identify(auth, request);
    if (!principal) throw problems.unauthorized();
    request.principal = principal;
    if (config.scope && !hasScope(principal.scopes, config.scope)) throw problems.forbidden(config.scope);
  });
}

/** The audit context of an authenticated request. */
export function requestContext(request: FastifyRequest): RequestContext {
  if (!request.principal) throw problems.unauthorized();
  return { principal: request.principal, requestId: request.id, ip: request.ip };
}
