import { createReadStream, statSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import type { Command } from 'commander';
import { DomainError } from '../core/errors.js';
import type { ImportReport } from '../core/imports/csv-import.js';
import type { CliIO } from './io.js';

/** A command group (such as `import`) that several command files add subcommands to. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** Reads a file with a progress bar over its bytes; `done()` stops the bar. */
export function fileWithProgress(io: CliIO, label: string, file: string): { input: Readable; done(): void } {
  const bar = io.progress(`${label} (bytes)`, statSync(file).size);
  let read = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      read += chunk.length;
      bar.update(read);
      next(null, chunk);
    },
  });
  const source = createReadStream(file);
  source.on('error', (err) => counted.destroy(err));
  source.pipe(counted);
  return { input: counted, done: () => bar.stop() };
}

/** Prints an import's refused lines and its outcome; a refused import fails the command. */
export function printReport(io: CliIO, report: ImportReport, what: string): void {
  for (const e of report.errors) io.err(`line ${e.line}: ${e.message}`);
  if (!report.committed) throw new DomainError('unprocessable', `nothing imported: ${report.refusal ?? 'the file was refused'}`);
  const rate = report.seconds > 0 ? Math.round(report.rows / report.seconds) : report.rows;
  io.out(`${report.accepted} of ${report.rows} ${what} imported in ${report.seconds.toFixed(1)} s (${rate} rows/s); ${report.rejected} rejected`);
}
