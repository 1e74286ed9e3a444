import type { Executor } from '../db/database.js';

export interface AuditRow {
  id: string;
  at: Date;
  actor: string;
  orgId: string | null;
  action: string;
  subjectType: string | null;
  subject: string | null;
  requestId: string | null;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

export type NewAuditRow = Omit<AuditRow, 'id'>;

export interface AuditFilter {
  actor?: string;
  orgId?: string;
  action?: string;
  subjectType?: string;
  from?: Date;
  to?: Date;
  /** Only rows with an id below this one (newest first paging). */
  beforeId?: string;
  limit: number;
}

export function auditRepository(db: Executor) {
  return {
    async insert(row: NewAuditRow): Promise<void> {
      await db
        .insertInto('audit_log')
        .values({
          at: row.at,
          actor: row.actor,
          org_id: row.orgId,
          action: row.action,
          subject_type: row.subjectType,
          subject: row.subject,
          request_id: row.requestId,
          ip: row.ip,
          detail: row.detail ? JSON.stringify(row.detail) : null,
        })
        .execute();
    },

    async list(filter: AuditFilter): Promise<AuditRow[]> {
      let q = db.selectFrom('audit_log').selectAll();
      if (filter.actor) q = q.where('actor', '=', filter.actor);
      if (filter.orgId) q = q.where('org_id', '=', filter.orgId);
      if (filter.action) q = q.where('action', '=', filter.action);
      if (filter.subjectType) q = q.where('subject_type', '=', filter.subjectType);
      if (filter.from) q = q.where('at', '>=', filter.from);
      if (filter.to) q = q.where('at', '<', filter.to);
      if (filter.beforeId) q = q.where('id', '<', filter.beforeId);
      const rows = await q.orderBy('id', 'desc').limit(filter.limit).execute();
      return rows.map((r) => ({
        id: String(r.id),
        at: r.at,
        actor: r.actor,
        orgId: r.org_id,
        action: r.action,
        subjectType: r.subject_type,
        subject: r.subject,
        requestId: r.request_id,
        ip: r.ip,
        detail: r.detail,
      }));
    },
  };
}
