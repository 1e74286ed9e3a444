import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditService } from './audit/service.js';
import { systemContext } from './auth/principal.js';
import { createChanges, tablesOf } from './changes.js';
import type { Database } from './db/database.js';
import type { CoreTables } from './db/types.js';
import { createOutbox } from './events/outbox.js';
import { createTestDatabase } from '../testing/database.js';

describe('createChanges: one transaction for a module change, its audit entries and its events', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database.close());

  const run = () => {
    const clock = () => new Date('2026-12-07T10:00:00Z');
    return createChanges<CoreTables>({
      db: database.db,
      audit: createAuditService({ db: database.db, clock }),
      outbox: createOutbox({ ids: randomUUID, clock }),
    });
  };
  const ctx = systemContext('changes test');
  const counts = async (action: string, topic: string) => ({
    audit: (await database.db.selectFrom('audit_log').select('id').where('action', '=', action).execute()).length,
    events: (await database.db.selectFrom('core_outbox').select('seq').where('topic', '=', topic).execute()).length,
    leases: (await database.db.selectFrom('core_leases').select('name').where('name', '=', action).execute()).length,
  });

  it('commits the module write, the audit entry and the event together', async () => {
    const result = await run()(ctx, async (change) => {
      await change.db.insertInto('core_leases').values({ name: 'changes.commit', holder: 'test', until: new Date() }).execute();
      await change.audit({ action: 'changes.commit' });
      await change.publish('test.changes.commit', { ok: true });
      return 'done';
    });
    expect(result).toBe('done');
    expect(await counts('changes.commit', 'test.changes.commit')).toEqual({ audit: 1, events: 1, leases: 1 });
  });

  it('leaves nothing when the work fails after writing', async () => {
    await expect(
      run()(ctx, async (change) => {
        await change.db.insertInto('core_leases').values({ name: 'changes.rollback', holder: 'test', until: new Date() }).execute();
        await change.audit({ action: 'changes.rollback' });
        await change.publish('test.changes.rollback', {});
        throw new Error('refused after writing');
      }),
    ).rejects.toThrow('refused after writing');
    expect(await counts('changes.rollback', 'test.changes.rollback')).toEqual({ audit: 0, events: 0, leases: 0 });
  });

  it('narrows the database type without changing the database', async () => {
    const narrowed = tablesOf<CoreTables>(database.db);
    expect(await narrowed.selectFrom('core_leases').select('name').where('name', '=', 'changes.commit').executeTakeFirst()).toEqual({ name: 'changes.commit' });
  });
});
