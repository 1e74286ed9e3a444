import { Type } from '@sinclair/typebox';
import type { App } from '../../../core/http/app.js';
import { requestContext } from '../../../core/http/auth-hook.js';
import { Problem, authErrors } from '../../../core/http/schemas.js';
import { ImportReport, UPLOAD_LIMIT, acceptCsv, answerImport, uploadErrors, uploadOf } from '../../../core/http/uploads.js';
import { DnoEntry, DnoRequest, RangeHolder, RoamingRequest, RoamingResponse, Trunk, TrunkBody } from './schema.js';
import type { ReferenceService } from './service.js';

/** The reference data operators and the regulator upload: roaming, ported numbers, the DNO list, range holders, trunks. */
export function referenceRoutes(voice: ReferenceService, options: { roamingTtlSeconds: number }) {
  return async function (app: App): Promise<void> {
    acceptCsv(app);

    app.put(
      '/api/v1/voice/roaming',
      {
        bodyLimit: 4 * 1024 * 1024,
        config: { scope: 'voice:write' },
        schema: {
          tags: ['voice'],
          summary: 'Reports which subscribers are abroad (roaming: true) or back home (false); entries expire unless refreshed',
          body: RoamingRequest,
          response: { 200: RoamingResponse, ...authErrors, 413: Problem },
        },
      },
      async (request) => {
        const entries = Array.isArray(request.body) ? request.body : request.body.entries;
        return { ...(await voice.putRoaming(requestContext(request), entries)), ttlSeconds: options.roamingTtlSeconds };
      },
    );

    app.post(
      '/api/v1/voice/ported',
      {
        bodyLimit: UPLOAD_LIMIT,
        config: { scope: 'voice:write' },
        schema: {
          tags: ['voice'],
          summary: 'Uploads ported numbers, CSV `msisdn,operator,portedAt` (streamed, atomic)',
          response: { 200: ImportReport, ...uploadErrors },
        },
      },
      async (request) => answerImport(await voice.importPorted(requestContext(request), uploadOf(request))),
    );

    app.get(
      '/api/v1/voice/dno',
      {
        config: { scope: 'voice:screen' },
        schema: {
          tags: ['voice'],
          summary: 'The do-not-originate list (numbers that only receive calls)',
          response: { 200: Type.Object({ items: Type.Array(DnoEntry) }), ...authErrors },
        },
      },
      async () => ({ items: (await voice.listDoNotOriginate()).map((d) => ({ ...d, addedAt: d.addedAt.toISOString() })) }),
    );

    app.post(
      '/api/v1/voice/dno',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags: ['voice'],
          summary: 'Adds numbers or short codes to the do-not-originate list (regulator)',
          body: DnoRequest,
          response: { 200: Type.Object({ added: Type.Array(Type.String()) }), ...authErrors },
        },
      },
      async (request) => voice.addDoNotOriginate(requestContext(request), request.body.numbers),
    );

    app.delete(
      '/api/v1/voice/dno/:number',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags: ['voice'],
          summary: 'Removes a number from the do-not-originate list (regulator)',
          params: Type.Object({ number: Type.String({ maxLength: 64 }) }),
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await voice.removeDoNotOriginate(requestContext(request), request.params.number);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/voice/range-holders',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags: ['voice'],
          summary: 'Number ranges and the operators holding them (home operator of unported numbers)',
          response: { 200: Type.Object({ items: Type.Array(RangeHolder) }), ...authErrors },
        },
      },
      async () => ({ items: await voice.listRangeHolders() }),
    );

    app.put(
      '/api/v1/voice/range-holders/:prefix',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags: ['voice'],
          summary: 'Assigns a range (national-number prefix, e.g. 701) to an operator (regulator)',
          params: Type.Object({ prefix: Type.String({ maxLength: 16 }) }),
          body: Type.Object({ operator: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
          response: { 200: RangeHolder, 404: Problem, ...authErrors },
        },
      },
      async (request) => voice.putRangeHolder(requestContext(request), request.params.prefix, request.body.operator),
    );

    app.delete(
      '/api/v1/voice/range-holders/:prefix',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags: ['voice'],
          summary: 'Removes a range assignment (regulator)',
          params: Type.Object({ prefix: Type.String({ maxLength: 16 }) }),
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await voice.deleteRangeHolder(requestContext(request), request.params.prefix);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/voice/trunks',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags: ['voice'],
          summary: 'SIP trunks: source addresses → operator and ingress (an operator its own, the regulator all)',
          response: { 200: Type.Object({ items: Type.Array(Trunk) }), ...authErrors },
        },
      },
      async (request) => ({ items: await voice.listTrunks(requestContext(request)) }),
    );

    app.put(
      '/api/v1/voice/trunks/:id',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags: ['voice'],
          summary: 'Creates or replaces a trunk: an operator its own (addresses no other organisation’s trunk holds), the regulator any',
          params: Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }) }),
          body: TrunkBody,
          response: { 200: Trunk, 404: Problem, 409: Problem, ...authErrors },
        },
      },
      async (request) => voice.putTrunk(requestContext(request), { id: request.params.id, ...request.body }),
    );

    app.delete(
      '/api/v1/voice/trunks/:id',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags: ['voice'],
          summary: 'Deletes a trunk: an operator its own, the regulator any',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await voice.deleteTrunk(requestContext(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
