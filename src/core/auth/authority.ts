import type { RequestContext } from './principal.js';
import { authRepository, type Organisation } from './repository.js';
import type { Executor } from '../db/database.js';
import { DomainError } from '../errors.js';

/** The caller's organisation, or null for platform staff and the system. */
export function callerOrg(db: Executor, ctx: RequestContext): Promise<Organisation | null> {
  return ctx.principal.orgId ? authRepository(db).findOrg(ctx.principal.orgId) : Promise.resolve(null);
}

/** The regulator, and platform staff or the system (no organisation), act for any operator. */
export function regulates(ctx: RequestContext, org: Organisation | null): boolean {
  return org ? org.kind === 'regulator' : ctx.principal.orgId === null;
}

export async function requireRegulator(db: Executor, ctx: RequestContext, what = 'do this'): Promise<void> {
  if (!regulates(ctx, await callerOrg(db, ctx))) throw new DomainError('forbidden', `only the regulator may ${what}`);
}
