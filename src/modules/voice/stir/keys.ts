import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, hkdfSync, randomBytes, type KeyObject, type X509Certificate } from 'node:crypto';

const INFO = 'qalqan stir credentials';

export interface CredentialCipher {
  /** Encrypts a private key for one operator (the operator id is authenticated data: a row moved to another operator does not decrypt). */
  seal(plaintext: string, operatorId: string): string;
  open(sealed: string, operatorId: string): string;
}

/** AES-256-GCM under a key derived from the app secret with HKDF-SHA256; stored as `iv.tag.ciphertext` in base64url. */
export function credentialCipher(secret: string): CredentialCipher {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), INFO, 32));
  return {
    seal(plaintext, operatorId) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(operatorId));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
    },
    open(sealed, operatorId) {
      const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
      if (!iv || !tag || !body) throw new Error('sealed credential is malformed');
      const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(operatorId)).setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    },
  };
}

/** Reads a PKCS#8 PEM private key; null when the text is not one. */
export function parsePrivateKey(pem: string): KeyObject | null {
  if (!pem.includes('-----BEGIN PRIVATE KEY-----')) return null;
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return null;
  }
}

export function keyMatches(privateKey: KeyObject, cert: X509Certificate): boolean {
  const der = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
  return der(createPublicKey(privateKey)).equals(der(cert.publicKey));
}
