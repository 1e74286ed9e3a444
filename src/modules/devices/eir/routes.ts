import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifySchemaValidationError } from 'fastify';
import type { App } from '../../../core/http/app.js';
import { sendProblemBody } from '../../../core/http/errors.js';
import { PROBLEM_BASE, type ProblemBody } from '../../../core/http/problem.js';
import { authErrors } from '../../../core/http/schemas.js';
import { BatchItem, BatchRequest, EirResponseData, ProblemDetails3gpp } from './schema.js';
import type { EirOutcome, EirService } from './service.js';

const EquipmentStatusQuery = Type.Object({
  // The PEI itself is parsed by the service (src/identifiers decides what an IMEI is), to answer with 3GPP causes.
  pei: Type.String({ minLength: 1, description: 'PEI: imei-<15 digits> or imeisv-<16 digits>; the first 14 digits decide' }),
  supi: Type.Optional(Type.String({ description: 'SUPI, e.g. imsi-401011234567890' })),
  gpsi: Type.Optional(Type.String({ description: 'GPSI, e.g. msisdn-77011234567' })),
  'supported-features': Type.Optional(Type.String()),
});

const EIR_PATH = '/n5g-eir-eic/v1/equipment-status';

/** TS 29.571 problem details with `cause`. Built as a plain body: "unknown equipment" is an everyday answer here. */
function problem3gpp(status: number, cause: string, detail: string, invalidParams?: { param: string; reason: string }[]): ProblemBody {
  return {
    type: PROBLEM_BASE + cause.toLowerCase().replace(/_/g, '-'),
    title: status === 404 ? 'Not found' : 'Bad request',
    status,
    detail,
    instance: EIR_PATH,
    cause,
    ...(invalidParams ? { invalidParams } : {}),
  };
}

const BAD_PEI = problem3gpp(400, 'MANDATORY_QUERY_PARAM_INCORRECT', 'pei must be imei-<15 digits> or imeisv-<16 digits>', [
  { param: 'pei', reason: 'not an IMEI or IMEISV PEI' },
]);
const NO_PEI = problem3gpp(400, 'MANDATORY_QUERY_PARAM_MISSING', 'the query parameter pei is required', [{ param: 'pei', reason: 'missing' }]);

/** A query the schema refused, with the TS 29.500 cause: pei missing (or empty), pei not one string, another parameter wrong. */
function refused(errors: FastifySchemaValidationError[]): ProblemBody {
  const onPei = errors.filter((e) => e.instancePath === '/pei' || (e.params as { missingProperty?: string }).missingProperty === 'pei');
  if (onPei.length === 0) {
    const invalidParams = errors.map((e) => ({ param: e.instancePath.slice(1), reason: e.message ?? 'is invalid' }));
    return problem3gpp(400, 'INVALID_QUERY_PARAM', invalidParams.map((p) => `${p.param}: ${p.reason}`).join('; '), invalidParams);
  }
  return onPei.some((e) => e.keyword === 'required' || e.keyword === 'minLength') ? NO_PEI : BAD_PEI;
}

function send(reply: FastifyReply, outcome: EirOutcome): void {
  if ('badPei' in outcome) sendProblemBody(reply, BAD_PEI);
  else if ('unknownTac' in outcome) sendProblemBody(reply, problem3gpp(404, 'ERROR_EQUIPMENT_UNKNOWN', `TAC ${outcome.unknownTac} is not in the TAC database`));
  else reply.send({ status: outcome.status });
}

/** 3GPP TS 29.511 N5g-eir_EquipmentIdentityCheck, at its standard path. */
export function eirRoutes(eir: EirService) {
  return async function (app: App): Promise<void> {
    app.get(
      EIR_PATH,
      {
        // A refused query is answered by the handler, with the 3GPP cause, rather than as a generic validation problem.
        attachValidation: true,
        config: { scope: 'devices:check' },
        schema: {
          tags: ['N5g-eir'],
          summary: 'Equipment status of a PEI (TS 29.511 GetEquipmentStatus)',
          querystring: EquipmentStatusQuery,
          response: {
            200: EirResponseData,
            400: ProblemDetails3gpp,
            401: ProblemDetails3gpp,
            403: ProblemDetails3gpp,
            404: ProblemDetails3gpp,
            503: ProblemDetails3gpp,
          },
        },
      },
      (request, reply) => {
        if (request.validationError) {
          sendProblemBody(reply, refused(request.validationError.validation));
          return;
        }
        // Synchronous when the index answers from memory (the everyday case): no promise per request.
        const outcome = eir.equipmentStatus(request.query.pei, request.query.supi);
        if (outcome instanceof Promise) return outcome.then((o) => send(reply, o));
        send(reply, outcome);
      },
    );
  };
}

/** Operators' batch check: status and reasons of up to 1,000 IMEIs (main API only). */
export function imeiBatchRoutes(eir: EirService) {
  return async function (app: App): Promise<void> {
    app.post(
      '/api/v1/devices/imei-batch',
      {
        config: { scope: 'devices:check' },
        schema: {
          tags: ['devices'],
          summary: 'Status and reasons for up to 1,000 IMEIs',
          body: BatchRequest,
          response: { 200: Type.Object({ items: Type.Array(BatchItem) }), ...authErrors },
        },
      },
      async (request) => ({ items: await eir.checkBatch(request.body.imeis) }),
    );
  };
}
