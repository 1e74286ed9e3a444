// Run as a child process by killed.test.ts: starts an endless import into `ingest_probe` and says when its COPY is
// under way, so the test can SIGKILL it mid-load. Argument: a PostgreSQL URL, or a PGlite data directory.
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { openDatabase } from '../db/database.js';
import { runIngest } from './pipeline.js';

const target = process.argv[2]!;
const database = target.startsWith('postgres')
  ? await openDatabase({ kind: 'postgres', url: target })
  : await openDatabase({ kind: 'pglite', dataDir: target });
let said = false;
await runIngest({
  database,
  input: Readable.from(
    (function* () {
      yield 'n,label\n';
      for (let i = 2; ; i++) yield `${i},killed\n`;
    })(),
  ),
  format: 'csv',
  columns: ['n'],
  staging: [
    { name: 'n', type: 'integer' },
    { name: 'label', type: 'text' },
  ],
  importId: 'killed_child',
  chunkRows: 1_000,
  parseRow: (row) => ({ ok: true, value: [Number(row.n), String(row.label)] }),
  onProgress: (p) => {
    if (!said && p.rows >= 5_000) {
      said = true;
      process.stdout.write('loading\n');
    }
  },
  merge: async (trx, source) => {
    await sql`insert into ingest_probe select n, label from ${source} as s`.execute(trx);
  },
});
