import { X509Certificate } from 'node:crypto';
import { readTnAuthList } from './tn-auth-list.js';

/** Parses a PEM certificate; null when the text is not one. */
export function parseCertificate(pem: string): X509Certificate | null {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) return null;
  try {
    return new X509Certificate(pem);
  } catch {
    return null;
  }
}

/** SHAKEN credentials are ECDSA P-256 (ATIS-1000074 §5.3.1). */
export function isP256(cert: X509Certificate): boolean {
  const key = cert.publicKey;
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

export function validity(cert: X509Certificate): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}

export function validAt(cert: X509Certificate, now: Date): boolean {
  const { notBefore, notAfter } = validity(cert);
  return notBefore <= now && now <= notAfter;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
/** Intermediates a chain may pass through between the end entity and the anchor (ATIS-1000080 has one). */
const MAX_INTERMEDIATES = 4;

/** The certificates of a PEM bundle, in order; null when it holds none or one does not parse. */
export function parseBundle(text: string): X509Certificate[] | null {
  const blocks = text.match(PEM_BLOCK);
  if (!blocks) return null;
  const certs = blocks.map(parseCertificate);
  return certs.every((c) => c !== null) ? (certs as X509Certificate[]) : null;
}

/** A bundle as we store and serve it: each certificate in PEM, in chain order. */
export function toPemBundle(certs: readonly X509Certificate[]): string {
  return certs.map((c) => c.toString().trim()).join('\n') + '\n';
}

const issued = (cert: X509Certificate, by: X509Certificate) => cert.checkIssued(by) && cert.verify(by.publicKey);
const name = (cert: X509Certificate) => cert.subject.replace(/\n/g, ', ');

export type Chain = { ok: true; path: X509Certificate[]; anchor: X509Certificate } | { ok: false; why: string };

/**
 * The path from an end entity up to a trust anchor: through the given intermediates (any order; unused ones are
 * ignored), each of which must be a CA that issued and signed the certificate below it.
 */
export function chainToAnchor(leaf: X509Certificate, intermediates: readonly X509Certificate[], anchors: readonly X509Certificate[]): Chain {
  const path = [leaf];
  const pool = [...intermediates];
  for (let current = leaf; path.length <= MAX_INTERMEDIATES + 1;) {
    const anchor = anchors.find((a) => issued(current, a));
    if (anchor) return { ok: true, path, anchor };
    const next = pool.findIndex((c) => issued(current, c));
    if (next === -1) {
      const where = path.length === 1 ? 'the certificate' : `the intermediate ${name(current)}`;
      return {
        ok: false,
        why: `${where} is not issued and signed by a trust anchor in the store or by a CA certificate in the bundle (issuer: ${current.issuer.replace(/\n/g, ', ')})`,
      };
    }
    current = pool.splice(next, 1)[0]!;
    if (!current.ca) return { ok: false, why: `the intermediate ${name(current)} is not a CA certificate (basicConstraints CA:TRUE)` };
    path.push(current);
  }
  return { ok: false, why: `the chain has more than ${MAX_INTERMEDIATES} intermediates` };
}

/** The window in which every certificate of a chain, anchor included, is valid. */
export function chainValidity(chain: readonly X509Certificate[]): { notBefore: Date; notAfter: Date } {
  const windows = chain.map(validity);
  return {
    notBefore: new Date(Math.max(...windows.map((w) => w.notBefore.getTime()))),
    notAfter: new Date(Math.min(...windows.map((w) => w.notAfter.getTime()))),
  };
}

/**
 * The SHAKEN end-entity profile (ATIS-1000080): not a CA, and a TNAuthList naming exactly one service provider
 * code (SPC), which says whose certificate it is. The SPC is returned upper-cased.
 */
export function endEntitySpc(leaf: X509Certificate): { ok: true; spc: string } | { ok: false; why: string } {
  if (leaf.ca) return { ok: false, why: 'the end-entity certificate is a CA certificate (basicConstraints CA:TRUE); SHAKEN signs with a CA:FALSE certificate' };
  const list = readTnAuthList(leaf.raw);
  if (!list.present) return { ok: false, why: 'the certificate has no TNAuthList extension (1.3.6.1.5.5.7.1.26)' };
  if (list.malformed) return { ok: false, why: 'the certificate’s TNAuthList extension is malformed' };
  if (list.spcs.length !== 1)
    return { ok: false, why: `the certificate’s TNAuthList must name exactly one service provider code (SPC); it names ${list.spcs.length}` };
  return { ok: true, spc: list.spcs[0]!.toUpperCase() };
}
