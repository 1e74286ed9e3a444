/**
 * The TNAuthList certificate extension (RFC 8226 §9, OID 1.3.6.1.5.5.7.1.26), read straight from a certificate's
 * DER with a minimal reader: node:crypto's X509Certificate does not expose extensions, and these few TLVs do not
 * justify an ASN.1 library.
 *
 *   TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
 *   TNEntry ::= CHOICE { spc [0] ServiceProviderCode, range [1] TelephoneNumberRange, one [2] TelephoneNumber }
 *   ServiceProviderCode ::= IA5String        -- module with EXPLICIT TAGS
 */

export type TnAuthList =
  { present: false } | { present: true; malformed: true } | { present: true; malformed: false; spcs: string[]; telephoneNumbers: number };

interface Tlv {
  tag: number;
  /** Where the value starts and ends in the buffer. */
  start: number;
  end: number;
}

const SEQUENCE = 0x30;
const OID = 0x06;
const OCTET_STRING = 0x04;
const IA5_STRING = 0x16;
const EXTENSIONS = 0xa3;
const TN_AUTH_LIST_OID = Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1a]);
const SPC = /^[\x21-\x7e]{1,32}$/;

/** One DER TLV at `at`, inside `limit`; null when it is not well formed (long tags and indefinite lengths included). */
function tlv(der: Uint8Array, at: number, limit: number): Tlv | null {
  if (at + 2 > limit) return null;
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) return null;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) return null;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  const end = start + length;
  return end <= limit ? { tag, start, end } : null;
}

/** The TLVs directly inside a constructed value; null when they do not exactly fill it. */
function children(der: Uint8Array, parent: Tlv): Tlv[] | null {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const child = tlv(der, at, parent.end);
    if (!child) return null;
    out.push(child);
    at = child.end;
  }
  return out;
}

const ascii = (der: Uint8Array, t: Tlv) => Buffer.from(der.subarray(t.start, t.end)).toString('latin1');

/** The extnValue of the TNAuthList extension: absent, malformed (the certificate itself included), or found. */
function extensionValue(der: Uint8Array): Tlv | 'absent' | 'malformed' {
  const cert = tlv(der, 0, der.length);
  const tbs = cert?.tag === SEQUENCE ? tlv(der, cert.start, cert.end) : null;
  const fields = tbs?.tag === SEQUENCE ? children(der, tbs) : null;
  if (!fields) return 'malformed';
  const wrapper = fields.find((f) => f.tag === EXTENSIONS);
  if (!wrapper) return 'absent';
  const list = tlv(der, wrapper.start, wrapper.end);
  const extensions = list?.tag === SEQUENCE ? children(der, list) : null;
  if (!extensions) return 'malformed';
  for (const extension of extensions) {
    const parts = extension.tag === SEQUENCE ? children(der, extension) : null;
    if (!parts || parts[0]?.tag !== OID) return 'malformed';
    if (!Buffer.from(der.subarray(parts[0].start, parts[0].end)).equals(TN_AUTH_LIST_OID)) continue;
    const value = parts[parts.length - 1]!;
    return value.tag === OCTET_STRING ? value : 'malformed';
  }
  return 'absent';
}

/** Reads the TNAuthList of a DER certificate: its service provider codes, and how many telephone-number entries. */
export function readTnAuthList(der: Uint8Array): TnAuthList {
  const value = extensionValue(der);
  if (value === 'absent') return { present: false };
  if (value === 'malformed') return { present: true, malformed: true };
  const list = tlv(der, value.start, value.end);
  const entries = list?.tag === SEQUENCE && list.end === value.end ? children(der, list) : null;
  if (!entries?.length) return { present: true, malformed: true };
  const spcs: string[] = [];
  let telephoneNumbers = 0;
  for (const entry of entries) {
    if (entry.tag === 0xa1 || entry.tag === 0xa2) {
      telephoneNumbers++;
      continue;
    }
    // [0] EXPLICIT IA5String as RFC 8226 defines it; [0] IMPLICIT (0x80) as some issuers write it.
    const inner = entry.tag === 0xa0 ? tlv(der, entry.start, entry.end) : entry.tag === 0x80 ? { tag: IA5_STRING, start: entry.start, end: entry.end } : null;
    if (!inner || inner.tag !== IA5_STRING || (entry.tag === 0xa0 && inner.end !== entry.end)) return { present: true, malformed: true };
    const spc = ascii(der, inner);
    if (!SPC.test(spc)) return { present: true, malformed: true };
    spcs.push(spc);
  }
  return { present: true, malformed: false, spcs, telephoneNumbers };
}
