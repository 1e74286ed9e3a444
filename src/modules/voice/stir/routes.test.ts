import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrgDirectory } from '../../../core/auth/directory.js';
import { createChanges, tablesOf } from '../../../core/changes.js';
import { startTestApp, TEST_SECRET, type TestApp } from '../../../testing/app.js';
import type { VoiceTables } from '../tables.js';
import { stirRoutes } from './routes.js';
import { createStirService } from './service.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t.close());

describe('STIR/SHAKEN routes', () => {
  it('documents its routes in the OpenAPI description', async () => {
    const paths = Object.keys((await t.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths as object);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/voice/stir/certificates',
        '/api/v1/voice/stir/certificates/{id}',
        '/api/v1/voice/stir/credentials',
        '/api/v1/voice/stir/sign',
      ]),
    );
  });

  it('400 for a malformed body, 401 without a key, 403 without the scope', async () => {
    const operator = await t.keyWith(['voice:write'], 'Kcell', 'operator');
    const screener = await t.keyWith(['voice:screen'], 'Tele2', 'operator');
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/stir/certificates',
      headers: { authorization: operator.authorization },
      payload: { pem: 'x' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual(expect.arrayContaining([{ field: 'body.certificate', message: expect.any(String) }]));
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/voice/stir/certificates', payload: { certificate: 'x', trustAnchor: false } })).statusCode).toBe(
      401,
    );
    const forbidden = await t.app.inject({ method: 'GET', url: '/api/v1/voice/stir/certificates', headers: { authorization: screener.authorization } });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().requiredScope).toBe('voice:write');
  });
});

describe('start-up', () => {
  it('warns when PUBLIC_BASE_URL is not https, since verifiers fetch x5u over https only', async () => {
    const lines: string[] = [];
    const build = async (publicBaseUrl: string) => {
      const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
      const plain = Fastify({ loggerInstance: logger }).withTypeProvider<TypeBoxTypeProvider>();
      const db = t.database.db;
      const deps = {
        db: tablesOf<VoiceTables>(db),
        run: createChanges<VoiceTables>({ db, audit: t.services.audit, outbox: t.services.outbox }),
        orgs: createOrgDirectory(db),
        clock: () => new Date(),
        ids: randomUUID,
        secret: TEST_SECRET,
        logger,
      };
      await plain.register(stirRoutes(createStirService({ ...deps, publicBaseUrl })));
      await plain.close();
    };
    await build('https://qalqan.kz');
    expect(lines).toEqual([]);
    await build('http://qalqan.kz');
    expect(lines.map((l) => JSON.parse(l) as { level: number; msg: string })).toEqual([
      expect.objectContaining({ level: 40, msg: expect.stringContaining('PUBLIC_BASE_URL is not https') }),
    ]);
  });
});
