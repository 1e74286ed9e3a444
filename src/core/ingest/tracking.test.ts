import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { waitFor } from '../../testing/wait.js';
import { actingFor, systemContext } from '../auth/principal.js';
import { openDatabase } from '../db/database.js';
import { DomainError } from '../errors.js';
import { createProbe, numbersCsv, probeCount, stagingTables, upload } from './probe.fixture.js';
import { importsRepository } from './repository.js';
import { createIngest, type Ingest } from './service.js';
import { orgContext, ingestTracked } from './tracked.fixture.js';
import { abandonDeadImports, importIdOf } from './tracking.js';

let t: TestApp;
let kcell: string;
let beeline: string;
let fast: Ingest;
const record = (id: string) => importsRepository(t.database.db).get(id);

beforeAll(async () => {
  t = await startTestApp();
  await createProbe(t.database);
  kcell = (await t.keyWith(['*'], 'Kcell', 'operator')).orgId;
  beeline = (await t.keyWith(['*'], 'Beeline Kazakhstan', 'operator')).orgId;
  // The same database as the server's ingest, progress written on every chunk.
  fast = createIngest(t.database, { progressEveryMs: 0 });
});
afterAll(() => t.close());
beforeEach(async () => {
  await sql`truncate ingest_probe`.execute(t.database.db);
  await sql`delete from core_imports`.execute(t.database.db);
});

describe('tracked imports', () => {
  it('records a committed import: who ran it for whom, counts, first errors and its end', async () => {
    const report = await ingestTracked(t.services.ingest, t.database, {
      ctx: orgContext(kcell, 'operator'),
      input: 'n,label\n1,a\nx,bad\n3,c\n',
      maxMalformedShare: 0.5,
    });
    expect(report).toMatchObject({ committed: true, rows: 3, accepted: 2, rejected: 1 });
    expect(report.importId).toMatch(/^[0-9a-f]{16}$/);
    expect(await record(report.importId)).toMatchObject({
      kind: 'devices.observations',
      orgId: kcell,
      actorOrgId: kcell,
      actor: 'apikey:importer (qk_test)',
      status: 'committed',
      rows: 3,
      accepted: 2,
      rejected: 1,
      refusal: null,
      errors: [{ line: 3, message: 'n is not a number' }],
      finishedAt: expect.any(Date),
    });
    expect((await record(report.importId))!.bytes).toBeGreaterThan(0);
  });

  it('records a refused import with its refusal; the data belongs to the organisation named, the importer is kept apart', async () => {
    const regulator = orgContext((await t.keyWith(['*'])).orgId, 'regulator');
    const report = await ingestTracked(t.services.ingest, t.database, { ctx: regulator, orgId: kcell, input: 'n,label\nx,bad\n2,b\n' });
    expect(report.committed).toBe(false);
    expect(await record(report.importId)).toMatchObject({
      status: 'refused',
      orgId: kcell,
      actorOrgId: regulator.principal.orgId,
      rows: 2,
      rejected: 1,
      refusal: expect.stringMatching(/1 of 2 rows are malformed/),
    });
  });

  it('records a failed import (an error in the merge) as failed, and rethrows', async () => {
    const failing = ingestTracked(t.services.ingest, t.database, {
      ctx: orgContext(kcell, 'operator'),
      input: numbersCsv(5),
      importId: 'will-fail',
      merge: async () => {
        throw new Error('merge broke');
      },
    });
    await expect(failing).rejects.toThrow('merge broke');
    expect(await record('will_fail')).toMatchObject({ status: 'failed', rows: 5, finishedAt: expect.any(Date) });
  });

  it('takes the client’s id (with "-" as "_"), refuses a malformed one and one already used', async () => {
    expect(importIdOf('0f9e-AB'.toLowerCase())).toBe('0f9e_ab');
    expect(() => importIdOf('Upper')).toThrow(DomainError);
    expect(() => importIdOf('x'.repeat(41))).toThrow(/1 to 40 characters/);
    expect(() => importIdOf('')).toThrow(DomainError);
    const ctx = orgContext(kcell, 'operator');
    const report = await ingestTracked(t.services.ingest, t.database, { ctx, input: numbersCsv(2), importId: 'batch-2026-12-07' });
    expect(report.importId).toBe('batch_2026_12_07');
    const again = ingestTracked(t.services.ingest, t.database, { ctx, input: numbersCsv(2), importId: 'batch_2026_12_07', kind: 'devices.tac' });
    await expect(again).rejects.toMatchObject({ kind: 'conflict', message: 'an import with id batch_2026_12_07 already exists' });
  });

  it('writes progress while the import runs, before its end', async () => {
    const input = upload();
    const running = ingestTracked(fast, t.database, { ctx: orgContext(kcell, 'operator'), input, importId: 'slow', chunkRows: 1 });
    input.write('n,label\n1,a\n2,b\nx,bad\n');
    await waitFor('progress', async () => (await record('slow'))?.rows === 3);
    expect(await record('slow')).toMatchObject({ status: 'running', rows: 3, rejected: 1, errors: [{ line: 4, message: 'n is not a number' }] });
    expect((await record('slow'))!.bytes).toBe(22);
    input.end('4,d\n');
    expect((await running).refusal).toMatch(/malformed/);
    expect(await record('slow')).toMatchObject({ status: 'refused', rows: 4 });
  });

  it('writes progress at most once per interval, and still tells the job’s own onProgress every time', async () => {
    let now = 0;
    let seen = 0;
    const ingest = createIngest(t.database, { clock: () => new Date(now), progressEveryMs: 1_000 });
    const input = upload();
    const running = ingestTracked(ingest, t.database, {
      ctx: orgContext(kcell, 'operator'),
      input,
      importId: 'throttled',
      chunkRows: 1,
      onProgress: (p) => (seen = p.rows),
    });
    const rowsAfter = async (text: string, rows: number) => {
      input.write(text);
      await waitFor(`row ${rows}`, () => seen === rows);
      return (await record('throttled'))!.rows;
    };
    expect(await rowsAfter('n,label\n1,a\n2,b\n', 2)).toBe(0);
    now = 999;
    expect(await rowsAfter('3,c\n', 3)).toBe(0);
    now = 1_000;
    input.write('4,d\n');
    await waitFor('a progress write', async () => (await record('throttled'))!.rows === 4);
    input.end();
    expect((await running).committed).toBe(true);
  });
});

