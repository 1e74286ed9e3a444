import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';

let t: TestApp;
let auditor: string;
beforeAll(async () => {
  t = await startTestApp();
  const admin = await t.keyWith(['admin:orgs']);
  for (const name of ['Org A', 'Org B', 'Org C']) {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: { authorization: admin.authorization, 'x-request-id': `req-${name.replace(' ', '-')}` },
      payload: { name, kind: 'bank' },
    });
  }
  auditor = (await t.keyWith(['audit:read'])).authorization;
});
afterAll(() => t.close());

const get = (query: string) => t.app.inject({ method: 'GET', url: `/api/v1/audit${query}`, headers: { authorization: auditor } });

describe('audit log', () => {
  it('records every state change with actor, organisation, request id and IP', async () => {
    const res = await get('?action=org.create');
    expect(res.statusCode).toBe(200);
    const items = res.json().items;
    expect(items.map((i: { subject: string }) => i.subject)).toEqual(['Org C', 'Org B', 'Org A', 'Test Regulator']);
    expect(items[0]).toMatchObject({ action: 'org.create', subjectType: 'organisation', requestId: 'req-Org-C', ip: '127.0.0.1' });
    expect(items[0].actor).toMatch(/^apikey:/);
    expect(items[0].orgId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('pages with a cursor, newest first, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const body = res.json() as { items: { id: string }[]; nextCursor: string | null };
      seen.push(...body.items.map((i) => i.id));
      cursor = body.nextCursor;
    } while (cursor);
    const all = (await get('?limit=1000')).json().items.map((i: { id: string }) => i.id);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(4);
  });

  it('filters by time window', async () => {
    expect((await get('?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z')).json().items).toEqual([]);
    expect((await get(`?from=2000-01-01T00:00:00Z`)).json().items.length).toBeGreaterThan(0);
  });

  it('rejects a forged cursor and bad filters with 400 problem details', async () => {
    const forged = await get('?cursor=bm9wZQ');
    expect(forged.statusCode).toBe(400);
    const huge = await get(`?cursor=${Buffer.from('a:9999999999999999999').toString('base64url')}`);
    expect(huge.statusCode).toBe(400);
    for (const from of ['0000-01-01T00:00:00Z', '2016-12-31T23:59:60Z']) expect((await get(`?from=${from}`)).statusCode).toBe(400);
    const bad = await get('?limit=0&from=yesterday');
    expect(bad.statusCode).toBe(400);
    const fields = bad.json().errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['querystring.limit', 'querystring.from']));
  });

  it('the database itself refuses UPDATE, DELETE and TRUNCATE', async () => {
    const db = t.database.db;
    await expect(db.updateTable('audit_log').set({ actor: 'forged' }).execute()).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_log`.execute(db)).rejects.toThrow(/append-only/);
    expect((await get('?action=org.create')).json().items).toHaveLength(4);
  });
});
