import type { Executor } from '../db/database.js';
import { authPolicy } from '../auth/policy.js';
import type { RequestContext } from '../auth/principal.js';
import { DomainError } from '../errors.js';
import { auditRepository, type AuditFilter, type AuditRow } from './repository.js';

export interface AuditEntry {
  action: string;
  subjectType?: string;
  /** Already masked by the caller: the audit log never holds a full personal identifier. */
  subject?: string;
  detail?: Record<string, unknown>;
}

export interface AuditPage {
  items: AuditRow[];
  nextCursor: string | null;
}

const encodeCursor = (id: string) => Buffer.from(`a:${id}`).toString('base64url');

export function decodeCursor(cursor: string): string | null {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^a:(\d{1,18})$/.exec(text);
  return match ? match[1]! : null;
}

export function createAuditService(deps: { db: Executor; clock: () => Date }) {
  return {
    /** Appends one entry. Pass the transaction of the change it describes so both commit or neither. */
    async record(ex: Executor, ctx: RequestContext, entry: AuditEntry): Promise<void> {
      await auditRepository(ex).insert({
        at: deps.clock(),
        actor: `${ctx.principal.kind}:${ctx.principal.label}`,
        orgId: ctx.principal.orgId,
        action: entry.action,
        subjectType: entry.subjectType ?? null,
        subject: entry.subject ?? null,
        requestId: ctx.requestId,
        ip: ctx.ip,
        detail: entry.detail ?? null,
      });
    },

    /** Entries the caller may read: every one for the regulator, its own organisation's for anyone else. */
    async list(ctx: RequestContext, filter: Omit<AuditFilter, 'beforeId'> & { cursor?: string }): Promise<AuditPage> {
      const visible = authPolicy.auditScope(ctx.principal);
      if (visible === null) return { items: [], nextCursor: null };
      if (visible !== 'all') filter = { ...filter, orgId: visible };
      const beforeId = filter.cursor ? decodeCursor(filter.cursor) : undefined;
      if (beforeId === null) throw new DomainError('invalid', 'cursor is not one this API issued');
      const items = await auditRepository(deps.db).list({ ...filter, beforeId, limit: filter.limit + 1 });
      const more = items.length > filter.limit;
      const page = more ? items.slice(0, filter.limit) : items;
      return { items: page, nextCursor: more ? encodeCursor(page[page.length - 1]!.id) : null };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
