import { createReadStream, statSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import type { Command } from 'commander';
import { DomainError } from '../core/errors.js';
import type { ImportReport } from '../core/ingest/report.js';
import type { IngestProgress } from '../core/ingest/pipeline.js';
import type { CliIO } from './io.js';

/** A command group (such as `import`) that several command files add subcommands to. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

const MiB = 2 ** 20;

/** A file being imported: its stream, the import's progress to report, and `done()` to stop the bar. */
export interface FileInput {
  input: Readable;
  onProgress(progress: IngestProgress): void;
  done(): void;
}

/**
 * Reads a file (a `.gz` one as is: the import inflates it) with a progress bar over its bytes that shows the rows
 * the import has read, their rate and the time left.
 */
export function fileWithProgress(io: CliIO, label: string, file: string, clock: () => number = () => performance.now()): FileInput {
  const size = statSync(file).size;
  const bar = io.progress(label, size);
  const started = clock();
  let read = 0;
  let rows = 0;
  const show = () => {
    const seconds = (clock() - started) / 1000;
    const rate = seconds > 0 ? Math.round(rows / seconds) : 0;
    bar.update(read, `${(read / MiB).toFixed(1)} of ${(size / MiB).toFixed(1)} MiB, ${rows.toLocaleString('en')} rows, ${rate.toLocaleString('en')} rows/s`);
  };
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      read += chunk.length;
      show();
      next(null, chunk);
    },
  });
  const source = createReadStream(file);
  source.on('error', (err) => counted.destroy(err));
  source.pipe(counted);
  return {
    input: counted,
    onProgress(progress) {
      rows = progress.rows;
      show();
    },
    done: () => bar.stop(),
  };
}

/** Prints an import's refused lines and its outcome; a refused import fails the command. */
export function printReport(io: CliIO, report: ImportReport, what: string): void {
  for (const e of report.errors) io.err(`line ${e.line}: ${e.message}`);
  if (!report.committed) throw new DomainError('unprocessable', `nothing imported: ${report.refusal ?? 'the file was refused'}`);
  const rate = report.seconds > 0 ? Math.round(report.rows / report.seconds) : report.rows;
  io.out(`${report.accepted} of ${report.rows} ${what} imported in ${report.seconds.toFixed(1)} s (${rate} rows/s); ${report.rejected} rejected`);
}
