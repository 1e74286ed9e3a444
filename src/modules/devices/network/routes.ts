import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { App } from '../../../core/http/app.js';
import { requestContext } from '../../../core/http/auth-hook.js';
import { problems } from '../../../core/http/problem.js';
import { Problem, authErrors } from '../../../core/http/schemas.js';
import { UPLOAD_LIMIT, acceptCsv, answerImport, uploadOf } from '../../../core/http/uploads.js';
import { toImei15 } from '../../../identifiers/imei.js';
import {
  ClassifyResult,
  Condition,
  ConditionParams,
  ConditionSettings,
  ListKindParams,
  ListQuery,
  NetworkAssignment,
  NetworkHolder,
  ObservationReport,
  OperatorQuery,
  OrderRequest,
  OrderResponse,
  Pairing,
  PairingResult,
  PlmnParams,
  StolenRequest,
  StolenResponse,
  TraceAlert,
  TraceAlertQuery,
} from './schema.js';
import { Imei } from '../registry/schema.js';
import type { NetworkService, TraceAlertView } from './service.js';

/** A CSV text body, sent as a stream of lines. */
const CsvStream = Type.Unsafe<Readable>({ type: 'string' });

const alertOut = (a: TraceAlertView) => ({
  id: a.id,
  imei: toImei15(a.imei14),
  operatorId: a.operatorId,
  operatorName: a.operatorName,
  imsi: a.imsi,
  msisdn: a.msisdn,
  seenOn: a.seenOn,
  caseNumber: a.caseNumber,
  createdAt: a.createdAt.toISOString(),
});

