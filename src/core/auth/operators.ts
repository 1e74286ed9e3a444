import type { Executor } from '../db/database.js';
import { DomainError } from '../errors.js';
import { authRepository, type Organisation } from './repository.js';

/** The operator organisation named (by name or id), or null when there is none or it is of another kind. */
export async function findOperator(db: Executor, nameOrId: string): Promise<Organisation | null> {
  const org = await authRepository(db).findOrg(nameOrId);
  return org?.kind === 'operator' ? org : null;
}

/** The id of the operator organisation named (by name or id); a 404 problem when there is none. */
export async function requireOperatorId(db: Executor, nameOrId: string): Promise<string> {
  const org = await findOperator(db, nameOrId);
  if (!org) throw new DomainError('not_found', `operator "${nameOrId}" does not exist`);
  return org.id;
}
