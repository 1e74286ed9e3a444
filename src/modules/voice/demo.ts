import { X509Certificate } from 'node:crypto';
import { Readable } from 'node:stream';
import type { RequestContext } from '../../core/auth/principal.js';
import { DomainError } from '../../core/errors.js';
import { DEMO_ANCHOR_PEM, DEMO_INTERMEDIATE_PEM, DEMO_OPERATOR_CERT_PEM, DEMO_OPERATOR_KEY_PEM, DEMO_SPC } from './demo-credentials.js';
import type { ReferenceService } from './reference/service.js';
import type { ScreeningResult } from './screening/schema.js';
import type { ScreeningService } from './screening/service.js';
import type { StirService } from './stir/service.js';

export interface VoiceDemoContexts {
  regulator: RequestContext;
  /** The operator whose subscribers roam and who signs calls (Kcell in the demo). */
  operator: RequestContext;
  /** The operator numbers are ported to (the regulator records the ports in the national register). */
  recipientName: string;
  operatorName: string;
  /** Number ranges (national-number prefixes) each operator holds, by operator name. */
  ranges: Record<string, string[]>;
  /** Install the demo trust anchor and signing key, and screen a signed call (explicit `qalqan demo` only). */
  stirCredentials: boolean;
}

export const DEMO_ROAMER = '+77015550101';
export const DEMO_SPOOFED_CLI = '+77019990001';
const DEMO_CALLED = '+77017654321';

/** Uploads a certificate unless the store already holds it (the demo is idempotent); returns its id. */
async function ensureCertificate(stir: StirService, ctx: RequestContext, pem: string, trustAnchor: boolean): Promise<string> {
  const fingerprint = new X509Certificate(pem).fingerprint256;
  const existing = async () => (await stir.listCertificates()).find((c) => c.fingerprint === fingerprint && !c.revokedAt)?.id;
  try {
    return (await existing()) ?? (await stir.uploadCertificate(ctx, { certificate: pem, trustAnchor })).id;
  } catch (err) {
    // Another instance loading the demo at the same time uploaded it first.
    const id = err instanceof DomainError && err.kind === 'conflict' ? await existing() : undefined;
    if (id === undefined) throw err;
    return id;
  }
}

/**
 * Voice demo data: range holders, subscribers abroad, ported numbers, a do-not-originate list, trunks and, when
 * asked, STIR/SHAKEN credentials for the demo operator; then screens a signed call from a roaming subscriber (with
 * credentials) and a spoofed one. Idempotent.
 */
export async function loadVoiceDemo(
  voice: { screening: ScreeningService; reference: ReferenceService; stir: StirService; reload(): Promise<void> },
  ctx: VoiceDemoContexts,
): Promise<{ signed: ScreeningResult | null; spoofed: ScreeningResult }> {
  const { screening, reference, stir } = voice;
  for (const [operator, prefixes] of Object.entries(ctx.ranges)) {
    for (const prefix of prefixes) await reference.putRangeHolder(ctx.regulator, prefix, operator);
  }
  await voice.reload();
  await reference.putRoaming(ctx.operator, [
    { msisdn: DEMO_ROAMER, roaming: true, country: 'TR' },
    { msisdn: '+77015550102', roaming: true, country: 'AE' },
    { msisdn: '+77015550103', roaming: true, country: 'GE' },
  ]);
  await reference.importPorted(ctx.regulator, {
    input: Readable.from([`msisdn,operator,portedAt\n+77012220001,${ctx.recipientName},2026-09-01\n+77012220002,${ctx.recipientName},2026-10-15\n`]),
  });
  await reference.addDoNotOriginate(ctx.regulator, [
    { number: '102', label: 'Police' },
    { number: '112', label: 'Unified emergency line' },
    { number: '+77272596000', label: 'Bank hotline (demo)' },
    { number: '+77172000102', label: 'Government service line (demo)' },
  ]);
  await reference.putTrunk(ctx.regulator, {
    id: 'demo-intl-gw',
    name: 'International gateway (demo)',
    operator: ctx.operatorName,
    addresses: ['192.0.2.0/24'],
    ingress: 'international',
  });
  await reference.putTrunk(ctx.regulator, {
    id: 'demo-domestic',
    name: 'Domestic interconnect (demo)',
    operator: ctx.operatorName,
    addresses: ['198.51.100.0/24'],
    ingress: 'domestic',
  });

  await voice.reload();
  const operatorId = ctx.operator.principal.orgId;
  let signed: ScreeningResult | null = null;
  if (ctx.stirCredentials) {
    await ensureCertificate(stir, ctx.regulator, DEMO_ANCHOR_PEM, true);
    await stir.putSpc(ctx.regulator, DEMO_SPC, ctx.operatorName);
    const certificateId = await ensureCertificate(stir, ctx.operator, DEMO_OPERATOR_CERT_PEM + DEMO_INTERMEDIATE_PEM, false);
    await stir.setCredential(ctx.operator, { certificateId, privateKey: DEMO_OPERATOR_KEY_PEM });
    await voice.reload();
    const signedBy = await stir.sign(ctx.operator, { orig: DEMO_ROAMER, dest: DEMO_CALLED, attest: 'A' });
    signed = await screening.screen(
      { callingNumber: DEMO_ROAMER, calledNumber: DEMO_CALLED, ingress: 'international', trunkId: 'demo-intl-gw', identity: signedBy.identity },
      operatorId,
    );
  }
  const spoofed = await screening.screen(
    { callingNumber: DEMO_SPOOFED_CLI, calledNumber: DEMO_CALLED, ingress: 'international', trunkId: 'demo-intl-gw' },
    operatorId,
  );
  await screening.flush();
  return { signed, spoofed };
}
