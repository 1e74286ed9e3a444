import { Type } from '@sinclair/typebox';
import type { App } from '../../../core/http/app.js';
import { requestContext } from '../../../core/http/auth-hook.js';
import { Problem, authErrors } from '../../../core/http/schemas.js';
import { voicePolicy } from '../policy.js';
import { PolicyBody, PolicyResponse, ScreenBatchRequest, ScreenRequest, ScreenResult, StatsResponse } from './schema.js';
import type { ScreeningService } from './service.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Call screening for operators' switches: on the main API, and on the SBI (HTTP/2) as is. */
export function screeningRoutes(voice: ScreeningService) {
  return async function (app: App): Promise<void> {
    app.post(
      '/api/v1/voice/screen',
      {
        config: { scope: 'voice:screen' },
        schema: {
          tags: ['voice'],
          summary: 'Screens one call for the calling operator: allow, flag or block, with reasons',
          body: ScreenRequest,
          response: { 200: ScreenResult, ...authErrors },
        },
      },
      (request, reply) => {
        // Operators' switches screen every call: answered synchronously unless the call carries an Identity header
        // (STIR/SHAKEN), so the everyday request costs no promise.
        const result = voice.screen(request.body, request.principal ? voicePolicy.screensFor(request.principal) : null);
        if (result instanceof Promise) return result;
        reply.send(result);
      },
    );

    app.post(
      '/api/v1/voice/screen-batch',
      {
        bodyLimit: 4 * 1024 * 1024,
        config: { scope: 'voice:screen' },
        schema: {
          tags: ['voice'],
          summary: 'Screens up to 1,000 calls; results in request order',
          body: ScreenBatchRequest,
          response: { 200: Type.Object({ results: Type.Array(ScreenResult) }), ...authErrors, 413: Problem },
        },
      },
      async (request) => ({ results: await voice.screenBatch(request.body.calls, request.principal ? voicePolicy.screensFor(request.principal) : null) }),
    );
  };
}

/** Screening policies (with the kill switch) and call statistics: the main API only. */
export function screeningPolicyRoutes(voice: ScreeningService) {
  return async function (app: App): Promise<void> {
    app.get(
      '/api/v1/voice/policies/:operator',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags: ['voice'],
          summary: 'A screening policy (`*` = the default): an operator its own, the regulator any (by name or id)',
          params: Type.Object({ operator: Type.String({ maxLength: 200 }) }),
          response: { 200: PolicyResponse, 404: Problem, ...authErrors },
        },
      },
      async (request) => voice.policy(requestContext(request), request.params.operator),
    );

    app.put(
      '/api/v1/voice/policies/:operator',
      {
        config: { scope: 'voice:admin' },
        schema: {
          tags: ['voice'],
          summary: 'Sets which reasons block and which flag: an operator its own, the regulator any or `*` (enabled=false on `*` is the global kill switch)',
          params: Type.Object({ operator: Type.String({ maxLength: 200 }) }),
          body: PolicyBody,
          response: { 200: PolicyResponse, 404: Problem, ...authErrors },
        },
      },
      async (request) => voice.putPolicy(requestContext(request), request.params.operator, request.body),
    );

    app.get(
      '/api/v1/voice/stats',
      {
        config: { scope: 'voice:screen' },
        schema: {
          tags: ['voice'],
          summary: 'Calls per day by verdict, and blocked/flagged calls by reason (own operator; all for the regulator)',
          querystring: Type.Object({ from: Type.Optional(Type.String({ pattern: DAY.source })), to: Type.Optional(Type.String({ pattern: DAY.source })) }),
          response: { 200: StatsResponse, ...authErrors },
        },
      },
      async (request) => voice.stats(requestContext(request), request.query),
    );
  };
}
