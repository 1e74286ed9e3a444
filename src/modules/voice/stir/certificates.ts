import { X509Certificate } from 'node:crypto';

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

/** The first anchor that issued and signed this certificate, if any. */
export function issuerAmong<T extends { cert: X509Certificate }>(cert: X509Certificate, anchors: readonly T[]): T | undefined {
  return anchors.find((anchor) => cert.checkIssued(anchor.cert) && cert.verify(anchor.cert.publicKey));
}
