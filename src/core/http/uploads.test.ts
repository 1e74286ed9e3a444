import { connect, type AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import type { ImportReport } from '../ingest/report.js';
import { createProbe, ingestProbe, numbersCsv, probeCount, stagingTables } from '../ingest/probe.fixture.js';
import { createMetrics } from '../metrics.js';
import { createHttpApp, type App } from './app.js';
import { problems } from './problem.js';
import { acceptCsv, answerImport, UPLOAD_LIMIT } from './uploads.js';

const KEY = 'qk_uploads_0123456789';
const auth = { authorization: `Bearer ${KEY}` };

let database: TestDatabase;
let app: App;
let port: number;
let finished: Promise<ImportReport>;
let settle: (report: ImportReport) => void;

beforeAll(async () => {
  database = await createTestDatabase();
  await createProbe(database);
  app = await createHttpApp({
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    guard: (request, _scope, done) => done(request.headers.authorization === auth.authorization ? undefined : problems.unauthorized()),
  });
  await app.register(async (scoped) => {
    acceptCsv(scoped);
    scoped.post('/test/import', { bodyLimit: UPLOAD_LIMIT, config: { scope: 'test:import' } }, async (request) => {
      const report = await ingestProbe(database, request.body as Readable);
      settle(report);
      return answerImport(report);
    });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await app.close();
  await database.close();
});
beforeEach(async () => {
  await sql`truncate ingest_probe`.execute(database.db);
  finished = new Promise((resolve) => (settle = resolve));
});

const post = (payload: string | Buffer, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/test/import', payload, headers: { ...auth, 'content-type': 'text/csv', ...headers } });

describe('streamed uploads', () => {
  it('takes a gzip body with Content-Encoding: gzip', async () => {
    const res = await post(gzipSync(numbersCsv(2_000)), { 'content-encoding': 'gzip' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ committed: true, rows: 2_000, accepted: 2_000 });
    expect(await probeCount(database)).toBe(2_000);
  });

  it('refuses a body that says gzip but is not, and a corrupt gzip body, with the report (422); nothing lands', async () => {
    const plain = await post(numbersCsv(10), { 'content-encoding': 'gzip' });
    expect(plain.statusCode).toBe(422);
    expect(plain.json()).toMatchObject({ detail: 'the body is not gzip although its Content-Encoding says gzip', report: { committed: false } });
    const zipped = gzipSync(numbersCsv(5_000));
    const corrupt = Buffer.concat([zipped.subarray(0, 40), Buffer.alloc(200, 7), zipped.subarray(240)]);
    const broken = await post(corrupt, { 'content-encoding': 'gzip' });
    expect(broken.statusCode).toBe(422);
    expect(broken.json().detail).toMatch(/^the gzip stream is corrupt or cut short/);
    expect(await probeCount(database)).toBe(0);
  });

  it('closes the connection when it answers before reading the whole body, and only then', async () => {
    const refused = await post('id,label\n' + 'x,y\n'.repeat(500_000));
    expect(refused.statusCode).toBe(422);
    expect(refused.json().detail).toMatch(/^line 1: the header lacks column\(s\) n/);
    expect(refused.headers.connection).toBe('close');
    const landed = await post(numbersCsv(10));
    expect(landed.statusCode).toBe(200);
    expect(landed.headers.connection).not.toBe('close');
  });

  it('refuses other content encodings before reading the body (415)', async () => {
    const res = await post(numbersCsv(10), { 'content-encoding': 'br' });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ acceptedEncodings: ['gzip'] });
    expect(res.json().detail).toContain('content encoding "br" is not accepted');
  });

  it('a client that disconnects mid-upload leaves the target as it was and no staging table', async () => {
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.on('error', () => undefined);
    const head = numbersCsv(50_000);
    socket.write(
      `POST /test/import HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\ncontent-type: text/csv\r\ncontent-length: ${head.length * 2}\r\n\r\n`,
    );
    socket.write(head);
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    const report = await finished;
    expect(report).toMatchObject({ committed: false, refusal: 'the upload was cut off before the end of its body (the client went away)' });
    expect(await probeCount(database)).toBe(0);
    expect(await stagingTables(database)).toEqual([]);
  });
});
