import { Readable } from 'node:stream';
import type { RequestContext } from '../../core/auth/principal.js';
import { toImei15 } from '../../identifiers/imei.js';
import { kzDay } from './network/days.js';
import type { NetworkService } from './network/service.js';
import type { RegistryService } from './registry/service.js';

/** A TAC sample for the demo (GSMA layout). */
const DEMO_TACS = `tac|manufacturer|model_name|bands|allocation_date|device_type
35332811|Apple|iPhone 14|GSM 850/900/1800/1900, LTE, NR|2022-09-01|Smartphone
35290611|Samsung|Galaxy S23|GSM 850/900/1800/1900, LTE, NR|2023-02-01|Smartphone
86753003|Xiaomi|Redmi Note 12|GSM 900/1800, LTE|2023-03-15|Smartphone
35875309|Nokia|105|GSM 900/1800|2019-05-01|Feature phone
`;

export const demoImei = (tac: string, serial: number) => toImei15(tac + String(serial).padStart(6, '0'));

/** The demo's stolen phone (blocked by the police demo organisation). */
export const DEMO_STOLEN_IMEI = demoImei('35332811', 900001);
/** Registered by the demo importer. */
export const DEMO_REGISTERED = [1, 2, 3, 4, 5].map((n) => demoImei('35332811', n)).concat([1, 2, 3].map((n) => demoImei('35290611', n)));

/** Seen on Kcell 10 days ago, never registered: grey, with a deadline. */
export const DEMO_GREY_IMEI = demoImei('86753003', 500001);
/** A cloned IMEI: seen with five SIMs in a month, black at once (grey devices turn black when the 30 days pass). */
export const DEMO_BLACK_IMEI = demoImei('35875309', 500002);

/**
 * Kazakhstan's mobile networks (MCC 401, DOMAIN-FACTS §2) held by the demo operators: an operator pairs only IMSIs
 * of its own networks. Altel (401-07) was taken over by Tele2; 401-08 (Kazakhtelecom's closed CDMA) has no demo operator.
 */
export const DEMO_NETWORKS: Readonly<Record<string, string>> = {
  '40101': 'Beeline Kazakhstan',
  '40102': 'Kcell',
  '40107': 'Tele2 Kazakhstan',
  '40177': 'Tele2 Kazakhstan',
};

/** Kcell's network data: a registered phone, a grey and a cloned (black) case, and the stolen phone with a new SIM. */
function demoObservations(today: Date): string {
  const day = (daysAgo: number) => kzDay(new Date(today.getTime() - daysAgo * 86_400_000));
  const network = (imei: string) => imei.slice(0, 14) + '0';
  return (
    [
      'date,imei,imsi,msisdn,rat',
      `${day(1)},${network(DEMO_REGISTERED[0]!)},401021000000001,+77011000001,LTE`,
      `${day(10)},${network(DEMO_GREY_IMEI)},401021000000002,+77011000002,LTE`,
      `${day(1)},${network(DEMO_GREY_IMEI)},401021000000002,+77011000002,LTE`,
      ...[3, 5, 6, 7, 8].map((n) => `${day(n)},${network(DEMO_BLACK_IMEI)},40102100000000${n},+7701100000${n},GSM`),
      `${day(0)},${network(DEMO_STOLEN_IMEI)},401021000000004,+77011000004,NR`,
    ].join('\n') + '\n'
  );
}

/**
 * Idempotent: TACs as a delta, the networks' holders assigned again, registrations and the block skip what exists, observations keep first/last seen.
 * The stolen phone appears on Kcell with a new SIM, so the police get a trace alert.
 */
export async function loadDevicesDemo(
  services: { devices: { registry: RegistryService; network: NetworkService }; clock: () => Date },
  ctx: { importer: RequestContext; police: RequestContext; system: RequestContext },
): Promise<void> {
  await services.devices.registry.importTacs(ctx.importer, { input: Readable.from([DEMO_TACS]), delta: true });
  for (const [plmn, operator] of Object.entries(DEMO_NETWORKS)) await services.devices.network.networks.put(ctx.importer, plmn, operator);
  await services.devices.registry.register(ctx.importer, { imeis: DEMO_REGISTERED, source: 'importer', reference: 'DT-DEMO-0001' });
  await services.devices.network.block(ctx.police, { imei: DEMO_STOLEN_IMEI, caseNumber: 'KUI-2026-000123' });
  await services.devices.network.importObservations(ctx.system, { operator: 'Kcell', input: Readable.from([demoObservations(services.clock())]) });
}
