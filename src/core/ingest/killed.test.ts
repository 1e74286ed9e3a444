import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../db/database.js';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { ingestProbe, stagingTables } from './probe.fixture.js';
import { cleanupStaleStaging } from './staging.js';

const root = resolve(import.meta.dirname, '../../..');
let test: TestDatabase | null = null;
let dir: string | null = null;

/** PostgreSQL: this file's test database. PGlite: a data directory on disk, which a child process can open too. */
beforeAll(async () => {
  if (process.env.DATABASE_URL) test = await createTestDatabase();
  else dir = mkdtempSync(join(tmpdir(), 'qalqan-ingest-kill-'));
});
afterAll(async () => {
  await test?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const open = async (): Promise<Database> => test ?? (await openDatabase({ kind: 'pglite', dataDir: dir! }));
const release = async (database: Database) => {
  if (!test) await database.close();
};

/** Starts the endless import in a child process and SIGKILLs it once its COPY is under way. */
function killMidLoad(): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/core/ingest/killed.fixture.ts', test?.url ?? dir!], { cwd: root });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('loading')) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? done() : fail(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('a killed import', () => {
  it('leaves the target untouched; the next start drops its staging table; running it again succeeds', async () => {
    let database = await open();
    await sql`create table ingest_probe (n int primary key, label text)`.execute(database.db);
    await sql`insert into ingest_probe values (1, 'before')`.execute(database.db);
    await release(database);

    await killMidLoad();

    database = await open();
    try {
      expect(await stagingTables(database)).toEqual(['ingest_stage_killed_child']);
      // PostgreSQL ends the killed client's session (and its lock) once it sees the connection gone.
      let dropped: string[] = [];
      for (let i = 0; i < 100 && !dropped.length; i++) {
        dropped = await cleanupStaleStaging(database);
        if (!dropped.length) await new Promise((r) => setTimeout(r, 100));
      }
      expect(dropped).toEqual(['ingest_stage_killed_child']);
      expect((await sql`select n, label from ingest_probe`.execute(database.db)).rows).toEqual([{ n: 1, label: 'before' }]);
      const again = await ingestProbe(database, 'n,label\n2,after\n');
      expect(again.committed).toBe(true);
      expect(await stagingTables(database)).toEqual([]);
    } finally {
      await release(database);
    }
  }, 120_000);
});
