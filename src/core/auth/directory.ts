import type { Executor } from '../db/database.js';
import { DomainError } from '../errors.js';
import { authRepository, type Organisation } from './repository.js';

/**
 * What modules may know about organisations: they ask here, never the `auth_*` tables (which are core's). Reads
 * outside any module transaction: organisations are created by the regulator and never renamed or removed.
 */
export interface OrgDirectory {
  /** The organisation named, by name or id, or null. */
  find(nameOrId: string): Promise<Organisation | null>;
  /** The operator organisation named (by name or id), or null when there is none or it is of another kind. */
  findOperator(nameOrId: string): Promise<Organisation | null>;
  /** The id of the operator organisation named (by name or id); a 404 problem when there is none. */
  requireOperatorId(nameOrId: string): Promise<string>;
  /** Every operator organisation (a handful: read them all where a file names operators row by row). */
  operators(): Promise<Organisation[]>;
  /** The names of the organisations with these ids (ids that name none are left out). */
  names(ids: readonly string[]): Promise<Map<string, string>>;
}

export function createOrgDirectory(db: Executor): OrgDirectory {
  const repo = authRepository(db);
  const findOperator = async (nameOrId: string) => {
    const org = await repo.findOrg(nameOrId);
    return org?.kind === 'operator' ? org : null;
  };
  return {
    find: (nameOrId) => repo.findOrg(nameOrId),
    findOperator,
    operators: async () => (await repo.listOrgs()).filter((o) => o.kind === 'operator'),
    async requireOperatorId(nameOrId) {
      const org = await findOperator(nameOrId);
      if (!org) throw new DomainError('not_found', `operator "${nameOrId}" does not exist`);
      return org.id;
    },
    async names(ids) {
      if (!ids.length) return new Map();
      return new Map((await repo.orgsByIds([...new Set(ids)])).map((o) => [o.id, o.name]));
    },
  };
}