describe('two imports at once', () => {
  it('refuses a second import of the kind for the organisation while one runs, before reading its input; the first lands', async () => {
    const first = upload();
    const ctx = orgContext(kcell, 'operator');
    const running = ingestTracked(t.services.ingest, t.database, { ctx, input: first, importId: 'first' });
    first.write('n,label\n1,a\n');
    await waitFor('the first import to run', async () => (await record('first'))?.status === 'running');
    const second = upload();
    const refused = ingestTracked(t.services.ingest, t.database, { ctx, input: second, importId: 'second' });
    const started = (await record('first'))!.startedAt.toISOString();
    await expect(refused).rejects.toMatchObject({
      kind: 'conflict',
      message: `an import of devices.observations for this organisation is already running (id first, started ${started}); retry when it has finished`,
      details: { runningImportId: 'first', runningSince: started },
    });
    expect(second.readableFlowing).toBeNull();
    expect(await record('second')).toBeNull();
    first.end('2,b\n');
    expect(await running).toMatchObject({ committed: true, accepted: 2 });
    expect(await probeCount(t.database)).toBe(2);
    expect(await stagingTables(t.database)).toEqual([]);
  });

  it('runs imports of another kind, or for another organisation, at the same time', async () => {
    const first = upload();
    const running = ingestTracked(t.services.ingest, t.database, { ctx: orgContext(kcell, 'operator'), input: first, importId: 'kcell_obs' });
    first.write('n,label\n1,a\n');
    await waitFor('the first import to run', async () => (await record('kcell_obs'))?.status === 'running');
    const other = await ingestTracked(t.services.ingest, t.database, { ctx: orgContext(beeline, 'operator'), input: 'n,label\n2,b\n' });
    const kind = await ingestTracked(t.services.ingest, t.database, { ctx: orgContext(kcell, 'operator'), input: 'n,label\n3,c\n', kind: 'devices.tac' });
    expect([other.committed, kind.committed]).toEqual([true, true]);
    first.end();
    expect((await running).committed).toBe(true);
    expect(await probeCount(t.database)).toBe(3);
  });

  it('makes an import of the platform’s own (the CLI, the demo) wait for the running one, then run', async () => {
    const first = upload();
    const running = ingestTracked(t.services.ingest, t.database, {
      ctx: actingFor(systemContext('cli'), { id: kcell, kind: 'operator' }),
      input: first,
      importId: 'cli_one',
    });
    first.write('n,label\n1,a\n');
    await waitFor('the first import to run', async () => (await record('cli_one'))?.status === 'running');
    let waited = false;
    const second = ingestTracked(t.services.ingest, t.database, {
      ctx: actingFor(systemContext('cli'), { id: kcell, kind: 'operator' }),
      input: 'n,label\n1,second\n',
      importId: 'cli_two',
    }).finally(() => (waited = true));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(waited).toBe(false);
    expect(await record('cli_two')).toBeNull();
    first.end();
    expect((await running).committed).toBe(true);
    expect(await second).toMatchObject({ committed: true, accepted: 1 });
    expect((await sql<{ label: string }>`select label from ingest_probe where n = 1`.execute(t.database.db)).rows[0]!.label).toBe('second');
  });

  it('marks a running import whose process is gone abandoned, and it does not block the next', async () => {
    const at = new Date(Date.now() - 60_000);
    const repo = importsRepository(t.database.db);
    // Left by a killed process: running, but no session holds its staging lock (PostgreSQL), not run here (PGlite).
    await repo.insertRunning({ id: 'killed', kind: 'devices.observations', orgId: kcell, actorOrgId: kcell, actor: 'system:import', at });
    const report = await ingestTracked(t.services.ingest, t.database, { ctx: orgContext(kcell, 'operator'), input: numbersCsv(3) });
    expect(report.committed).toBe(true);
    expect(await record('killed')).toMatchObject({ status: 'abandoned', finishedAt: expect.any(Date) });

    await repo.insertRunning({ id: 'killed_too', kind: 'voice.ported', orgId: null, actorOrgId: null, actor: 'system:import', at });
    expect(await abandonDeadImports(t.database)).toEqual(['killed_too']);
    expect((await record('killed_too'))!.status).toBe('abandoned');
  });

  it.runIf(process.env.DATABASE_URL)('takes another instance’s running import for alive (its staging lock is held), and refuses', async () => {
    const other = await openDatabase({ kind: 'postgres', url: t.database.url!, poolSize: 2 });
    try {
      const input = upload();
      const running = ingestTracked(t.services.ingest, t.database, { ctx: orgContext(kcell, 'operator'), input, importId: 'on_a' });
      input.write('n,label\n1,a\n');
      await waitFor('the import to run', async () => (await record('on_a'))?.status === 'running');
      const onB = ingestTracked(createIngest(other), other, { ctx: orgContext(kcell, 'operator'), input: numbersCsv(1) });
      await expect(onB).rejects.toMatchObject({ kind: 'conflict', details: { runningImportId: 'on_a' } });
      expect(await abandonDeadImports(other)).toEqual([]);
      input.end();
      expect((await running).committed).toBe(true);
    } finally {
      await other.close();
    }
  });

  it.runIf(process.env.DATABASE_URL)('marks dead imports abandoned on each housekeeping pass (PostgreSQL: an instance may never start again)', async () => {
    await importsRepository(t.database.db).insertRunning({
      id: 'gone',
      kind: 'devices.stolen',
      orgId: kcell,
      actorOrgId: kcell,
      actor: 'system:import',
      at: new Date(),
    });
    await t.services.housekeeping.runOnce();
    expect((await record('gone'))!.status).toBe('abandoned');
  });

  it('leaves a live import running when looking for dead ones at start', async () => {
    const input = upload();
    const running = ingestTracked(t.services.ingest, t.database, { ctx: orgContext(kcell, 'operator'), input, importId: 'alive' });
    input.write('n,label\n1,a\n');
    await waitFor('the import to run', async () => (await record('alive'))?.status === 'running');
    expect(await abandonDeadImports(t.database)).toEqual([]);
    input.end();
    expect((await running).committed).toBe(true);
    expect((await record('alive'))!.status).toBe('committed');
  });
});
