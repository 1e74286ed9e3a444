// SUPI (Subscription Permanent Identifier) as 3GPP TS 29.571 §5.3.2 writes it in SBI messages: `imsi-<5 to 15
// digits>` or `nai-<network access identifier>` (and `gci-…` / `gli-…` for wireline access, not handled here).

export type SupiResult =
  | { ok: true; kind: 'imsi'; imsi: string }
  | { ok: true; kind: 'nai'; nai: string }
  /** `unsupported`: a wireline SUPI (`gci-`, `gli-`); `bad_format`: not a SUPI this parser knows. */
  | { ok: false; reason: 'unsupported' | 'bad_format' };

/** Parses a SUPI; no whitespace is allowed (an SBI query parameter carries it as is). */
export function parseSupi(supi: string): SupiResult {
  const imsi = /^imsi-([0-9]{5,15})$/.exec(supi);
  if (imsi) return { ok: true, kind: 'imsi', imsi: imsi[1]! };
  const nai = /^nai-(.+)$/s.exec(supi);
  if (nai) return { ok: true, kind: 'nai', nai: nai[1]! };
  return { ok: false, reason: /^(?:gci|gli)-./s.test(supi) ? 'unsupported' : 'bad_format' };
}

/** The IMSI of an `imsi-` SUPI, or null (absent, another kind of SUPI, or malformed). */
export function imsiOfSupi(supi: string | undefined): string | null {
  if (supi === undefined) return null;
  const parsed = parseSupi(supi);
  return parsed.ok && parsed.kind === 'imsi' ? parsed.imsi : null;
}
