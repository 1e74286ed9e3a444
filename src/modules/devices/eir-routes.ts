import { Type } from '@sinclair/typebox';
import type { App } from '../../core/http/app.js';
import { sendAnswer, type HotAnswer } from '../../core/http/hot-lane.js';
import { PROBLEM_BASE, type ProblemBody } from '../../core/http/problem.js';
import { EirResponseData, ProblemDetails3gpp } from './schema.js';
import type { DevicesService, EirOutcome } from './service.js';

const EquipmentStatusQuery = Type.Object({
  pei: Type.String({ description: 'PEI: imei-<15 digits> or imeisv-<16 digits>; the first 14 digits decide' }),
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

/** The answer to a GetEquipmentStatus query, for both the Fastify route and the hot lane. */
function answer(devices: DevicesService, pei: unknown, supi: unknown): HotAnswer | Promise<HotAnswer> {
  if (pei === undefined || pei === '') {
    return { status: 400, problem: problem3gpp(400, 'MANDATORY_QUERY_PARAM_MISSING', 'the query parameter pei is required', [{ param: 'pei', reason: 'missing' }]) };
  }
  // Synchronous in the common case: the hot path allocates no promise.
  const outcome = devices.equipmentStatus(String(pei), typeof supi === 'string' ? supi : undefined);
  return outcome instanceof Promise ? outcome.then(toAnswer) : toAnswer(outcome);
}

function toAnswer(outcome: EirOutcome): HotAnswer {
  if ('badPei' in outcome) {
    return { status: 400, problem: problem3gpp(400, 'MANDATORY_QUERY_PARAM_INCORRECT', 'pei must be imei-<15 digits> or imeisv-<16 digits>', [{ param: 'pei', reason: 'not an IMEI or IMEISV PEI' }]) };
  }
  if ('unknownTac' in outcome) return { status: 404, problem: problem3gpp(404, 'ERROR_EQUIPMENT_UNKNOWN', `TAC ${outcome.unknownTac} is not in the TAC database`) };
  return { status: 200, body: { status: outcome.status } };
}

/** 3GPP TS 29.511 N5g-eir_EquipmentIdentityCheck, at its standard path; network functions' everyday calls take the hot lane. */
export function eirRoutes(devices: DevicesService) {
  return async function (app: App): Promise<void> {
    app.get(EIR_PATH, {
      // The handler checks pei itself, to answer with the 3GPP causes; the schema documents the query, so the
      // generic validator would only repeat that work on the hottest route.
      validatorCompiler: () => (value) => ({ value }),
      config: { scope: 'devices:check', hot: { answer: ({ query }) => answer(devices, query.get('pei'), query.get('supi')) } },
      schema: {
        tags: ['N5g-eir'],
        summary: 'Equipment status of a PEI (TS 29.511 GetEquipmentStatus)',
        querystring: EquipmentStatusQuery,
        response: { 200: EirResponseData, 400: ProblemDetails3gpp, 401: ProblemDetails3gpp, 403: ProblemDetails3gpp, 404: ProblemDetails3gpp, 503: ProblemDetails3gpp },
      },
    }, (request, reply) => {
      const { pei, supi } = request.query as { pei?: unknown; supi?: unknown };
      return sendAnswer(reply, answer(devices, pei, supi));
    });
  };
}
