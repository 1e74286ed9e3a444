import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { requestContext } from '../http/auth-hook.js';
import { Problem, authErrors } from '../http/schemas.js';
import type { ImportView, ImportsService } from './imports.js';
import { ImportItem, ImportParams, ImportsQuery } from './schema.js';

const out = (i: ImportView) => ({
  ...i,
  startedAt: i.startedAt.toISOString(),
  updatedAt: i.updatedAt.toISOString(),
  finishedAt: i.finishedAt ? i.finishedAt.toISOString() : null,
});

/** Following bulk imports: any authenticated caller, for the imports its organisation ran or whose data they are. */
export function importsRoutes(imports: ImportsService) {
  return async function (app: App): Promise<void> {
    app.get(
      '/api/v1/imports',
      {
        schema: {
          tags: ['imports'],
          summary: 'Recent bulk imports of the caller’s organisation (the regulator: every one), newest first',
          querystring: ImportsQuery,
          response: { 200: Type.Object({ items: Type.Array(ImportItem), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...authErrors },
        },
      },
      async (request) => {
        const page = await imports.list(requestContext(request), request.query);
        return { items: page.items.map(out), nextCursor: page.nextCursor };
      },
    );

    app.get(
      '/api/v1/imports/:id',
      {
        schema: {
          tags: ['imports'],
          summary: 'One bulk import: its status and progress, or its outcome',
          params: ImportParams,
          response: { 200: ImportItem, 404: Problem, ...authErrors },
        },
      },
      async (request) => out(await imports.get(requestContext(request), request.params.id)),
    );
  };
}
