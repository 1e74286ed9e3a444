// PEI (Permanent Equipment Identifier) as 3GPP TS 29.571 §5.3.2 writes it in SBI messages: `imei-<15 digits>`,
// `imeisv-<16 digits>`, `mac-<6 octets>[-untrusted]` or `eui-<8 octets>`.
import { parseImei } from './imei.js';

export type PeiResult =
  | {
      ok: true;
      kind: 'imei' | 'imeisv';
      /** TAC + SNR: the 14 digits that identify the device (the 15th of an IMEI, a spare 0 from networks, never decides). */
      imei14: string;
      /** The digits after the prefix: 15 for an IMEI, 16 for an IMEISV. */
      digits: string;
    }
  /** `unsupported`: a well-formed MAC or EUI-64 PEI, which names no IMEI; `bad_format`: not a PEI this parser knows. */
  | { ok: false; reason: 'unsupported' | 'bad_format' };

const IMEI_PEI = /^(?:imei-([0-9]{15})|imeisv-([0-9]{16}))$/;
const OTHER_PEI = /^(?:mac(?:-[0-9a-fA-F]{2}){6}(?:-untrusted)?|eui(?:-[0-9a-fA-F]{2}){8})$/;

/** Parses a PEI; no whitespace is allowed (an SBI query parameter carries it as is). */
export function parsePei(pei: string): PeiResult {
  const m = IMEI_PEI.exec(pei);
  if (!m) return { ok: false, reason: OTHER_PEI.test(pei) ? 'unsupported' : 'bad_format' };
  const digits = (m[1] ?? m[2])!;
  // Network mode: the 15th digit a device sends is not checked (it may be a spare 0).
  const parsed = parseImei(digits, { network: true });
  if (!parsed.ok) return { ok: false, reason: 'bad_format' };
  return { ok: true, kind: m[1] !== undefined ? 'imei' : 'imeisv', imei14: parsed.imei14, digits };
}
