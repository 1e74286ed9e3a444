/** Who is calling: an organisation's API key, a console user, or the system itself (CLI, scheduled work). */
export interface Principal {
  kind: 'apikey' | 'user' | 'system';
  id: string;
  /** Human-readable and safe to log: key name and prefix, user e-mail, or the command. */
  label: string;
  orgId: string | null;
  scopes: readonly string[];
}

/** What the audit log needs to know about the request that caused a change. */
export interface RequestContext {
  principal: Principal;
  requestId: string | null;
  ip: string | null;
}

export function systemContext(label: string): RequestContext {
  return { principal: { kind: 'system', id: 'system', label, orgId: null, scopes: ['*'] }, requestId: null, ip: null };
}
