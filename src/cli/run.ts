import { CommanderError } from 'commander';
import { DomainError } from '../core/errors.js';
import type { CliIO } from './io.js';
import { buildProgram } from './program.js';
import type { WithServices } from './types.js';

/** Runs one command line; returns the exit code. Known errors become one clear line, never a stack trace. */
export async function runCommand(argv: string[], io: CliIO, withServices: WithServices): Promise<number> {
  try {
    await buildProgram(io, withServices).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof DomainError) {
      io.err(`qalqan: ${err.message}`);
      return 1;
    }
    io.err(`qalqan: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
