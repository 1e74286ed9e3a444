import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openDatabase, type Database } from '../src/core/db/database.js';
import { kzDay } from '../src/modules/devices/network/days.js';
import { MAX_REGISTRATIONS, observationShape, TAC_FILE, writeObservations, writeRegistrations } from './devices-files.js';
import type { CliMeasure } from './ingest-cli.js';

export const description =
  'BENCH_INGEST_ROWS observation rows (1 M) and BENCH_INGEST_REGISTRATIONS registrations (1 M) through the `qalqan import` CLI vs a raw COPY of each file into an unindexed table, same database and run';

const ROWS = Number(process.env.BENCH_INGEST_ROWS ?? 1_000_000);
const REGISTRATIONS = Number(process.env.BENCH_INGEST_REGISTRATIONS ?? 1_000_000);
const RAW = 'bench_ingest_raw';
const MiB = 2 ** 20;
const OPERATOR = 'Kcell';
const IMPORTER = 'Bench Importer';

interface CliRun extends CliMeasure {
  /** The child process from spawn to exit, ms. */
  wallMs: number;
}

/** Runs `qalqan <args>` as a child process (bench/ingest-cli.ts) with `env`; fails unless it exits 0. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [fileURLToPath(new URL('./ingest-cli.js', import.meta.url)), ...args], { env, stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = stderr.split('\n').find((l) => l.startsWith('BENCH '));
      const measure = line ? (JSON.parse(line.slice(6)) as CliMeasure) : null;
      if (code !== 0 || !measure) reject(new Error(`qalqan ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ ...measure, wallMs: performance.now() - started });
    });
  });
}

const lsn = async (database: Database) => (await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(database.db)).rows[0]!.lsn;
const walSince = async (database: Database, before: string) =>
  Number((await sql<{ bytes: string }>`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${before}::pg_lsn)::text as bytes`.execute(database.db)).rows[0]!.bytes);

/**
 * A raw `COPY … (FORMAT csv, HEADER)` of the file into a new unlogged, unindexed text table, on the database the CLI
 * uses: on PostgreSQL from STDIN; on PGlite (no STDIN) from a blob, as its bulk session loads, in pieces of whole lines
 * of at most 256 MiB (a JavaScript string cannot pass 512 MiB). Returns seconds and WAL written.
 */
async function rawCopy(database: Database, url: string | undefined, path: string, columns: string[], rows: number) {
  await sql`drop table if exists ${sql.table(RAW)}`.execute(database.db);
  await sql.raw(`create unlogged table ${RAW} (${columns.map((c) => `${c} text`).join(', ')})`).execute(database.db);
  const before = await lsn(database);
  const t0 = performance.now();
  let loaded: number;
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const stream = client.query(copyFrom(`COPY ${RAW} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER)`));
      await pipeline(createReadStream(path), stream);
      loaded = stream.rowCount;
    } finally {
      await client.end();
    }
  } else {
    const bytes = readFileSync(path);
    const session = await database.bulk();
    loaded = await session.copyIn(
      RAW,
      columns,
      (async function* () {
        for (let start = bytes.indexOf(10) + 1; start < bytes.length;) {
          const cut = bytes.lastIndexOf(10, Math.min(start + 256 * MiB, bytes.length) - 1) + 1;
          const end = cut > start ? cut : bytes.length;
          yield bytes.toString('utf8', start, end);
          start = end;
        }
      })(),
    );
    await session.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const wal = await walSince(database, before);
  await sql`drop table ${sql.table(RAW)}`.execute(database.db);
  if (loaded !== rows) throw new Error(`raw COPY loaded ${loaded} rows, expected ${rows}`);
  return { seconds, wal };
}

