import cookie from '@fastify/cookie';
import { Type } from '@sinclair/typebox';
import { maskEmail } from '../../identifiers/email.js';
import type { App } from '../http/app.js';
import { SESSION_COOKIE, requestContext } from '../http/auth-hook.js';
import { problems } from '../http/problem.js';
import { Problem, authErrors } from '../http/schemas.js';
import { ApiKeyInfo, ChangePassword, CreateApiKey, CreateOrg, CreateUser, CreatedApiKey, CreatedUser, Login, Me, Organisation } from './schema.js';
import type { Organisation as OrgRecord } from './repository.js';
import type { AuthService } from './service.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const orgOut = (o: OrgRecord) => ({ ...o, createdAt: o.createdAt.toISOString() });
const LOGIN_RATE_LIMIT = { max: 10, timeWindow: '1 minute' };

export function authRoutes(auth: AuthService) {
  return async function (app: App): Promise<void> {
    // Cookies are parsed and set only here, in this plugin's own context: the other routes (operators' hot paths
    // among them) skip the plugin's hooks; the auth hook reads the session cookie itself.
    await app.register(cookie);
    app.post(
      '/api/v1/auth/login',
      {
        config: { public: true, rateLimit: LOGIN_RATE_LIMIT },
        schema: {
          tags: ['auth'],
          summary: 'Console sign-in: sets an HttpOnly session cookie',
          body: Login,
          response: {
            200: Type.Object({ email: Type.String(), role: Type.String(), mustChangePassword: Type.Boolean(), expiresAt: Type.String() }),
            401: Problem,
            429: Problem,
          },
        },
      },
      async (request, reply) => {
        const ctx = {
          principal: { kind: 'user' as const, id: 'anonymous', label: maskEmail(request.body.email), orgId: null, orgKind: null, scopes: [] },
          requestId: request.id,
          ip: request.ip,
        };
        const session = await auth.login(ctx, request.body.email, request.body.password);
        reply.setCookie(SESSION_COOKIE, session.token, { path: '/', httpOnly: true, sameSite: 'strict', secure: 'auto', expires: session.expiresAt });
        return {
          email: session.user.email,
          role: session.user.role,
          mustChangePassword: session.user.mustChangePassword,
          expiresAt: session.expiresAt.toISOString(),
        };
      },
    );

    app.post(
      '/api/v1/auth/logout',
      {
        schema: { tags: ['auth'], summary: 'Ends the console session', response: { 204: Type.Null(), ...authErrors } },
      },
      async (request, reply) => {
        const token = request.cookies[SESSION_COOKIE];
        if (token) await auth.logout(token);
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/auth/me',
      {
        schema: { tags: ['auth'], summary: 'The calling credential: user or API key, organisation and scopes', response: { 200: Me, ...authErrors } },
      },
      async (request) => {
        const p = requestContext(request).principal;
        return { ...p, scopes: [...p.scopes] };
      },
    );

    app.post(
      '/api/v1/auth/password',
      {
        schema: { tags: ['auth'], summary: 'Changes the signed-in user’s password', body: ChangePassword, response: { 204: Type.Null(), ...authErrors } },
      },
      async (request, reply) => {
        const ctx = requestContext(request);
        if (ctx.principal.kind !== 'user') throw problems.badRequest('only a console user can change a password');
        await auth.changePassword(ctx, ctx.principal.id, request.body.currentPassword, request.body.newPassword, request.cookies[SESSION_COOKIE] ?? null);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/api/v1/orgs',
      {
        config: { scope: 'admin:orgs' },
        schema: { tags: ['admin'], summary: 'Creates an organisation', body: CreateOrg, response: { 201: Organisation, 409: Problem, ...authErrors } },
      },
      async (request, reply) => reply.code(201).send(orgOut(await auth.createOrg(requestContext(request), request.body))),
    );

    app.get(
      '/api/v1/orgs',
      {
        config: { scope: 'admin:orgs' },
        schema: { tags: ['admin'], summary: 'Lists organisations', response: { 200: Type.Object({ items: Type.Array(Organisation) }), ...authErrors } },
      },
      async (request) => ({ items: (await auth.listOrgs(requestContext(request))).map(orgOut) }),
    );

    const OrgParams = Type.Object({ org: Type.String({ minLength: 1, maxLength: 200, description: 'Organisation id or name' }) });

    app.post(
      '/api/v1/orgs/:org/api-keys',
      {
        config: { scope: 'admin:orgs' },
        schema: {
          tags: ['admin'],
          summary: 'Creates an API key for an organisation (the key is shown once)',
          params: OrgParams,
          body: CreateApiKey,
          response: { 201: CreatedApiKey, 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        const key = await auth.createApiKey(requestContext(request), { org: request.params.org, name: request.body.name, scopes: request.body.scopes });
        return reply.code(201).send({ id: key.id, key: key.key, prefix: key.prefix, name: key.name, scopes: key.scopes });
      },
    );

    app.get(
      '/api/v1/orgs/:org/api-keys',
      {
        config: { scope: 'admin:orgs' },
        schema: {
          tags: ['admin'],
          summary: 'Lists an organisation’s API keys (never the keys themselves)',
          params: OrgParams,
          response: { 200: Type.Object({ items: Type.Array(ApiKeyInfo) }), 404: Problem, ...authErrors },
        },
      },
      async (request) => ({
        items: (await auth.listApiKeys(requestContext(request), request.params.org)).map((k) => ({
          ...k,
          createdAt: k.createdAt.toISOString(),
          lastUsedAt: iso(k.lastUsedAt),
          revokedAt: iso(k.revokedAt),
        })),
      }),
    );

    app.delete(
      '/api/v1/api-keys/:id',
      {
        config: { scope: 'admin:orgs' },
        schema: {
          tags: ['admin'],
          summary: 'Revokes an API key at once',
          params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await auth.revokeApiKey(requestContext(request), request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/api/v1/users',
      {
        config: { scope: 'admin:users' },
        schema: {
          tags: ['admin'],
          summary: 'Creates a console user with a one-time password',
          body: CreateUser,
          response: { 201: CreatedUser, 409: Problem, ...authErrors },
        },
      },
      async (request, reply) => reply.code(201).send(await auth.createUser(requestContext(request), request.body)),
    );
  };
}
