import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/database.js';
import { createTestDatabase } from '../../testing/database.js';
import { createOrgDirectory, type OrgDirectory } from './directory.js';

describe('the organisation directory modules ask instead of the auth tables', () => {
  let database: Database;
  let orgs: OrgDirectory;
  const operator = { id: randomUUID(), name: `Directory Operator ${randomUUID()}`, kind: 'operator' as const };
  const bank = { id: randomUUID(), name: `Directory Bank ${randomUUID()}`, kind: 'bank' as const };
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.db.insertInto('auth_organisations').values([operator, bank]).execute();
    orgs = createOrgDirectory(database.db);
  });
  afterAll(async () => database.close());

  it('finds an organisation by name or by id', async () => {
    expect(await orgs.find(operator.name)).toMatchObject({ id: operator.id, kind: 'operator' });
    expect(await orgs.find(bank.id)).toMatchObject({ name: bank.name, kind: 'bank' });
    expect(await orgs.find('No Such Organisation')).toBeNull();
  });

  it('finds operators only, and answers 404 for a name that is not an operator', async () => {
    expect(await orgs.findOperator(bank.name)).toBeNull();
    expect((await orgs.operators()).map((o) => o.id)).toContain(operator.id);
    expect((await orgs.operators()).every((o) => o.kind === 'operator')).toBe(true);
    expect(await orgs.requireOperatorId(operator.name)).toBe(operator.id);
    await expect(orgs.requireOperatorId(bank.name)).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('names organisations by id, leaving out ids that name none', async () => {
    const missing = randomUUID();
    const names = await orgs.names([operator.id, bank.id, operator.id, missing]);
    expect([...names.entries()].sort()).toEqual(
      [
        [bank.id, bank.name],
        [operator.id, operator.name],
      ].sort(),
    );
    expect((await orgs.names([])).size).toBe(0);
  });
});
