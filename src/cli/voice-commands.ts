import type { Command } from 'commander';
import type { RequestContext } from '../core/auth/principal.js';
import { actingFor, systemContext } from '../core/auth/principal.js';
import type { CliIO } from './io.js';
import { printReport } from './devices-commands.js';
import { commandGroup, fileWithProgress } from './file-input.js';
import type { WithServices } from './types.js';

/** `import ported`: number portability for the voice module. */
export function addVoiceCommands(program: Command, io: CliIO, withServices: WithServices): void {
  commandGroup(program, 'import', 'bulk imports')
    .command('ported')
    .description('import ported numbers (CSV msisdn,operator,portedAt): any port as the regulator, or with --operator only ports of numbers that operator holds')
    .argument('<file>', 'CSV file')
    .option('--operator <org>', 'record as this operator organisation (name or id), the donor: only numbers it holds now (its ranges, or ported to it)')
    .action((file: string, opts: { operator?: string }) =>
      withServices(async (services) => {
        let ctx: RequestContext = systemContext('cli import ported');
        if (opts.operator !== undefined) ctx = actingFor(ctx, await services.auth.getOrg(opts.operator));
        const { input, done } = fileWithProgress(io, 'ported', file);
        const report = await services.voice.importPorted(ctx, { input }).finally(done);
        printReport(io, report, 'ported numbers');
      }),
    );
}
