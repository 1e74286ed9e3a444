import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { UPLOAD_TYPES } from './uploads.js';

/** Every streamed upload route (`bodyLimit: UPLOAD_LIMIT`). */
const UPLOADS = ['/api/v1/devices/tac-imports', '/api/v1/devices/registrations/import', '/api/v1/voice/ported'];

let t: TestApp;
let authorization: string;
beforeAll(async () => {
  t = await startTestApp();
  authorization = (await t.keyWith(['*'])).authorization;
});
afterAll(() => t.close());

describe.each(UPLOADS)('POST %s refuses what is not a file, without reading it', (url) => {
  it('400 for no body', async () => {
    const res = await t.app.inject({ method: 'POST', url, headers: { authorization } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().detail).toMatch(/^the request has no body: send the file as the request body, as text\/csv/);
  });

  it('400 for an empty CSV body', async () => {
    const res = await t.app.inject({ method: 'POST', url, headers: { authorization, 'content-type': 'text/csv' }, payload: '' });
    expect(res.statusCode).toBe(400);
  });

  it.each([
    ['a JSON body', 'application/json', '{"rows": []}'],
    ['a form', 'application/x-www-form-urlencoded', 'a=1'],
  ])('415 naming the accepted types for %s, and closes the connection', async (_name, type, payload) => {
    const res = await t.app.inject({ method: 'POST', url, headers: { authorization, 'content-type': type }, payload });
    expect(res.statusCode).toBe(415);
    expect(res.headers.connection).toBe('close');
    expect(res.json()).toMatchObject({ type: 'https://qalqan.kz/problems/unsupported-media-type', accepted: UPLOAD_TYPES });
  });

  it('415 for a body without a content type', async () => {
    const res = await t.app.inject({ method: 'POST', url, headers: { authorization, 'content-length': '3' }, payload: 'a,b' });
    expect(res.statusCode).toBe(415);
  });

  it('401 before any of this without a credential', async () => {
    const res = await t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(res.statusCode).toBe(401);
  });
});
