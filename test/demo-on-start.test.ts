import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/core/db/database.js';
import { createTestDatabase } from '../src/testing/database.js';

const root = join(import.meta.dirname, '..');
const NO_USERS =
  'No console users yet: create the first admin with `qalqan user create --email <address> --role admin`, or load the demo data on purpose with `qalqan demo`';
const dataDirs: string[] = [];

/** Starts `qalqan serve` until it says it listens, stops it with SIGTERM, and returns everything it printed. */
async function serveOnce(env: Record<string, string>): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'qalqan-demo-start-'));
  dataDirs.push(dataDir);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      QALQAN_DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      SIP_PORT: '0',
      SBI_PORT: '0',
      LOG_LEVEL: 'warn',
      DATABASE_URL: '',
      NATS_URL: '',
      QALQAN_DEMO: '',
      ...env,
    },
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      output += d;
      if (output.includes('Qalqan listening on')) resolve();
    });
    child.stderr.on('data', (d) => (output += d));
    void exited.then(() => reject(new Error(`serve exited before listening: ${output}`)));
  });
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return output;
}

async function orgsAndUsers(db: Kysely<unknown>): Promise<{ orgs: number; users: number }> {
  const { rows } = await sql<{ orgs: number; users: number }>`
    SELECT (SELECT count(*)::int FROM auth_organisations) AS orgs, (SELECT count(*)::int FROM auth_users) AS users`.execute(db);
  return rows[0]!;
}

afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe('demo data on the embedded database', { timeout: 120_000 }, () => {
  // The first start without QALQAN_DEMO loads it: startup.test and cli.test start so and sign in as the demo admin.
  it('QALQAN_DEMO=0: the first start loads no organisations and no users, and says how to create the first admin', async () => {
    const output = await serveOnce({ QALQAN_DEMO: '0' });
    expect(output).toContain(NO_USERS);
    expect(output).not.toContain('Demo data loaded');
    const database = await openDatabase({ kind: 'pglite', dataDir: join(dataDirs.at(-1)!, 'pgdata') });
    try {
      expect(await orgsAndUsers(database.db as Kysely<unknown>)).toEqual({ orgs: 0, users: 0 });
    } finally {
      await database.close();
    }
  });
});

const adminUrl = process.env.DATABASE_URL;
describe.skipIf(!adminUrl)(adminUrl ? 'demo data on PostgreSQL' : 'demo data on PostgreSQL — SKIPPED: needs DATABASE_URL', { timeout: 120_000 }, () => {
  it('a start on a fresh database loads no organisations and no users, and says how to create the first admin', async () => {
    const database = await createTestDatabase();
    try {
      const output = await serveOnce({ DATABASE_URL: database.url!, QALQAN_SECRET: 'demo-start-test-secret-demo-start-test-secret' });
      expect(output).toContain(NO_USERS);
      expect(output).not.toContain('Demo data loaded');
      expect(await orgsAndUsers(database.db as Kysely<unknown>)).toEqual({ orgs: 0, users: 0 });
    } finally {
      await database.close();
    }
  });
});
