import { Readable } from 'node:stream';
import type { RequestContext } from '../../core/auth/principal.js';
import { toImei15 } from '../../identifiers/imei.js';
import type { DevicesService } from './service.js';

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

/** Idempotent: TACs as a delta, registrations and the block skip what exists. */
export async function loadDevicesDemo(devices: DevicesService, ctx: { importer: RequestContext; police: RequestContext }): Promise<void> {
  await devices.importTacs(ctx.importer, { input: Readable.from([DEMO_TACS]), delta: true });
  await devices.register(ctx.importer, { imeis: DEMO_REGISTERED, source: 'importer', reference: 'DT-DEMO-0001' });
  await devices.block(ctx.police, { imei: DEMO_STOLEN_IMEI, caseNumber: 'KUI-2026-000123' });
}
