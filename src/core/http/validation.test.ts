import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.js';
import { createHttpApp, type App } from './app.js';
import { MAX_FIELD_ERRORS } from './problem.js';
import { ALL_ERRORS_MAX_VALUES, holdsAtMost } from './validation.js';

/** A batch body like the call screening's: many small objects, a cap on how many. */
const Batch = Type.Object(
  {
    calls: Type.Array(Type.Object({ from: Type.String({ maxLength: 32 }), to: Type.String({ maxLength: 32 }) }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: 1000,
    }),
  },
  { additionalProperties: false },
);

let app: App;
beforeAll(async () => {
  app = await createHttpApp({ logger: pino({ level: 'silent' }), metrics: createMetrics() });
  app.post('/test/screen-batch', { bodyLimit: 4 * 1024 * 1024, schema: { body: Batch } }, async () => ({ ok: true }));
  const Form = Type.Object(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, Type.Optional(Type.Integer({ minimum: 0 }))])), {
    additionalProperties: false,
  });
  app.post('/test/form', { schema: { body: Form, querystring: Type.Object({ n: Type.Optional(Type.Integer()) }) } }, async () => ({ ok: true }));
  await app.ready();
});
afterAll(() => app.close());

const post = (url: string, payload: string) => app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });

describe('validation problems are bounded', () => {
  it('lists every bad field of a small body', async () => {
    const res = await post('/test/form', JSON.stringify({ f0: -1, f1: 'x', f2: 3 }));
    expect(res.statusCode).toBe(400);
    const body = res.json<{ errors: { field: string }[]; errorCount: number; detail: string }>();
    expect(body.errors.map((e) => e.field).sort()).toEqual(['body.f0', 'body.f1']);
    expect(body.errorCount).toBe(2);
  });

  it(`lists the first ${MAX_FIELD_ERRORS} errors and counts them all`, async () => {
    const res = await post('/test/form', JSON.stringify(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, -1]))));
    const body = res.json<{ errors: unknown[]; errorCount: number; detail: string }>();
    expect(res.statusCode).toBe(400);
    expect(body.errors).toHaveLength(MAX_FIELD_ERRORS);
    expect(body.errorCount).toBe(30);
    expect(body.detail).toMatch(/; and 10 more$/);
  });

  it('answers 150,000 invalid calls in one batch with a small 400 naming the first error only', async () => {
    const res = await post('/test/screen-batch', JSON.stringify({ calls: Array.from({ length: 150_000 }, () => ({})) }));
    expect(res.statusCode).toBe(400);
    expect(res.body.length).toBeLessThan(2048);
    expect(res.json()).toMatchObject({ type: 'https://qalqan.kz/problems/validation-error', errorCount: 1 });
  });

  it('answers the worst 4 MB body (1.4 million empty calls) with a small 400', async () => {
    const res = await post('/test/screen-batch', JSON.stringify({ calls: Array.from({ length: Math.floor((4 * 1024 * 1024 - 20) / 3) }, () => ({})) }));
    expect(res.statusCode).toBe(400);
    expect(res.body.length).toBeLessThan(2048);
    expect(res.json()).toMatchObject({ errorCount: 1 });
  });

  it('still coerces and validates query strings', async () => {
    expect((await app.inject({ method: 'POST', url: '/test/form?n=x', headers: { 'content-type': 'application/json' }, payload: '{}' })).json()).toMatchObject({
      errors: [{ field: 'querystring.n' }],
    });
    expect((await app.inject({ method: 'POST', url: '/test/form?n=7', headers: { 'content-type': 'application/json' }, payload: '{}' })).statusCode).toBe(200);
  });
});

describe('holdsAtMost', () => {
  it('counts objects, arrays and scalars, and stops early on big data', () => {
    expect(holdsAtMost(1, 1)).toBe(true);
    expect(holdsAtMost({ a: [1, 2], b: null }, 5)).toBe(true);
    expect(holdsAtMost({ a: [1, 2], b: null }, 4)).toBe(false);
    expect(holdsAtMost({ calls: new Array(ALL_ERRORS_MAX_VALUES).fill({}) }, ALL_ERRORS_MAX_VALUES)).toBe(false);
    expect(holdsAtMost(new Array(ALL_ERRORS_MAX_VALUES - 1).fill(0), ALL_ERRORS_MAX_VALUES)).toBe(true);
  });
});
