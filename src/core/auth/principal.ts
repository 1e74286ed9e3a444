import type { OrgKind } from '../db/types.js';

/** Who is calling: an organisation's API key, a console user, or the system itself (CLI, scheduled work). */
export interface Principal {
  kind: 'apikey' | 'user' | 'system';
  id: string;
  /** Human-readable and safe to log: key name and prefix, user e-mail, or the command. */
  label: string;
  orgId: string | null;
  /**
   * The kind of the caller's organisation, resolved when the key or session is verified (and cached with it), so
   * policies decide without a database read. Null for platform staff (a user with no organisation) and the system.
   */
  orgKind: OrgKind | null;
  /** The effective scopes: what the credential was given, within what its organisation's kind may ever hold. */
  scopes: readonly string[];
}

/** What the audit log needs to know about the request that caused a change. */
export interface RequestContext {
  principal: Principal;
  requestId: string | null;
  ip: string | null;
}

export function systemContext(label: string): RequestContext {
  return { principal: { kind: 'system', id: 'system', label, orgId: null, orgKind: null, scopes: ['*'] }, requestId: null, ip: null };
}

/** The context of work done by the system on behalf of an organisation (CLI imports with `--operator`, the demo). */
export function actingFor(ctx: RequestContext, org: { id: string; kind: OrgKind }): RequestContext {
  return { ...ctx, principal: { ...ctx.principal, orgId: org.id, orgKind: org.kind } };
}
