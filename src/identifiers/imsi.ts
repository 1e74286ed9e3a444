// IMSI (ITU-T E.212): MCC (3) + MNC (2 or 3) + MSIN; 14–15 digits accepted here.

export interface KzMnc {
  brand: string;
  operator: string;
  note?: string;
}

/** Mobile network codes under MCC 401 (Kazakhstan), DOMAIN-FACTS §2. */
export const KZ_MNC: Readonly<Record<string, KzMnc>> = {
  '01': { brand: 'Beeline', operator: 'KaR-Tel LLP' },
  '02': { brand: 'Kcell', operator: 'Kcell JSC', note: 'brand "activ" uses the same code' },
  '07': { brand: 'Altel', operator: 'Altel', note: 'CDMA 800 closed 1 Jul 2015; taken over by Tele2' },
  '08': { brand: 'Kazakhtelecom', operator: 'Kazakhtelecom', note: 'CDMA 450/800' },
  '77': { brand: 'Tele2', operator: 'Mobile Telecom-Service', note: 'GNOME database also lists "Altel 4G" here' },
};

export const KZ_MCC = '401';

/**
 * MCCs whose networks all use 3-digit MNCs (North America: 302 Canada, 310–316 USA, 334 Mexico;
 * E.212 national assignments as listed in Wikipedia "Mobile country code"). Deliberately small:
 * countries that mix 2- and 3-digit MNCs (e.g. India 405) are parsed with 2 digits, because the
 * IMSI itself does not encode the MNC length.
 */
export const THREE_DIGIT_MNC_MCCS: ReadonlySet<string> = new Set(['302', '310', '311', '312', '313', '314', '315', '316', '334']);

export type ImsiResult =
  | {
      ok: true;
      imsi: string;
      mcc: string;
      mnc: string;
      msin: string;
      isKazakh: boolean;
      /** Brand from KZ_MNC for known Kazakh networks. */
      operatorHint?: string;
    }
  | { ok: false; reason: 'not_digits' | 'bad_length' };

/** Parse an IMSI. Surrounding whitespace is ignored. */
export function parseImsi(input: string): ImsiResult {
  const imsi = input.trim();
  if (!/^[0-9]*$/.test(imsi)) return { ok: false, reason: 'not_digits' };
  if (imsi.length < 14 || imsi.length > 15) return { ok: false, reason: 'bad_length' };
  const mcc = imsi.slice(0, 3);
  const mncLength = THREE_DIGIT_MNC_MCCS.has(mcc) ? 3 : 2;
  const mnc = imsi.slice(3, 3 + mncLength);
  const isKazakh = mcc === KZ_MCC;
  const known = isKazakh ? KZ_MNC[mnc] : undefined;
  return {
    ok: true,
    imsi,
    mcc,
    mnc,
    msin: imsi.slice(3 + mncLength),
    isKazakh,
    ...(known ? { operatorHint: known.brand } : {}),
  };
}