export function networkRoutes(service: NetworkService) {
  return async function (app: App): Promise<void> {
    // Inside this plugin only: CSV bodies reach the handler as the raw request stream.
    acceptCsv(app);

    app.post(
      '/api/v1/devices/stolen',
      {
        config: { scope: 'devices:block' },
        schema: {
          tags: ['devices'],
          summary: 'Blocks a lost or stolen IMEI on every network (idempotent); police and the regulator',
          body: StolenRequest,
          response: { 200: StolenResponse, 201: StolenResponse, 409: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        const r = await service.block(requestContext(request), request.body);
        return reply.code(r.alreadyBlocked ? 200 : 201).send({ ...r, blockedAt: r.blockedAt.toISOString() });
      },
    );

    app.delete(
      '/api/v1/devices/stolen/:imei',
      {
        config: { scope: 'devices:block' },
        schema: {
          tags: ['devices'],
          summary: 'Unblocks an IMEI: the organisation that blocked it, or the regulator',
          params: Type.Object({ imei: Imei }),
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await service.unblock(requestContext(request), request.params.imei);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/api/v1/devices/orders',
      {
        config: { scope: 'devices:block' },
        schema: {
          tags: ['devices'],
          summary: 'Blocks an IMEI by a court or regulator order (idempotent); the regulator only',
          body: OrderRequest,
          response: { 200: OrderResponse, 201: OrderResponse, ...authErrors },
        },
      },
      async (request, reply) => {
        const r = await service.order(requestContext(request), request.body);
        return reply.code(r.alreadyOrdered ? 200 : 201).send(r);
      },
    );

    app.delete(
      '/api/v1/devices/orders/:imei',
      {
        config: { scope: 'devices:block' },
        schema: {
          tags: ['devices'],
          summary: 'Lifts a blocking order; the regulator only',
          params: Type.Object({ imei: Imei }),
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await service.liftOrder(requestContext(request), request.params.imei);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/api/v1/devices/observations',
      {
        config: { scope: 'devices:write' },
        bodyLimit: UPLOAD_LIMIT,
        schema: {
          tags: ['devices'],
          summary: 'Uploads an operator’s network observations (CSV `date,imei,imsi,msisdn,rat`, streamed)',
          description:
            'The operator is the caller’s own organisation; the regulator names it with `operator`. Malformed rows are reported by line; when more than 0.5 % of rows are malformed, or the file is cut short or not UTF-8, nothing is stored and the reply is 422 with the report. Send the file as `text/csv`.',
          querystring: OperatorQuery,
          consumes: ['text/csv', 'application/octet-stream'],
          response: { 200: ObservationReport, 404: Problem, 413: Problem, 415: Problem, 422: Problem, ...authErrors },
        },
      },
      async (request) => answerImport(await service.importObservations(requestContext(request), { ...uploadOf(request), operator: request.query.operator })),
    );

    app.post(
      '/api/v1/devices/classify',
      {
        config: { scope: 'devices:write' },
        schema: {
          tags: ['devices'],
          summary: 'Re-classifies every device now and regenerates the lists (regulator)',
          response: { 200: ClassifyResult, ...authErrors },
        },
      },
      async (request) => service.classify(requestContext(request)),
    );

    app.get(
      '/api/v1/devices/lists/:kind',
      {
        config: { scope: 'devices:read' },
        schema: {
          tags: ['devices'],
          summary: 'An operator’s black, notification or exception list as CSV: full, or the delta since a version',
          description:
            'Full list: header `imei,imsi,msisdn,reason`. With `since`: header `change,imei,imsi,msisdn,reason,version`, `change` being `add` or `remove`. IMEIs have 15 digits (computed check digit). The `X-List-Version` header gives the version the reply reflects: pass it as `since` next time.',
          params: ListKindParams,
          querystring: ListQuery,
          response: { 200: { description: 'The list (text/csv)', content: { 'text/csv': { schema: CsvStream } } }, 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        const { version, lines } = await service.listCsv(requestContext(request), {
          operator: request.query.operator,
          kind: request.params.kind,
          since: request.query.since,
        });
        return reply.header('x-list-version', String(version)).type('text/csv; charset=utf-8').send(Readable.from(lines));
      },
    );

    app.get(
      '/api/v1/devices/trace-alerts',
      {
        config: { scope: 'devices:block' },
        schema: {
          tags: ['devices'],
          summary:
            'Trace alerts for the calling police organisation (the regulator: every one): where the devices it blocked were seen (every read is audited)',
          querystring: TraceAlertQuery,
          response: { 200: Type.Object({ items: Type.Array(TraceAlert), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...authErrors },
        },
      },
      async (request) => {
        const page = await service.traceAlerts(requestContext(request), request.query);
        return { items: page.items.map(alertOut), nextCursor: page.nextCursor };
      },
    );

    app.post(
      '/api/v1/devices/pairings',
      {
        config: { scope: 'devices:write' },
        schema: {
          tags: ['devices'],
          summary:
            'Pairs an IMEI with an IMSI (an operator IMSIs of its own networks, the regulator any): exempts the device from the registration rule while used with that SIM',
          description:
            'An operator may pair only IMSIs whose network (MCC + MNC) it holds (`GET /api/v1/devices/networks`): another operator’s answers 403, a network no operator holds 422.',
          body: Pairing,
          response: { 200: PairingResult, 201: PairingResult, 422: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        const r = await service.addPairing(requestContext(request), request.body);
        return reply.code(r.changed ? 201 : 200).send({ imei: toImei15(r.imei14), imsi: r.imsi, created: r.changed });
      },
    );

    app.delete(
      '/api/v1/devices/pairings',
      {
        config: { scope: 'devices:write' },
        schema: {
          tags: ['devices'],
          summary: 'Removes a pairing (the organisation that made it, or the regulator)',
          querystring: Pairing,
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await service.removePairing(requestContext(request), request.query);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/devices/networks',
      {
        config: { scope: 'devices:read' },
        schema: {
          tags: ['devices'],
          summary: 'Mobile networks (MCC + MNC) and the operator organisations holding them: whose IMSIs each operator may pair',
          response: { 200: Type.Object({ items: Type.Array(NetworkHolder) }), ...authErrors },
        },
      },
      async () => ({ items: await service.networks.list() }),
    );

    app.put(
      '/api/v1/devices/networks/:plmn',
      {
        config: { scope: 'devices:write' },
        schema: {
          tags: ['devices'],
          summary: 'Assigns a mobile network (MCC + MNC) to an operator organisation (regulator)',
          params: PlmnParams,
          body: NetworkAssignment,
          response: { 200: NetworkHolder, 404: Problem, ...authErrors },
        },
      },
      async (request) => service.networks.put(requestContext(request), request.params.plmn, request.body.operator),
    );

    app.delete(
      '/api/v1/devices/networks/:plmn',
      {
        config: { scope: 'devices:write' },
        schema: {
          tags: ['devices'],
          summary: 'Removes a network’s assignment (regulator)',
          params: PlmnParams,
          response: { 204: Type.Null(), 404: Problem, ...authErrors },
        },
      },
      async (request, reply) => {
        await service.networks.remove(requestContext(request), request.params.plmn);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/devices/conditions',
      {
        config: { scope: 'devices:read' },
        schema: {
          tags: ['devices'],
          summary: 'The classification conditions',
          response: { 200: Type.Object({ items: Type.Array(Condition) }), ...authErrors },
        },
      },
      async () => ({ items: await service.getConditions() }),
    );

    app.get(
      '/api/v1/devices/conditions/:name',
      {
        config: { scope: 'devices:read' },
        schema: {
          tags: ['devices'],
          summary: 'One classification condition',
          params: ConditionParams,
          response: { 200: Condition, 404: Problem, ...authErrors },
        },
      },
      async (request) => {
        const condition = (await service.getConditions()).find((c) => c.name === request.params.name);
        if (!condition) throw problems.notFound(`condition "${request.params.name}" does not exist`);
        return condition;
      },
    );

    app.put(
      '/api/v1/devices/conditions/:name',
      {
        config: { scope: 'devices:write' },
        schema: {
          tags: ['devices'],
          summary: 'Changes a classification condition (regulator); it applies from the next classification',
          params: ConditionParams,
          body: ConditionSettings,
          response: { 200: Condition, 404: Problem, ...authErrors },
        },
      },
      async (request) => service.updateCondition(requestContext(request), request.params.name, request.body),
    );
  };
}
