import { Type } from '@sinclair/typebox';
import type { App } from '../../../core/http/app.js';
import { requestContext } from '../../../core/http/auth-hook.js';
import { Problem, authErrors } from '../../../core/http/schemas.js';
import { ImportReport, UPLOAD_LIMIT, acceptCsv, answerImport, uploadErrors, uploadOf } from '../../../core/http/uploads.js';
import { PublicImei, RegistrationOutcome, RegistrationRequest, Tac } from './schema.js';
import type { RegistryService } from './service.js';

export function registryRoutes(devices: RegistryService) {
  return async function (app: App): Promise<void> {
    acceptCsv(app);

    app.post(
      '/api/v1/devices/tac-imports',
      {
        bodyLimit: UPLOAD_LIMIT,
        config: { scope: 'devices:write' },
        schema: {
          tags: ['devices'],
          summary: 'Imports the TAC database (GSMA pipe-delimited or CSV): full replace, or delta with ?mode=delta; the regulator only',
          querystring: Type.Object({ mode: Type.Union([Type.Literal('full'), Type.Literal('delta')], { default: 'full' }) }),
          response: { 200: ImportReport, ...uploadErrors },
        },
      },
      async (request) => answerImport(await devices.importTacs(requestContext(request), { ...uploadOf(request), delta: request.query.mode === 'delta' })),
    );

    app.get(
      '/api/v1/devices/tac/:tac',
      {
        config: { scope: 'devices:read' },
        schema: {
          tags: ['devices'],
          summary: 'Looks up a TAC',
          params: Type.Object({ tac: Type.String({ pattern: '^[0-9]{8}$' }) }),
          response: { 200: Tac, 404: Problem, ...authErrors },
        },
      },
      async (request) => devices.getTac(request.params.tac),
    );

    app.post(
      '/api/v1/devices/registrations',
      {
        bodyLimit: 2 * 1024 * 1024,
        config: { scope: 'devices:write' },
        schema: {
          tags: ['devices'],
          summary: 'Registers up to 10,000 IMEIs; the reply gives each one registered or rejected with a reason',
          body: RegistrationRequest,
          response: {
            200: Type.Object({ registered: Type.Integer(), rejected: Type.Integer(), results: Type.Array(RegistrationOutcome) }),
            ...authErrors,
            413: Problem,
          },
        },
      },
      async (request) => {
        const results = await devices.register(requestContext(request), {
          imeis: request.body.imeis,
          source: request.body.source,
          reference: request.body.reference ?? null,
        });
        const registered = results.filter((r) => r.result === 'registered').length;
        return { registered, rejected: results.length - registered, results };
      },
    );

    app.post(
      '/api/v1/devices/registrations/import',
      {
        bodyLimit: UPLOAD_LIMIT,
        config: { scope: 'devices:write' },
        schema: {
          tags: ['devices'],
          summary: 'Bulk registration from CSV `imei,reference` (streamed), for importers and customs; the regulator only',
          response: { 200: ImportReport, ...uploadErrors },
        },
      },
      async (request) => answerImport(await devices.importRegistrations(requestContext(request), uploadOf(request))),
    );

    app.get(
      '/api/v1/public/imei/:imei',
      {
        config: { public: true, rateLimit: { max: 60, timeWindow: '1 minute' } },
        schema: {
          tags: ['public'],
          summary: 'Citizen check: is this IMEI valid, registered, blocked? Brand and model; nothing personal',
          params: Type.Object({ imei: Type.String({ maxLength: 32 }) }),
          response: { 200: PublicImei, 429: Problem },
        },
      },
      async (request) => devices.publicCheck(request.params.imei),
    );

    app.get(
      '/api/v1/devices/stats',
      {
        config: { scope: 'devices:read' },
        schema: {
          tags: ['devices'],
          summary: 'List sizes, registrations and blocks per day, per source and operator',
          querystring: Type.Object({ days: Type.Integer({ minimum: 1, maximum: 366, default: 30 }) }),
          response: { 200: Type.Object({}, { additionalProperties: true }), ...authErrors },
        },
      },
      async (request) => devices.stats(requestContext(request), request.query.days),
    );
  };
}
