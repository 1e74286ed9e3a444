import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { operationIdFor } from './openapi.js';

interface Response {
  $ref?: string;
  content?: Record<string, unknown>;
}
interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: { in: string; name: string; required?: boolean; schema?: Record<string, unknown> }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, Response>;
}
interface Document {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { responses?: Record<string, Response> };
}

let t: TestApp;
let spec: Document;
const operations: { name: string; method: string; path: string; operation: Operation }[] = [];

beforeAll(async () => {
  t = await startTestApp();
  spec = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  for (const [path, byMethod] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(byMethod)) operations.push({ name: `${method.toUpperCase()} ${path}`, method, path, operation });
  }
});
afterAll(() => t.close());

const resolve = (response: Response): Response =>
  response.$ref ? spec.components.responses![response.$ref.replace('#/components/responses/', '')]! : response;

describe('the OpenAPI document', () => {
  it('names every operation with a unique operationId', () => {
    expect(operations.length).toBeGreaterThan(50);
    const ids = operations.map(({ name, operation }) => {
      expect(operation.operationId, name).toMatch(/^[a-z][A-Za-z0-9]+$/);
      return operation.operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('makes operationIds from the method and path', () => {
    expect(operationIdFor('GET', '/n5g-eir-eic/v1/equipment-status')).toBe('getN5gEirEicEquipmentStatus');
    expect(operationIdFor('POST', '/api/v1/voice/screen')).toBe('postVoiceScreen');
    expect(operationIdFor('DELETE', '/api/v1/orgs/:org/api-keys/:id')).toBe('deleteOrgsByOrgApiKeysById');
  });

  it('declares every error answer as application/problem+json (the readiness probe’s 503 body excepted)', () => {
    let checked = 0;
    for (const { name, operation } of operations) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400 || (name === 'GET /readyz' && status === '503')) continue;
        expect(Object.keys(resolve(response).content ?? {}), `${name} ${status}`).toEqual(['application/problem+json']);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('declares the statuses every route may answer: 400, 408, 431, 500, 503; 401/403 or 429; 413/415 with a body; 414 with a path parameter', () => {
    for (const { name, method, path, operation } of operations) {
      const statuses = Object.keys(operation.responses);
      const expected = ['400', '408', '431', '500', '503'];
      expected.push(...(operation.security?.length ? ['401', '403'] : ['429']));
      if (['post', 'put', 'patch', 'delete'].includes(method)) expected.push('413', '415');
      if (path.includes('{')) expected.push('414');
      expect(statuses, name).toEqual(expect.arrayContaining(expected));
    }
  });

  it('documents the streamed uploads’ bodies, so /docs can send a file', () => {
    for (const path of ['/api/v1/devices/tac-imports', '/api/v1/devices/registrations/import', '/api/v1/voice/ported', '/api/v1/devices/observations']) {
      expect(Object.keys(spec.paths[path]!.post!.requestBody?.content ?? {}), path).toEqual(expect.arrayContaining(['text/csv', 'application/octet-stream']));
    }
  });

  it('leaves a query parameter with a default optional (the audit log’s limit)', () => {
    const limit = spec.paths['/api/v1/audit']!.get!.parameters!.find((p) => p.name === 'limit')!;
    expect(limit.required).toBe(false);
    for (const { name, operation } of operations) {
      for (const p of operation.parameters ?? [])
        if (p.in === 'query' && p.schema && 'default' in p.schema) expect(p.required, `${name} ${p.name}`).toBe(false);
    }
  });

  it('has a server, and no two paths that differ only by a parameter’s name', () => {
    expect(spec.servers?.length).toBeGreaterThan(0);
    const shapes = Object.keys(spec.paths).map((path) => path.replace(/\{[^}]+\}/g, '{}'));
    expect(new Set(shapes).size).toBe(shapes.length);
  });
});
