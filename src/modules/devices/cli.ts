import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { commandGroup, fileWithProgress, printReport } from '../../cli/file-input.js';
import type { CliIO } from '../../cli/io.js';
import { systemContext } from '../../core/auth/principal.js';
import { DomainError } from '../../core/errors.js';
import type { ClassifyResult } from './network/classification.js';
import { LIST_KINDS } from './network/lists.js';
import { DEFAULT_MAX_MALFORMED_SHARE } from './network/observations.js';
import type { NetworkService } from './network/service.js';
import type { RegistryService } from './registry/service.js';
import type { ListKind } from './tables.js';

/** What the devices commands use of the services a command is run with. */
export interface DevicesCommandServices {
  devices: {
    registry: Pick<RegistryService, 'importTacs' | 'importRegistrations'>;
    network: Pick<NetworkService, 'importStolen' | 'importObservations' | 'classify' | 'listCsv'>;
  };
}

/** Runs a command's work with the services (opened locally, or the running server's). */
export type WithDevicesServices = <T>(fn: (services: DevicesCommandServices) => Promise<T>) => Promise<T>;

const cli = (label: string) => systemContext(`cli ${label}`);

function share(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a share between 0 and 1, e.g. 0.005 for 0.5 %');
  return n;
}

function version(value: string): number {
  if (!/^[0-9]{1,15}$/.test(value)) throw new InvalidArgumentError('expected a list version (a whole number)');
  return Number(value);
}

const classified = (c: ClassifyResult) =>
  `classified ${c.examined} devices: ${c.white} white, ${c.grey} grey, ${c.black} black, ${c.changed} changed; lists +${c.lists.added} −${c.lists.removed}`;

/** `import tac`, `import registrations`, `import stolen`, `import observations`, `classify` and `lists export`. */
export function devicesCommands(program: Command, io: CliIO, withServices: WithDevicesServices): void {
  const imports = commandGroup(program, 'import', 'bulk imports');

  imports
    .command('tac')
    .description('import the TAC database (GSMA pipe-delimited tac|manufacturer|model_name|… or CSV); full replace unless --delta')
    .argument('<file>', 'TAC file (gzip-compressed .gz files too)')
    .option('--delta', 'add and update rows instead of replacing the database')
    .action((file: string, opts: { delta?: boolean }) =>
      withServices(async (services) => {
        const { input, onProgress, done } = fileWithProgress(io, 'TAC', file);
        const report = await services.devices.registry.importTacs(cli('import tac'), { input, onProgress, delta: opts.delta === true }).finally(done);
        printReport(io, report, 'TACs');
      }),
    );

  imports
    .command('registrations')
    .description('register devices in bulk from CSV imei,reference for an importer organisation')
    .argument('<file>', 'CSV file (gzip-compressed .gz files too)')
    .requiredOption('--org <org>', 'importer organisation name or id')
    .action((file: string, opts: { org: string }) =>
      withServices(async (services) => {
        const { input, onProgress, done } = fileWithProgress(io, 'registrations', file);
        const report = await services.devices.registry.importRegistrations(cli('import registrations'), { input, onProgress, org: opts.org }).finally(done);
        printReport(io, report, 'registrations');
      }),
    );

  imports
    .command('stolen')
    .description('import a lost/stolen list (CSV imei[,reference]) from the GSMA or a partner country')
    .argument('<file>', 'CSV file (gzip-compressed .gz files too)')
    .requiredOption('--source <source>', 'where the list comes from, e.g. gsma or kg')
    .action((file: string, opts: { source: string }) =>
      withServices(async (services) => {
        const { input, onProgress, done } = fileWithProgress(io, 'stolen', file);
        const report = await services.devices.network.importStolen(cli('import stolen'), { input, onProgress, source: opts.source }).finally(done);
        printReport(io, report, 'stolen IMEIs');
      }),
    );

  imports
    .command('observations')
    .description('import an operator’s network observations (CSV date,imei,imsi,msisdn,rat), then re-classify the devices seen')
    .argument('<file>', 'CSV file (gzip-compressed .gz files too)')
    .requiredOption('--operator <operator>', 'operator organisation name or id')
    .option('--max-malformed <share>', 'refuse the whole file when more than this share of rows is malformed', share, DEFAULT_MAX_MALFORMED_SHARE)
    .action((file: string, opts: { operator: string; maxMalformed: number }) =>
      withServices(async (services) => {
        const { input, onProgress, done } = fileWithProgress(io, 'observations', file);
        const report = await services.devices.network
          .importObservations(cli('import observations'), { operator: opts.operator, input, onProgress, maxMalformedShare: opts.maxMalformed })
          .finally(done);
        for (const e of report.errors) io.err(`line ${e.line}: ${e.message}`);
        if (!report.committed) throw new DomainError('unprocessable', `nothing imported: ${report.refusal ?? 'the file was refused'}`);
        io.out(
          `${report.accepted} of ${report.rows} rows imported in ${report.seconds.toFixed(1)} s (${report.rejected} rejected); ${report.newPairs} new IMEI–IMSI pairs, ${report.traceAlerts} trace alerts`,
        );
        const c = report.classification;
        if (c) io.out(classified(c));
      }),
    );

  program
    .command('classify')
    .description('re-classify every device now and regenerate the operators’ lists')
    .action(() =>
      withServices(async (services) => {
        const c = await services.devices.network.classify(cli('classify'));
        io.out(classified(c));
      }),
    );

  commandGroup(program, 'lists', 'operators’ black, notification and exception lists')
    .command('export')
    .description('write an operator’s list as CSV: full, or the delta since a version')
    .requiredOption('--operator <operator>', 'operator organisation name or id')
    .addOption(new Option('--kind <kind>', 'which list').choices(LIST_KINDS).makeOptionMandatory())
    .option('--since <version>', 'only the changes after this version', version)
    .option('--out <file>', 'write to this file instead of standard output')
    .action((opts: { operator: string; kind: ListKind; since?: number; out?: string }) =>
      withServices(async (services) => {
        const list = await services.devices.network.listCsv(cli('lists export'), { operator: opts.operator, kind: opts.kind, since: opts.since });
        if (opts.out) {
          await pipeline(Readable.from(list.lines), createWriteStream(opts.out));
          io.out(`${opts.kind} list version ${list.version} written to ${opts.out}`);
        } else {
          for await (const line of list.lines) io.out(line.slice(0, -1));
          io.err(`${opts.kind} list version ${list.version}`);
        }
      }),
    );
}
