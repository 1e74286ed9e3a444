import type { Command } from 'commander';
import { systemContext } from '../core/auth/principal.js';
import { DomainError } from '../core/errors.js';
import type { ImportReport } from '../core/imports/csv-import.js';
import type { CliIO } from './io.js';
import { commandGroup, fileWithProgress } from './file-input.js';
import type { WithServices } from './types.js';

const cli = (label: string) => systemContext(`cli ${label}`);

export function printReport(io: CliIO, report: ImportReport, what: string): void {
  for (const e of report.errors) io.err(`line ${e.line}: ${e.message}`);
  if (!report.committed) throw new DomainError('unprocessable', `nothing imported: ${report.refusal ?? 'the file was refused'}`);
  const rate = report.seconds > 0 ? Math.round(report.rows / report.seconds) : report.rows;
  io.out(`${report.accepted} of ${report.rows} ${what} imported in ${report.seconds.toFixed(1)} s (${rate} rows/s); ${report.rejected} rejected`);
}

/** `import tac`, `import registrations`, `import stolen`. */
export function addDevicesCommands(program: Command, io: CliIO, withServices: WithServices): void {
  const imports = commandGroup(program, 'import', 'bulk imports');

  imports
    .command('tac')
    .description('import the TAC database (GSMA pipe-delimited tac|manufacturer|model_name|… or CSV); full replace unless --delta')
    .argument('<file>', 'TAC file')
    .option('--delta', 'add and update rows instead of replacing the database')
    .action((file: string, opts: { delta?: boolean }) =>
      withServices(async (services) => {
        const { input, done } = fileWithProgress(io, 'TAC', file);
        const report = await services.devices.importTacs(cli('import tac'), { input, delta: opts.delta === true }).finally(done);
        printReport(io, report, 'TACs');
      }),
    );

  imports
    .command('registrations')
    .description('register devices in bulk from CSV imei,reference for an importer organisation')
    .argument('<file>', 'CSV file')
    .requiredOption('--org <org>', 'importer organisation name or id')
    .action((file: string, opts: { org: string }) =>
      withServices(async (services) => {
        const org = await services.auth.getOrg(opts.org);
        const { input, done } = fileWithProgress(io, 'registrations', file);
        const report = await services.devices.importRegistrations(cli('import registrations'), { input, orgId: org.id }).finally(done);
        printReport(io, report, 'registrations');
      }),
    );

  imports
    .command('stolen')
    .description('import a lost/stolen list (CSV imei[,reference]) from the GSMA or a partner country')
    .argument('<file>', 'CSV file')
    .requiredOption('--source <source>', 'where the list comes from, e.g. gsma or kg')
    .action((file: string, opts: { source: string }) =>
      withServices(async (services) => {
        const { input, done } = fileWithProgress(io, 'stolen', file);
        const report = await services.devices.importStolen(cli('import stolen'), { input, source: opts.source }).finally(done);
        printReport(io, report, 'stolen IMEIs');
      }),
    );
}
