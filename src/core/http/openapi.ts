import type { FastifyDynamicSwaggerOptions, SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import { Problem } from './schemas.js';

/**
 * What the OpenAPI document adds to the route schemas, in one place rather than route by route: an operationId for
 * every operation, request bodies of streamed uploads, optional query parameters where a default applies, and the
 * problem answers every route may give (RFC 9457, `application/problem+json`).
 */

type Json = Record<string, unknown>;
interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: { in: string; required?: boolean; schema?: Json }[];
  requestBody?: unknown;
  responses: Record<string, Json>;
}

const PROBLEM_TYPE = 'application/problem+json';
const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

/** Answers any route may give, declared once in components.responses. */
const COMMON_RESPONSES = {
  BadRequest: [400, 'The request is malformed or fails validation'],
  Unauthorized: [401, 'Missing or invalid credentials'],
  Forbidden: [403, 'The credential may not do this'],
  RequestTimeout: [408, 'The request did not arrive in time; the connection is closed'],
  PayloadTooLarge: [413, 'The request body exceeds the limit for this endpoint'],
  UriTooLong: [414, 'A path parameter is too long'],
  UnsupportedMediaType: [415, 'The request body’s content type is not accepted here'],
  TooManyRequests: [429, 'Rate limit exceeded; retry after the Retry-After header’s seconds'],
  HeadersTooLarge: [431, 'The request headers exceed 16 KiB'],
  InternalError: [500, 'An unexpected error; the problem quotes the request id'],
  Unavailable: [503, 'A backing service is unavailable; retry shortly'],
} as const;
type CommonResponse = keyof typeof COMMON_RESPONSES;

/** A stable, readable name from the method and path: `GET /api/v1/devices/tac/:tac` → `getDevicesTacByTac`. */
export function operationIdFor(method: string, url: string): string {
  const pascal = (word: string) =>
    word.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase()).replace(/^./, (c) => c.toUpperCase());
  const words = url
    .split('/')
    .filter((segment) => segment !== '' && segment !== 'api' && !/^v\d+$/.test(segment))
    .map((segment) => (segment.startsWith(':') ? `By${pascal(segment.slice(1))}` : pascal(segment)));
  return method.toLowerCase() + words.join('');
}

/** Per route: its operationId, and a streamed upload's body (its content types come from `schema.consumes`). */
const transform: SwaggerTransform = ({ schema, url, route }) => {
  const method = Array.isArray(route.method) ? route.method[0]! : route.method;
  const { consumes } = schema as { consumes?: string[] };
  const upload = !schema.body && Array.isArray(consumes) && consumes.length > 0;
  return {
    url,
    schema: {
      ...schema,
      operationId: (schema as { operationId?: string }).operationId ?? operationIdFor(method, url),
      ...(upload ? { body: { type: 'string', description: 'The file, streamed as the request body' } } : {}),
    },
  };
};

function isProblemSchema(schema: unknown): boolean {
  const properties = (schema as { properties?: Json } | undefined)?.properties;
  return !!properties && 'type' in properties && 'title' in properties && 'status' in properties;
}

/** Error answers are problem details: application/json becomes application/problem+json; the plain Problem is referenced. */
function asProblem(response: Json): Json {
  const content = response.content as Record<string, { schema?: unknown }> | undefined;
  const media = content?.['application/json'] ?? content?.[PROBLEM_TYPE];
  if (!media || !isProblemSchema(media.schema)) return response;
  const plain = JSON.stringify(media.schema) === JSON.stringify(Problem);
  return { ...response, content: { [PROBLEM_TYPE]: { ...media, schema: plain ? PROBLEM_REF : media.schema } } };
}

function commonResponses(method: string, path: string, operation: Operation): CommonResponse[] {
  const guarded = (operation.security?.length ?? 0) > 0;
  return [
    'BadRequest',
    'RequestTimeout',
    'HeadersTooLarge',
    ...(guarded ? (['Unauthorized', 'Forbidden'] as const) : (['TooManyRequests'] as const)),
    ...(BODY_METHODS.has(method) ? (['PayloadTooLarge', 'UnsupportedMediaType'] as const) : []),
    ...(path.includes('{') ? (['UriTooLong'] as const) : []),
    'InternalError',
    'Unavailable',
  ];
}

/** Over the whole document: servers, licence, the common problem answers, optional query parameters with a default. */
const transformObject = ({ openapiObject }: { openapiObject: Json }): Json => {
  const paths = openapiObject.paths as Record<string, Record<string, Operation>>;
  const used = new Set<CommonResponse>();
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'query' && parameter.schema && 'default' in parameter.schema) parameter.required = false;
      }
      const responses: Record<string, Json> = {};
      for (const [status, response] of Object.entries(operation.responses)) responses[status] = Number(status) >= 400 ? asProblem(response) : response;
      for (const name of commonResponses(method, path, operation)) {
        const status = String(COMMON_RESPONSES[name][0]);
        if (responses[status]) continue;
        responses[status] = { $ref: `#/components/responses/${name}` };
        used.add(name);
      }
      operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
  const components = openapiObject.components as Json;
  components.responses = Object.fromEntries(
    [...used].map((name) => [name, { description: COMMON_RESPONSES[name][1], content: { [PROBLEM_TYPE]: { schema: PROBLEM_REF } } }]),
  );
  return openapiObject;
};

/** The @fastify/swagger options of the main API. */
export const swaggerOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'Qalqan API',
      version: '1',
      description: 'National anti-fraud platform. Errors are RFC 9457 problem details (`application/problem+json`).',
      license: { name: 'UNLICENSED' },
    },
    // Relative: the API is at the address this document was fetched from.
    servers: [{ url: '/', description: 'this server' }],
    components: {
      schemas: { Problem },
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'Organisation API key: `Authorization: Bearer qk_…`' },
        session: { type: 'apiKey', in: 'cookie', name: 'qalqan_session', description: 'Console session from POST /api/v1/auth/login' },
      },
    },
  },
  transform,
  transformObject: transformObject as SwaggerTransformObject,
};
