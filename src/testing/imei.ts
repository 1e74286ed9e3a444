import { toImei15 } from '../identifiers/imei.js';

/** A valid 15-digit IMEI with the given TAC and serial number. */
export function imeiOf(tac: string, serial: number): string {
  return toImei15(tac + String(serial).padStart(6, '0'));
}
