import type { Command } from 'commander';
import { commandGroup, fileWithProgress, printReport } from '../../cli/file-input.js';
import type { CliIO } from '../../cli/io.js';
import { actingFor, systemContext, type RequestContext } from '../../core/auth/principal.js';
import type { OrgKind } from '../../core/db/types.js';
import type { ReferenceService } from './reference/service.js';

/** What voice's commands use of the services a command is run with. */
export interface VoiceCommandServices {
  voice: { reference: Pick<ReferenceService, 'importPorted'> };
  auth: { getOrg(nameOrId: string): Promise<{ id: string; kind: OrgKind }> };
}

/** Runs a command's work with the services (opened locally, or the running server's). */
export type WithVoiceServices = <T>(fn: (services: VoiceCommandServices) => Promise<T>) => Promise<T>;

/** `import ported`: number portability for the voice module. */
export function voiceCommands(program: Command, io: CliIO, withServices: WithVoiceServices): void {
  commandGroup(program, 'import', 'bulk imports')
    .command('ported')
    .description(
      'import ported numbers (CSV msisdn,operator,portedAt): any port as the regulator, or with --operator only ports of numbers that operator holds',
    )
    .argument('<file>', 'CSV file (gzip-compressed .gz files too)')
    .option('--operator <org>', 'record as this operator organisation (name or id), the donor: only numbers it holds now (its ranges, or ported to it)')
    .action((file: string, opts: { operator?: string }) =>
      withServices(async (services) => {
        let ctx: RequestContext = systemContext('cli import ported');
        if (opts.operator !== undefined) ctx = actingFor(ctx, await services.auth.getOrg(opts.operator));
        const { input, onProgress, done } = fileWithProgress(io, 'ported', file);
        const report = await services.voice.reference.importPorted(ctx, { input, onProgress }).finally(done);
        printReport(io, report, 'ported numbers');
      }),
    );
}
