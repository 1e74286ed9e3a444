import type { AuditService } from '../audit/service.js';
import type { RequestContext } from '../auth/principal.js';
import type { Executor } from '../db/database.js';
import type { ImportStatus } from '../db/types.js';
import { DomainError } from '../errors.js';
import { importsPolicy } from './policy.js';
import { importsRepository, type ImportRecord } from './repository.js';

/** An import as callers read it: the record and how long it has run (or ran). */
export type ImportView = ImportRecord & { seconds: number };

export interface ImportsPage {
  items: ImportView[];
  nextCursor: string | null;
}

const encodeCursor = (r: ImportRecord) => Buffer.from(`${r.startedAt.toISOString()}|${r.id}`).toString('base64url');

function decodeCursor(cursor: string): { startedAt: Date; id: string } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|([a-z0-9_]{1,40})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new DomainError('invalid', 'cursor is not one this API issued');
  return { startedAt: new Date(m[1]!), id: m[2]! };
}

/** Following imports (core_imports): recent ones and one by id, for the organisations they concern; every read audited. */
export function createImportsService(deps: { db: Executor; audit: AuditService; clock: () => Date }) {
  const repo = importsRepository(deps.db);
  const view = (r: ImportRecord): ImportView => ({
    ...r,
    seconds: ((r.finishedAt ?? deps.clock()).getTime() - r.startedAt.getTime()) / 1000,
  });

  return {
    /** Imports the caller may follow, newest first. */
    async list(ctx: RequestContext, input: { kind?: string; status?: ImportStatus; limit: number; cursor?: string }): Promise<ImportsPage> {
      const visible = importsPolicy.visible(ctx.principal);
      const before = input.cursor ? decodeCursor(input.cursor) : undefined;
      const rows =
        visible === null
          ? []
          : await repo.list({ visibleTo: visible === 'all' ? undefined : visible, kind: input.kind, status: input.status, before, limit: input.limit + 1 });
      const items = rows.slice(0, input.limit);
      await deps.audit.record(deps.db, ctx, {
        action: 'imports.list',
        detail: { kind: input.kind ?? null, status: input.status ?? null, imports: items.map((i) => i.id) },
      });
      return { items: items.map(view), nextCursor: rows.length > input.limit ? encodeCursor(items[items.length - 1]!) : null };
    },

    /** One import; another organisation's answers 404, as an unknown id does. */
    async get(ctx: RequestContext, id: string): Promise<ImportView> {
      const run = await repo.get(id.replace(/-/g, '_'));
      if (!run || !importsPolicy.read(ctx.principal, run)) throw new DomainError('not_found', `no import ${id}`);
      await deps.audit.record(deps.db, ctx, { action: 'imports.read', subjectType: 'import', subject: run.id, detail: { status: run.status } });
      return view(run);
    },
  };
}

export type ImportsService = ReturnType<typeof createImportsService>;
