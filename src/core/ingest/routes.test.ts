import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { tenantKeys, type Tenant, type TenantKey } from '../../testing/tenants.js';
import { waitFor } from '../../testing/wait.js';
import { createProbe, upload } from './probe.fixture.js';
import { createIngest, type Ingest } from './service.js';
import { ingestTracked, orgContext } from './tracked.fixture.js';

let t: TestApp;
let keys: Record<Tenant, TenantKey>;
let fast: Ingest;
let kcellImport: string;
let forKcell: string;
let beelineImport: string;

const get = (who: Tenant, url: string) => t.app.inject({ method: 'GET', url, headers: { authorization: keys[who].authorization } });
const ids = async (who: Tenant, query = '') => ((await get(who, `/api/v1/imports${query}`)).json().items as { id: string }[]).map((i) => i.id);

beforeAll(async () => {
  t = await startTestApp({
    routes: (app) =>
      // Stands for an upload route: an import of Kcell's observations, run for the request.
      app.post('/test/kcell-observations', { config: { public: true } }, async () =>
        ingestTracked(t.services.ingest, t.database, { ctx: orgContext(keys.kcell.orgId, 'operator'), input: 'n,label\n9,z\n' }),
      ),
  });
  await createProbe(t.database);
  keys = await tenantKeys(t);
  fast = createIngest(t.database, { progressEveryMs: 0 });
  const as = (who: Tenant) => orgContext(keys[who].orgId, keys[who].kind);
  kcellImport = (await ingestTracked(t.services.ingest, t.database, { ctx: as('kcell'), input: 'n,label\n1,a\n' })).importId;
  forKcell = (
    await ingestTracked(t.services.ingest, t.database, { ctx: as('regulator'), orgId: keys.kcell.orgId, input: 'n,label\n2,b\n', kind: 'devices.tac' })
  ).importId;
  beelineImport = (await ingestTracked(t.services.ingest, t.database, { ctx: as('beeline'), input: 'n,label\nx,bad\n' })).importId;
});
afterAll(() => t.close());

describe('GET /api/v1/imports/{id}', () => {
  it('shows a running import’s progress: status, rows and errors so far', async () => {
    const input = upload();
    const running = ingestTracked(fast, t.database, {
      ctx: orgContext(keys.kcell.orgId, 'operator'),
      input,
      importId: 'live-upload',
      chunkRows: 1,
      maxMalformedShare: 0.5,
    });
    input.write('n,label\n10,a\nbad,x\n11,b\n');
    await waitFor('progress', async () => (await get('kcell', '/api/v1/imports/live-upload')).json().rows === 3);
    const res = await get('kcell', '/api/v1/imports/live-upload');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: 'live_upload',
      kind: 'devices.observations',
      status: 'running',
      rows: 3,
      rejected: 1,
      bytes: 24,
      errors: [{ line: 3, message: 'n is not a number' }],
      refusal: null,
      finishedAt: null,
    });
    expect(res.json().seconds).toBeGreaterThanOrEqual(0);
    input.end('12,c\n');
    await running;
    expect((await get('kcell', '/api/v1/imports/live_upload')).json()).toMatchObject({ status: 'committed', rows: 4, accepted: 3, rejected: 1 });
  });

  it('answers the organisations an import concerns and the regulator; another organisation gets 404', async () => {
    const own = await get('kcell', `/api/v1/imports/${kcellImport}`);
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ id: kcellImport, orgId: keys.kcell.orgId, actorOrgId: keys.kcell.orgId, status: 'committed' });
    expect((await get('kcell', `/api/v1/imports/${forKcell}`)).json()).toMatchObject({ orgId: keys.kcell.orgId, actorOrgId: keys.regulator.orgId });
    expect((await get('regulator', `/api/v1/imports/${beelineImport}`)).json()).toMatchObject({ status: 'refused', refusal: expect.any(String) });
    for (const [who, id] of [
      ['beeline', kcellImport],
      ['kcell', beelineImport],
      ['bank', forKcell],
    ] as const) {
      const res = await get(who, `/api/v1/imports/${id}`);
      expect(res.statusCode, `${who} ${id}`).toBe(404);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.json().detail).toBe(`no import ${id}`);
    }
    expect((await get('kcell', '/api/v1/imports/never_was')).statusCode).toBe(404);
    expect((await get('kcell', '/api/v1/imports/Not%20an%20id')).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/imports/${kcellImport}` })).statusCode).toBe(401);
  });
});

describe('GET /api/v1/imports', () => {
  it('lists an organisation’s own imports (its data or its runs), the regulator every one, newest first', async () => {
    expect(await ids('kcell')).toEqual(expect.arrayContaining([kcellImport, forKcell]));
    expect(await ids('kcell')).not.toContain(beelineImport);
    expect(await ids('beeline')).toEqual([beelineImport]);
    expect(await ids('bank')).toEqual([]);
    const all = await ids('regulator');
    expect(all).toEqual(expect.arrayContaining([kcellImport, forKcell, beelineImport]));
    const starts = ((await get('regulator', '/api/v1/imports')).json().items as { startedAt: string }[]).map((i) => i.startedAt);
    expect(starts).toEqual([...starts].sort().reverse());
  });

  it('filters by kind and status, and pages with a cursor', async () => {
    expect(await ids('regulator', '?kind=devices.tac')).toEqual([forKcell]);
    expect(await ids('regulator', '?status=refused')).toEqual([beelineImport]);
    expect((await get('regulator', '/api/v1/imports?status=lost')).statusCode).toBe(400);
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { items: { id: string }[]; nextCursor: string | null } = (
        await get('regulator', `/api/v1/imports?limit=1${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.items.map((i: { id: string }) => i.id));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(await ids('regulator'));
    const forged = await get('regulator', `/api/v1/imports?cursor=${Buffer.from('nonsense').toString('base64url')}`);
    expect(forged.statusCode).toBe(400);
    expect(forged.json().detail).toBe('cursor is not one this API issued');
  });
});

describe('following imports', () => {
  it('audits every read: the list and each import read', async () => {
    await get('beeline', `/api/v1/imports/${beelineImport}`);
    await get('beeline', '/api/v1/imports?kind=devices.observations');
    const entries = (
      await sql<{ action: string; subject: string | null; detail: { imports?: string[]; kind?: string } }>`
        select action, subject, detail from audit_log where org_id = ${keys.beeline.orgId} and action like 'imports.%' order by id`.execute(t.database.db)
    ).rows;
    expect(entries).toContainEqual(expect.objectContaining({ action: 'imports.read', subject: beelineImport }));
    expect(entries).toContainEqual(
      expect.objectContaining({ action: 'imports.list', detail: expect.objectContaining({ kind: 'devices.observations', imports: [beelineImport] }) }),
    );
  });

  it('refuses a second import of the kind for the organisation with a 409 problem naming the running one', async () => {
    const input = upload();
    const running = ingestTracked(t.services.ingest, t.database, { ctx: orgContext(keys.kcell.orgId, 'operator'), input, importId: 'kcell-daily' });
    input.write('n,label\n20,a\n');
    await waitFor('the import to run', async () => (await get('kcell', '/api/v1/imports/kcell-daily')).json().status === 'running');
    const res = await t.app.inject({ method: 'POST', url: '/test/kcell-observations' });
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({
      title: 'Conflict',
      runningImportId: 'kcell_daily',
      detail: expect.stringMatching(/already running \(id kcell_daily, started /),
    });
    input.end();
    expect((await running).committed).toBe(true);
    expect((await t.app.inject({ method: 'POST', url: '/test/kcell-observations' })).statusCode).toBe(200);
  });
});
