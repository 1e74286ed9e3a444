import { Command, Option } from 'commander';
import { ORG_KINDS } from '../core/auth/scopes.js';
import { systemContext } from '../core/auth/principal.js';
import type { OrgKind } from '../core/db/types.js';
import { DEMO_ADMIN_EMAIL, loadDemo } from '../demo.js';
import { devicesCommands } from '../modules/devices/index.js';
import { voiceCommands } from '../modules/voice/index.js';
import type { CliIO } from './io.js';
import type { WithServices } from './types.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** Every command but `serve`; shared by the CLI process and the server's admin channel. */
export function buildProgram(io: CliIO, withServices: WithServices): Command {
  const cli = (label: string) => systemContext(`cli ${label}`);
  const program = new Command('qalqan')
    .description('Qalqan national anti-fraud platform')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(() =>
      withServices(async (_services, applied = []) => {
        for (const name of applied) io.out(`applied ${name}`);
        io.out(
          applied.length
            ? `${applied.length} migration${applied.length === 1 ? '' : 's'} applied; the database schema is current`
            : 'database schema is current',
        );
      }),
    );

  program
    .command('demo')
    .description('load demo data (idempotent): organisations of every kind and the console admin')
    .action(() =>
      withServices(async (services) => {
        const password = await loadDemo(services, io, { stirCredentials: true });
        io.out(password ? `console admin ${DEMO_ADMIN_EMAIL}, one-time password: ${password}` : 'demo data is loaded');
      }),
    );

  const org = program.command('org').description('organisations');
  org
    .command('create')
    .description('create an organisation')
    .requiredOption('--name <name>', 'organisation name')
    .addOption(new Option('--kind <kind>', 'organisation kind').choices(ORG_KINDS).makeOptionMandatory())
    .action((opts: { name: string; kind: OrgKind }) =>
      withServices(async (services) => {
        const created = await services.auth.createOrg(cli('org create'), opts);
        io.out(`organisation ${created.name} (${created.kind}) created: ${created.id}`);
      }),
    );
  org
    .command('list')
    .description('list organisations')
    .action(() =>
      withServices(async (services) => {
        for (const o of await services.auth.listOrgs(cli('org list'))) io.out(`${o.id}  ${o.kind.padEnd(11)}  ${o.name}`);
      }),
    );

  const apikey = program.command('apikey').description('API keys of organisations');
  apikey
    .command('create')
    .description('create an API key; the key is printed once, as the last line')
    .requiredOption('--org <org>', 'organisation name or id')
    .requiredOption('--scope <scope>', 'scope to grant (repeat for several; * = all)', collect, [])
    .option('--name <name>', 'a name to recognise the key by')
    .action((opts: { org: string; scope: string[]; name?: string }) =>
      withServices(async (services) => {
        const key = await services.auth.createApiKey(cli('apikey create'), { org: opts.org, scopes: opts.scope, name: opts.name });
        io.out(`API key ${key.id} for ${opts.org}, scopes ${key.scopes.join(' ')}`);
        io.out(key.key);
      }),
    );
  apikey
    .command('revoke')
    .description('revoke an API key at once')
    .argument('<id>', 'key id')
    .action((id: string) =>
      withServices(async (services) => {
        await services.auth.revokeApiKey(cli('apikey revoke'), id);
        io.out(`API key ${id} revoked`);
      }),
    );

  program
    .command('user')
    .description('console users')
    .command('create')
    .description('create a console user; prints a one-time password')
    .requiredOption('--email <email>', 'e-mail address (the sign-in name)')
    .requiredOption('--role <role>', 'admin, analyst, auditor or viewer')
    .option('--org <org>', 'organisation name or id')
    .action((opts: { email: string; role: string; org?: string }) =>
      withServices(async (services) => {
        const user = await services.auth.createUser(cli('user create'), opts);
        io.out(`user ${user.email} (${user.role}) created; one-time password:`);
        io.out(user.oneTimePassword);
      }),
    );
  program
    .command('housekeeping')
    .description('prune now: outbox events published longer ago than HOUSEKEEPING_RETENTION_DAYS, handled-event records as old, expired sessions')
    .action(() =>
      withServices(async (services) => {
        const counts = await services.housekeeping.runOnce();
        if (!counts) throw new Error('a housekeeping pass is running now (here or on another instance); try again when it is done');
        io.out(
          `pruned ${counts.outbox} published outbox events, ${counts.handledEvents} handled-event records, ${counts.sessions} expired sessions, ${counts.stagingTables} stale staging tables`,
        );
      }),
    );
  devicesCommands(program, io, withServices);
  voiceCommands(program, io, withServices);
  return program;
}
