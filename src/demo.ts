import type { CliIO } from './cli/io.js';
import { actingFor, systemContext, type RequestContext } from './core/auth/principal.js';
import type { OrgKind } from './core/db/types.js';
import { DomainError } from './core/errors.js';
import { loadDevicesDemo } from './modules/devices/index.js';
import { loadVoiceDemo } from './modules/voice/index.js';
import type { Services } from './server.js';

export const DEMO_ADMIN_EMAIL = 'admin@qalqan.local';

const DEMO_ORGS: { name: string; kind: OrgKind }[] = [
  { name: 'Qalqan Regulator', kind: 'regulator' },
  { name: 'Kcell', kind: 'operator' },
  { name: 'Beeline Kazakhstan', kind: 'operator' },
  { name: 'Tele2 Kazakhstan', kind: 'operator' },
  { name: 'Kaspi Bank', kind: 'bank' },
  { name: 'Halyk Bank', kind: 'bank' },
  { name: 'OLX Kazakhstan', kind: 'marketplace' },
  { name: 'Kazakhtelecom ISP', kind: 'isp' },
  { name: 'Police Cyber Unit', kind: 'police' },
];

/**
 * `stirCredentials` also installs the demo STIR/SHAKEN trust anchor and signing key (their private keys are in the
 * source, so anyone could sign with them): only `qalqan demo` asks for them, never a server's first start.
 *
 * Idempotent demo data: organisations of every kind, the console admin, and each module's demo records. Returns the admin's one-time password
 * when this run created the admin (it is never shown again), otherwise null.
 */
export async function loadDemo(services: Services, io: CliIO, options: { stirCredentials?: boolean } = {}): Promise<string | null> {
  const ctx = systemContext('demo');
  const steps = DEMO_ORGS.length + 1;
  const bar = io.progress('demo', steps);
  for (const [i, org] of DEMO_ORGS.entries()) {
    await services.auth.ensureOrg(ctx, org);
    bar.update(i + 1);
  }
  let password: string | null = null;
  if ((await services.auth.countUsers()) === 0) {
    try {
      password = (await services.auth.createUser(ctx, { email: DEMO_ADMIN_EMAIL, role: 'admin', org: 'Qalqan Regulator' })).oneTimePassword;
    } catch (err) {
      // Several instances starting at once on one database: another one created the admin.
      if (!(err instanceof DomainError && err.kind === 'conflict')) throw err;
    }
  }
  const orgCtx = async (name: string): Promise<RequestContext> => actingFor(ctx, await services.auth.getOrg(name));
  await loadDevicesDemo(services, { importer: await orgCtx('Qalqan Regulator'), police: await orgCtx('Police Cyber Unit'), system: ctx });
  const calls = await loadVoiceDemo(services.voice, {
    regulator: await orgCtx('Qalqan Regulator'),
    operator: await orgCtx('Kcell'),
    operatorName: 'Kcell',
    recipientName: 'Beeline Kazakhstan',
    ranges: {
      Kcell: ['701', '702', '775', '778'],
      'Beeline Kazakhstan': ['705', '706', '771', '776', '777'],
      'Tele2 Kazakhstan': ['700', '707', '708', '747'],
    },
    stirCredentials: options.stirCredentials === true,
  });
  const describe = (r: { verdict: string; reasons: string[]; attestation?: string }) =>
    `${r.verdict}${r.reasons.length ? ` (${r.reasons.join(', ')})` : ''}${r.attestation ? `, attestation ${r.attestation}` : ''}`;
  if (calls.signed) io.out(`Voice demo: a signed call from a Kcell subscriber abroad → ${describe(calls.signed)}`);
  io.out(`Voice demo: a spoofed Kazakh CLI from abroad → ${describe(calls.spoofed)}`);
  bar.update(steps);
  bar.stop();
  return password;
}
