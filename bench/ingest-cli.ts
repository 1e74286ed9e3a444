// The `qalqan` CLI running one command locally, as bin/qalqan.js does (src/cli/main.ts: the configuration from the
// environment, the runtime opened for the command, the program from src/cli/program.ts), in a child process of the
// ingest benchmark. The one difference: the progress bar is not drawn (it is not on a terminal either) but the moment
// the file has been read whole is noted. On its last line of stderr it writes what it measured, as JSON after `BENCH `.
import { readFileSync, writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import { loadConfig } from '../src/core/config.js';
import { createLogger } from '../src/core/logger.js';
import { openRuntime } from '../src/core/runtime.js';
import type { CliIO } from '../src/cli/io.js';
import { runCommand } from '../src/cli/run.js';

/** What the child reports; times are ms since the command was handed its services. */
export interface CliMeasure {
  code: number;
  openMs: number;
  commandMs: number;
  /** CPU time of this process (user + system) during the command, ms: below commandMs, the rest was waiting. */
  cpuMs: number;
  /** When the file's last byte was read (the end of reading, checking and staging, but for the last COPY chunk). */
  fileReadMs: number | null;
  /** RSS when the services were open, and the process's peak RSS (VmHWM) at the end, bytes. */
  rssOpen: number;
  peakRss: number;
  /** WAL written during the command (pg_wal_lsn_diff), bytes. */
  walBytes: number;
  out: string[];
}

function vmHwm(): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.replace(/\D+/g, '')) * 1024 : NaN;
}

const config = loadConfig();
const logger = createLogger('warn');
const out: string[] = [];
const t0 = performance.now();
let started = t0;
let fileReadAt: number | null = null;
const io: CliIO = {
  out: (line) => out.push(line),
  err: (line) => process.stderr.write(line + '\n'),
  progress: (_label, total) => ({
    update(done) {
      if (done >= total && fileReadAt === null) fileReadAt = performance.now();
    },
    stop: () => undefined,
  }),
};
const measured: { value?: Omit<CliMeasure, 'code' | 'out'> } = {};
const code = await runCommand(process.argv.slice(2), io, async (fn) => {
  const runtime = await openRuntime(config, logger, { server: false });
  try {
    const db = runtime.services.database.db;
    const lsn = async () => (await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(db)).rows[0]!.lsn;
    const before = await lsn();
    // The peak RSS from here on: writing 5 to clear_refs resets VmHWM to the present RSS (Linux).
    writeFileSync('/proc/self/clear_refs', '5');
    const rssOpen = process.memoryUsage.rss();
    started = performance.now();
    const cpu = process.cpuUsage();
    const result = await fn(runtime.services, runtime.applied);
    const commandMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const wal = await sql<{ bytes: string }>`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${before}::pg_lsn)::text as bytes`.execute(db);
    measured.value = {
      openMs: started - t0,
      commandMs,
      cpuMs: (used.user + used.system) / 1000,
      fileReadMs: fileReadAt === null ? null : fileReadAt - started,
      rssOpen,
      peakRss: vmHwm(),
      walBytes: Number(wal.rows[0]!.bytes),
    };
    return result;
  } finally {
    await runtime.close();
  }
});
process.stderr.write(`BENCH ${JSON.stringify({ code, out, ...measured.value })}\n`);
process.exit(code);
