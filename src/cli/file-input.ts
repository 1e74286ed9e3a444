import { createReadStream, statSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import type { Command } from 'commander';
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
