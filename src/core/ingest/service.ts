import type { RequestContext } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import type { ImportReport } from '../imports/csv-import.js';
import { runIngestIn, type IngestWork } from './pipeline.js';

/** An import a module runs through core's pipeline: its rows, its merge, and the transaction the merge commits in. */
export interface IngestJob<X> extends Omit<IngestWork<X>, 'database'> {
  /** The module's change (`createChanges`): its tables, audit entries and events, committed with the merge. */
  transaction: (work: (trx: X) => Promise<void>) => Promise<void>;
  /** What is imported, as `<module>.<feed>` (`devices.observations`). */
  kind: string;
  /** Who imports it. */
  ctx: RequestContext;
  /** The organisation whose data it is (the operator of an observation file); default the importer's own. */
  orgId?: string | null;
}

/** Core's bulk ingest, as modules see it (they never see the database). */
export interface Ingest {
  run<X>(job: IngestJob<X>): Promise<ImportReport>;
}

export function createIngest(database: Database): Ingest {
  return {
    run: (job) => runIngestIn({ ...job, database }),
  };
}