const rate = (rows: number, seconds: number) => `${Math.round(rows / seconds).toLocaleString('en')} rows/s`;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/** One file: raw COPY on the database, then the CLI's import of it; prints rows/s, ratio, phases, RSS, WAL. */
async function compare(o: {
  what: string;
  rows: number;
  path: string;
  columns: string[];
  args: string[];
  env: NodeJS.ProcessEnv;
  open: () => Promise<Database>;
}) {
  const database = await o.open();
  const raw = await rawCopy(database, o.env.DATABASE_URL, o.path, o.columns, o.rows).finally(() => database.close());
  const run = await cli(o.args, o.env);
  // `N of M … imported in S s`: the import's own report (read, check, stage, merge, commit), before what follows it.
  const reported = run.out.map((l) => / of (\d+) .*imported in ([\d.]+) s/.exec(l)).find((m) => m !== null);
  if (!reported || Number(reported[1]) !== o.rows) throw new Error(`the import did not report ${o.rows} rows: ${run.out.join(' | ')}`);
  const importSeconds = Number(reported[2]);
  const commandSeconds = run.commandMs / 1000;
  const staged = run.fileReadMs === null ? null : run.fileReadMs / 1000;
  const rawRate = o.rows / raw.seconds;
  console.log(`${o.what}: ${o.rows.toLocaleString('en')} rows, ${mib(statSync(o.path).size)} of CSV`);
  console.log(`  raw COPY         ${raw.seconds.toFixed(2)} s, ${rate(o.rows, raw.seconds)}, WAL ${mib(raw.wal)}`);
  console.log(
    `  qalqan ${o.args.slice(0, 2).join(' ')}: ${commandSeconds.toFixed(2)} s, ${rate(o.rows, commandSeconds)} (the command, once its database is open; ${(run.cpuMs / 1000).toFixed(1)} s on a CPU); ratio ${(o.rows / commandSeconds / rawRate).toFixed(3)} (target ≥ 0.5)`,
  );
  console.log(
    `    the import alone (its report) ${importSeconds.toFixed(2)} s, ${rate(o.rows, importSeconds)}, ratio ${(o.rows / importSeconds / rawRate).toFixed(3)}; the whole process ${(run.wallMs / 1000).toFixed(2)} s (ratio ${(((o.rows / run.wallMs) * 1000) / rawRate).toFixed(3)})`,
  );
  console.log(
    `    phases: open the database ${(run.openMs / 1000).toFixed(2)} s; read + check + COPY into staging ${staged === null ? '?' : `${staged.toFixed(2)} s (${rate(o.rows, staged)})`}; merge + commit ${staged === null ? '?' : (importSeconds - staged).toFixed(2)} s; after the import (${o.what === 'observations' ? 'classification of the devices seen' : 'report'}) ${(commandSeconds - importSeconds).toFixed(2)} s`,
  );
  console.log(
    `    peak RSS growth ${mib(run.peakRss - run.rssOpen)} (VmHWM ${mib(run.peakRss)} over ${mib(run.rssOpen)} once open; target < 500 MiB); WAL written ${mib(run.walBytes)}`,
  );
  for (const line of run.out.slice(1)) console.log(`    ${line}`);
  return { rawRate, commandRate: o.rows / commandSeconds, importRate: o.rows / importSeconds, rssGrowth: run.peakRss - run.rssOpen, wal: run.walBytes };
}

/** A database of its own on the server of DATABASE_URL, dropped at the end. */
async function ownDatabase(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `qalqan_bench_ingest_${process.pid}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(statement).finally(() => client.end());
  };
  await admin(`create database ${name}`);
  const own = new URL(url);
  own.pathname = `/${name}`;
  return { url: own.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

export async function run(): Promise<unknown> {
  if (!Number.isInteger(ROWS) || ROWS < 1) throw new Error('BENCH_INGEST_ROWS must be a whole number ≥ 1');
  if (!Number.isInteger(REGISTRATIONS) || REGISTRATIONS < 0 || REGISTRATIONS > MAX_REGISTRATIONS)
    throw new Error(`BENCH_INGEST_REGISTRATIONS must be 0 … ${MAX_REGISTRATIONS}`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  const server = process.env.DATABASE_URL ? await ownDatabase(process.env.DATABASE_URL) : null;
  // The CLI on the database under test only: no NATS (its events wait in the outbox, as a CLI process's do).
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    QALQAN_DATA_DIR: join(dir, 'data'),
    LOG_LEVEL: 'warn',
    QALQAN_SECRET: randomBytes(32).toString('base64url'),
  };
  delete env.NATS_URL;
  delete env.DATABASE_URL;
  if (server) env.DATABASE_URL = server.url;
  const open = () => openDatabase(server ? { kind: 'postgres', url: server.url } : { kind: 'pglite', dataDir: join(dir, 'data', 'pgdata') });
  try {
    const files = { tac: join(dir, 'tac.txt'), registrations: join(dir, 'registrations.csv'), observations: join(dir, 'observations.csv') };
    writeFileSync(files.tac, TAC_FILE);
    await writeRegistrations(files.registrations, REGISTRATIONS);
    await writeObservations(files.observations, ROWS, REGISTRATIONS, kzDay(new Date()));
    await cli(['org', 'create', '--name', OPERATOR, '--kind', 'operator'], env);
    await cli(['org', 'create', '--name', IMPORTER, '--kind', 'regulator'], env);
    await cli(['import', 'tac', files.tac], env);
    const idle = await cli(['org', 'list'], env);
    const shape = observationShape(ROWS);
    console.log(
      `database: ${server ? 'PostgreSQL (a database of its own)' : 'PGlite in its data directory, as the CLI opens it'}; a CLI process with its database open: RSS ${mib(idle.rssOpen)}, ${(idle.openMs / 1000).toFixed(1)} s to open; node ${process.version}`,
    );
    const results: Record<string, unknown> = {};
    if (REGISTRATIONS > 0)
      results.registrations = await compare({
        what: 'registrations',
        rows: REGISTRATIONS,
        path: files.registrations,
        columns: ['imei', 'reference'],
        args: ['import', 'registrations', files.registrations, '--org', IMPORTER],
        env,
        open,
      });
    // The registrations' devices are owed a classification, which the next import would settle: settle them first.
    if (REGISTRATIONS > 0) console.log(`  then \`qalqan classify\` (not counted): ${((await cli(['classify'], env)).commandMs / 1000).toFixed(1)} s`);
    console.log(`observations: ${shape.pairs.toLocaleString('en')} (IMEI, IMSI) pairs on ${shape.devices.toLocaleString('en')} devices over 30 days`);
    results.observations = await compare({
      what: 'observations',
      rows: ROWS,
      path: files.observations,
      columns: ['day', 'imei', 'imsi', 'msisdn', 'rat'],
      args: ['import', 'observations', files.observations, '--operator', OPERATOR],
      env,
      open,
    });
    return results;
  } finally {
    await server?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
